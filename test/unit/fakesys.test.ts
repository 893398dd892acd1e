// The fake system itself: it must behave like the kernel where the planner's
// tests depend on it (each case here was checked by hand on iptables 1.8.9
// nf_tables and this machine's kernel), and it must refuse what it does not
// model, so that the planner's tests can fail.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSystem, fakeFor } from '../helpers/fakesys.js';
import { parseRoutes, parseLinks, observeNs } from '../../src/linux/observe.js';
import { parseSave } from '../../src/linux/iptables.js';
import { CommandError } from '../../src/linux/runner.js';

const NS = 'l3ctl-t-fake-a';
const HOST = 'l3ctl-t-fake-h';

/** A router-like namespace with one veth whose other end is in HOST. */
async function plumbed(f: FakeSystem) {
  await f.sh(['ip', 'netns', 'add', NS]);
  await f.sh(['ip', 'netns', 'add', HOST]);
  await f.sh(['ip', '-n', HOST, '-batch', '-'], 'link add br0 type bridge forward_delay 0\nlink set br0 up\nlink add tap0 type veth peer name qr-0 netns l3ctl-t-fake-a\nlink set tap0 master br0\nlink set tap0 up\n');
  await f.sh(['ip', '-n', NS, '-batch', '-'], 'link set lo up\nlink set qr-0 up\naddr add 198.51.100.1/24 brd 198.51.100.255 scope global dev qr-0\n');
}

const batch = (f: FakeSystem, ns: string, input: string) => f.run(['ip', '-n', ns, '-batch', '-'], { input });
const restoreIn = (f: FakeSystem, ns: string, input: string) => f.run(['ip', 'netns', 'exec', ns, 'iptables-restore', '-w', '--noflush', '--counters'], { input });

describe('fake system: strictness', () => {
  it('a command nobody modelled fails verify(), even when the caller swallowed the error', async () => {
    const f = new FakeSystem();
    await assert.rejects(f.run(['ip', 'link', 'show']), CommandError);
    await f.run(['tc', 'qdisc', 'show'], { okCodes: [1] });
    assert.throws(() => f.verify(), /no fake for: ip link show[\s\S]*no fake for: tc qdisc show/);
  });

  it('a batch line l3ctl does not write is not modelled (the operator grammar is only for sh())', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    await assert.rejects(batch(f, NS, 'link set qr-0 down\n'));
    assert.throws(() => f.verify(), /batch line 1: link set qr-0 down/);
  });

  it('a read not marked as one (or the reverse) is an error: --dry-run would get it wrong', async () => {
    const f = new FakeSystem();
    await f.run(['ip', '-j', 'addr', 'show']);
    await f.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { read: true });
    assert.throws(() => f.verify(), /a read not marked as one.*ip -j addr show[\s\S]*a change marked as a read.*sysctl -q -w/);
  });

  it('a duplicate add fails as the kernel does: lines before it took effect, `Command failed -:N`, exit 1', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    await assert.rejects(batch(f, NS, 'addr add 198.51.100.2/24 brd 198.51.100.255 scope global dev qr-0\naddr add 198.51.100.1/24 brd 198.51.100.255 scope global dev qr-0\n'), (e: CommandError) => {
      assert.equal(e.result.exitCode, 1);
      assert.equal(e.result.stderr, 'Error: ipv4: Address already assigned.\nCommand failed -:2\n');
      assert.match(e.hint!, /^input line 2 \(namespace l3ctl-t-fake-a\):/);
      return true;
    });
    assert.deepEqual(f.link(NS, 'qr-0')!.addrs.map((a) => `${a.local}/${a.prefixlen}${a.secondary ? ' secondary' : ''}`), ['198.51.100.1/24', '198.51.100.2/24 secondary']);
    assert.throws(() => f.verify(), /kernel refused: ip -n l3ctl-t-fake-a -batch -: Error: ipv4: Address already assigned/);
    f.expectRefusal(/Address already assigned/);
    f.verify();
  });

  it('deleting what is not there, a second namespace of a name, a nexthop off-link: refused', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    const cases: [string[], string | undefined, RegExp][] = [
      [['ip', '-n', NS, '-batch', '-'], 'addr del 198.51.100.9/24 dev qr-0\n', /Address not found/],
      [['ip', '-n', NS, '-batch', '-'], 'link del qr-9\n', /Cannot find device "qr-9"/],
      [['ip', '-n', NS, '-batch', '-'], 'route del 192.0.2.0/24 via 198.51.100.254\n', /No such process/],
      [['ip', '-n', NS, '-batch', '-'], 'route replace 192.0.2.0/24 via 203.0.113.1\n', /Nexthop has invalid gateway/],
      [['ip', '-n', HOST, '-batch', '-'], 'link add tap0 type veth peer name qr-1 netns l3ctl-t-fake-a\n', /File exists/],
      [['ip', '-n', HOST, '-batch', '-'], 'link set tap0 master br9\n', /Device does not exist/],
      [['ip', 'netns', 'add', NS], undefined, /File exists/],
      [['ip', 'netns', 'del', 'l3ctl-t-fake-none'], undefined, /No such file/],
      [['ip', '-n', 'l3ctl-t-fake-none', '-j', 'addr', 'show'], undefined, /Cannot open network namespace/],
    ];
    for (const [argv, input, re] of cases) {
      await assert.rejects(f.run(argv, { input, read: argv.includes('-j') }), re);
      f.expectRefusal(re);
    }
    f.verify();
  });

  it('failOn: an ip batch runs the lines before the failing one; an injected failure is not a refusal', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    f.failOn(/^route replace/);
    await assert.rejects(batch(f, NS, 'addr add 198.51.100.3/24 brd 198.51.100.255 scope global dev qr-0\nroute replace 192.0.2.0/24 via 198.51.100.254\n'), /Command failed -:2/);
    assert.ok(f.link(NS, 'qr-0')!.addrs.some((a) => a.local === '198.51.100.3'));
    assert.deepEqual(f.routes(NS), ['198.51.100.0/24 dev qr-0 proto kernel scope link src 198.51.100.1']);
    await batch(f, NS, 'route replace 192.0.2.0/24 via 198.51.100.254\n');
    f.verify();
  });

  it('clone(): an independent copy of the kernel, without the calls or problems', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    const c = f.clone();
    await c.sh(['ip', '-n', NS, 'link', 'del', 'qr-0']);
    assert.ok(f.link(NS, 'qr-0') && f.link(HOST, 'tap0'));
    assert.equal(c.link(HOST, 'tap0'), undefined);
    assert.notEqual(c.toString(), f.toString());
    assert.deepEqual(c.calls, []);
  });

  it('clone(): the daemons too (processes, files, namespace identities), independent of the original', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    await f.run(['ip', 'netns', 'exec', NS, 'haproxy', '-f', '/d/haproxy.conf', '-p', '/d/haproxy.pid', '-D']);
    const pid = Number(f.files.files.get('/d/haproxy.pid'));
    const c = f.clone();
    assert.deepEqual(c.files.processesIn(NS), [{ pid, argv: ['haproxy', '-f', '/d/haproxy.conf', '-p', '/d/haproxy.pid', '-D'] }]);
    assert.deepEqual(await c.files.identity(`/proc/${pid}/ns/net`), await c.files.identity(`/run/netns/${NS}`));
    await c.run(['kill', '-TERM', String(pid)]);
    assert.deepEqual(c.files.processesIn(NS), []);
    assert.equal(f.files.processesIn(NS).length, 1);
    assert.equal(c.toString(), c.clone().toString());
    f.verify();
    c.verify();
  });

  it('daemons: shown by namespace in toString (no pids); one left in a namespace l3ctl deletes fails verify()', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    const start = ['haproxy', '-f', '/d/haproxy.conf', '-p', '/d/haproxy.pid', '-D'];
    await f.run(['ip', 'netns', 'exec', NS, ...start]);
    assert.match(f.nsText(NS), /\n {2}process haproxy -f \/d\/haproxy\.conf -p \/d\/haproxy\.pid -D\n$/);
    assert.match(f.toString(), /\nfiles\n {2}file \/d\/haproxy\.pid\n$/);
    // The kernel lets the namespace go: the process lives on where no name leads.
    await f.run(['ip', 'netns', 'del', NS]);
    assert.match(f.toString(), /\nnetns \(deleted\)\n {2}process haproxy -f \/d\/haproxy\.conf/);
    assert.throws(() => f.verify(), /left running: ip netns del l3ctl-t-fake-a with pid \d+ still running in it: haproxy -f/);
    // The same name again is another namespace: the old process is not in it.
    await f.run(['ip', 'netns', 'add', NS]);
    assert.deepEqual(f.files.processesIn(NS), []);
    assert.notDeepEqual(await f.files.identity(`/proc/${Number(f.files.files.get('/d/haproxy.pid'))}/ns/net`), await f.files.identity(`/run/netns/${NS}`));
  });

  it('an operator deleting the namespace (sh) is damage for the next pass, not an error of the test', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    await f.run(['ip', 'netns', 'exec', NS, 'haproxy', '-f', '/d/haproxy.conf', '-p', '/d/haproxy.pid', '-D']);
    await f.sh(['ip', 'netns', 'del', NS]);
    assert.equal(f.files.processesInDeletedNamespaces().length, 1);
    f.verify();
  });

  it('fakeFor fails the test at its end', async (t) => {
    const f = fakeFor(t);
    await f.run(['ip', '-j', 'addr', 'show'], { read: true });
    assert.equal(f.unmodelled.length, 0);
  });
});

describe('fake system: links, addresses and routes as the kernel keeps them', () => {
  it('ip -j route prints a /32 bare and 0/0 as default; observe reads them back as CIDRs', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    await f.sh(['ip', '-n', NS, '-batch', '-'], 'route replace 192.0.2.5/32 via 198.51.100.254\nroute replace default via 198.51.100.254 dev qr-0\n');
    const raw = JSON.parse((await f.run(['ip', '-n', NS, '-j', 'route', 'show', 'table', 'main'], { read: true })).stdout);
    assert.deepEqual(raw.map((r: { dst: string }) => r.dst), ['default', '192.0.2.5', '198.51.100.0/24']);
    assert.deepEqual(raw[2], { dst: '198.51.100.0/24', dev: 'qr-0', protocol: 'kernel', scope: 'link', prefsrc: '198.51.100.1', flags: [] });
    assert.deepEqual(parseRoutes(JSON.stringify(raw)).map((r) => r.dst), ['0.0.0.0/0', '192.0.2.5/32', '198.51.100.0/24']);
  });

  it('a link down flushes every route through it; up brings back only the connected ones', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    await f.sh(['ip', '-n', NS, 'route', 'replace', '192.0.2.0/24', 'via', '198.51.100.254']);
    await f.sh(['ip', '-n', NS, 'link', 'set', 'qr-0', 'down']);
    assert.deepEqual(f.routes(NS), []);
    await f.sh(['ip', '-n', NS, 'link', 'set', 'qr-0', 'up']);
    assert.deepEqual(f.routes(NS), ['198.51.100.0/24 dev qr-0 proto kernel scope link src 198.51.100.1']);
  });

  it('the primary address gone: its secondary is promoted only with promote_secondaries; the last address gone flushes the routes', async () => {
    for (const promote of ['0', '1']) {
      const f = new FakeSystem();
      await plumbed(f);
      await f.sh(['ip', 'netns', 'exec', NS, 'sysctl', '-w', `net.ipv4.conf.all.promote_secondaries=${promote}`]);
      await f.sh(['ip', '-n', NS, '-batch', '-'], 'addr add 198.51.100.2/24 brd 198.51.100.255 scope global dev qr-0\naddr add 203.0.113.20/32 brd 203.0.113.20 scope global dev qr-0\nroute replace 192.0.2.0/24 via 198.51.100.254\naddr del 198.51.100.1/24 dev qr-0\n');
      const addrs = f.link(NS, 'qr-0')!.addrs.map((a) => `${a.local}/${a.prefixlen}`).sort();
      if (promote === '1') {
        assert.deepEqual(addrs, ['198.51.100.2/24', '203.0.113.20/32']);
        assert.deepEqual(f.routes(NS), ['192.0.2.0/24 via 198.51.100.254 dev qr-0', '198.51.100.0/24 dev qr-0 proto kernel scope link src 198.51.100.2']);
      } else {
        assert.deepEqual(addrs, ['203.0.113.20/32']);
        assert.deepEqual(f.routes(NS), ['192.0.2.0/24 via 198.51.100.254 dev qr-0']);
      }
      await f.sh(['ip', '-n', NS, 'addr', 'del', '203.0.113.20/32', 'dev', 'qr-0']);
      if (promote === '1') await f.sh(['ip', '-n', NS, 'addr', 'del', '198.51.100.2/24', 'dev', 'qr-0']);
      assert.deepEqual(f.routes(NS), []);
    }
  });

  it('a veth end goes with its namespace; a bridge gone leaves its ports without master', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    assert.equal(f.link(HOST, 'tap0')!.master, 'br0');
    await f.sh(['ip', '-n', HOST, 'link', 'del', 'br0']);
    assert.equal(f.link(HOST, 'tap0')!.master, null);
    await f.run(['ip', 'netns', 'del', NS]);
    assert.equal(f.link(HOST, 'tap0'), undefined);
    f.verify();
  });

  it('ip -j addr show looks like iproute2 (veth peer index, netnsid, IPv6 link-local) and parses', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    await f.sh(['ip', '-n', NS, 'link', 'set', 'qr-0', 'address', 'fa:16:3e:00:00:02']);
    const out = (await f.run(['ip', '-n', NS, '-j', 'addr', 'show'], { read: true })).stdout;
    const qr = JSON.parse(out)[1];
    assert.deepEqual(
      { ...qr, addr_info: qr.addr_info.map((a: { local: string }) => a.local) },
      {
        ifindex: 2, link_index: 3, ifname: 'qr-0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1500, qdisc: 'noqueue', operstate: 'UP', group: 'default', txqlen: 1000,
        link_type: 'ether', address: 'fa:16:3e:00:00:02', broadcast: 'ff:ff:ff:ff:ff:ff', link_netnsid: 0, addr_info: ['198.51.100.1', 'fe80::f816:3eff:fe00:2'],
      },
    );
    assert.deepEqual(parseLinks(out).get('qr-0')!.addrs, [{ local: '198.51.100.1', prefixlen: 24, scope: 'global', family: 4, broadcast: '198.51.100.255' }]);
    // The other end down: no carrier, the route marked linkdown.
    await f.sh(['ip', '-n', HOST, 'link', 'set', 'tap0', 'down']);
    assert.deepEqual(JSON.parse((await f.run(['ip', '-n', NS, '-j', 'addr', 'show'], { read: true })).stdout)[1].flags, ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP']);
    assert.deepEqual(JSON.parse((await f.run(['ip', '-n', NS, '-j', 'route', 'show', 'table', 'main'], { read: true })).stdout)[0].flags, ['linkdown']);
  });

  it('sysctl -n of a key that is absent (no br_netfilter) prints the others and exits 1', async () => {
    const f = new FakeSystem({ brNetfilter: false });
    await f.sh(['ip', 'netns', 'add', NS]);
    const r = await f.run(['ip', 'netns', 'exec', NS, 'sysctl', '-n', 'net.ipv4.conf.all.arp_ignore', 'net.bridge.bridge-nf-call-iptables'], { read: true, okCodes: [1] });
    assert.deepEqual(r, { stdout: '0\n', stderr: 'sysctl: cannot stat /proc/sys/net/bridge/bridge-nf-call-iptables: No such file or directory\n', exitCode: 1 });
    const obs = await observeNs(f, NS, { shared: true });
    assert.deepEqual(obs.sysctl, { ipForward: false, promoteSecondaries: false, arpIgnore: '0', bridgeNfCall: null, ipv6Forwarding: null, acceptRa: new Map(), ipv6Off: null });
    f.verify();
  });

  it('conntrack -D deletes the matching entries, exits 1 when none; missing, it fails as `ip netns exec` does', async () => {
    const f = new FakeSystem();
    await f.sh(['ip', 'netns', 'add', NS]);
    f.addFlow(NS, { src: '192.0.2.9', dst: '203.0.113.20', replySrc: '198.51.100.5', replyDst: '192.0.2.9' });
    f.addFlow(NS, { src: '198.51.100.5', dst: '192.0.2.9', replySrc: '192.0.2.9', replyDst: '203.0.113.20' });
    f.addFlow(NS, { src: '198.51.100.5', dst: '198.51.100.6', replySrc: '198.51.100.6', replyDst: '198.51.100.5' });
    const del = (flag: string) => f.run(['ip', 'netns', 'exec', NS, 'conntrack', '-D', flag, '203.0.113.20'], { okCodes: [1] });
    assert.equal((await del('-d')).exitCode, 0);
    assert.equal((await del('-q')).exitCode, 0);
    assert.equal((await del('-d')).exitCode, 1);
    assert.deepEqual(f.ns(NS).flows.map((x) => x.dst), ['198.51.100.6']);
    f.setConntrackInstalled(false);
    assert.match((await del('-d')).stderr, /^exec of "conntrack" failed: No such file or directory/);
    f.verify();
  });

  it('arping for an address that is not on the device is an error of the test', async () => {
    const f = new FakeSystem();
    await plumbed(f);
    f.background(['ip', 'netns', 'exec', NS, 'arping', '-q', '-A', '-I', 'qr-0', '-c', '3', '-w', '5', '198.51.100.1']);
    f.verify();
    f.background(['ip', 'netns', 'exec', NS, 'arping', '-q', '-A', '-I', 'qr-0', '-c', '3', '-w', '5', '198.51.100.7']);
    assert.throws(() => f.verify(), /arping for an address not on qr-0/);
  });
});

describe('fake system: iptables-restore --noflush --counters', () => {
  const save = (f: FakeSystem) => f.saveText(NS).split('\n').filter((l) => !l.startsWith('#'));

  it('stores rules as iptables-save prints them back (checked on 1.8.9 nf_tables)', async () => {
    const f = new FakeSystem();
    await f.sh(['ip', 'netns', 'add', NS]);
    await restoreIn(f, NS, '*nat\n:l3ctl-snat - [0:0]\n:l3ctl-pre - [0:0]\n[7:420] -A l3ctl-snat -o qg-x -s 10.0.0.0/24 -j SNAT --to-source 203.0.113.2 --random-fully\n-A l3ctl-snat ! -o qg-x ! -i qg-x -m conntrack ! --ctstate DNAT -j ACCEPT\n-A l3ctl-pre -p tcp -i qr-+ -d 169.254.169.254 --dport 80 -j REDIRECT --to-ports 9697\n-I POSTROUTING 1 -j l3ctl-snat\n-I PREROUTING 1 -j l3ctl-pre\nCOMMIT\n');
    assert.deepEqual(save(f), [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':l3ctl-pre - [0:0]',
      ':l3ctl-snat - [0:0]',
      '[0:0] -A PREROUTING -j l3ctl-pre',
      '[0:0] -A POSTROUTING -j l3ctl-snat',
      '[0:0] -A l3ctl-pre -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
      '[7:420] -A l3ctl-snat -s 10.0.0.0/24 -o qg-x -j SNAT --to-source 203.0.113.2 --random-fully',
      '[0:0] -A l3ctl-snat ! -i qg-x ! -o qg-x -m conntrack ! --ctstate DNAT -j ACCEPT',
      'COMMIT',
      '',
    ]);
    assert.equal(parseSave(f.saveText(NS)).version, 'v1.8.9 (nf_tables)');
    // A declared chain is flushed; the others keep their rules and counters.
    await restoreIn(f, NS, '*nat\n:l3ctl-pre - [0:0]\n-A l3ctl-pre -d 10.0.0.1/32 -j ACCEPT\nCOMMIT\n');
    assert.deepEqual(f.rules(NS, 'nat', undefined, { counters: true }).filter((l) => / l3ctl-(pre|snat) /.test(l)), [
      '[0:0] -A l3ctl-pre -d 10.0.0.1/32 -j ACCEPT',
      '[7:420] -A l3ctl-snat -s 10.0.0.0/24 -o qg-x -j SNAT --to-source 203.0.113.2 --random-fully',
      '[0:0] -A l3ctl-snat ! -i qg-x ! -o qg-x -m conntrack ! --ctstate DNAT -j ACCEPT',
    ]);
    f.verify();
  });

  it('refuses as iptables-restore does, with its messages, exit codes and lines; a table is all or nothing', async () => {
    const f = new FakeSystem();
    await f.sh(['ip', 'netns', 'add', NS]);
    await restoreIn(f, NS, '*nat\n:l3ctl-a - [0:0]\n-A l3ctl-a -j ACCEPT\n-I POSTROUTING 1 -j l3ctl-a\nCOMMIT\n');
    const before = f.nsText(NS);
    const cases: [string, number, string][] = [
      ['*nat\n-I POSTROUTING 5 -j l3ctl-a\nCOMMIT\n', 1, 'iptables-restore: line 2 failed: Index of insertion too big.'],
      ['*nat\n-D POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n', 1, 'iptables-restore: line 2 failed: Bad rule (does a matching rule exist in that chain?).'],
      ['*nat\n:l3ctl-x - [0:0]\n-A l3ctl-x -j l3ctl-nope\n-A l3ctl-x -j ACCEPT\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): Chain 'l3ctl-nope' does not exist\nError occurred at line: 5"],
      ['*nat\n:l3ctl-a - [0:0]\n-X l3ctl-a\nCOMMIT\n', 4, 'iptables-restore v1.8.9 (nf_tables): \nline 3: CHAIN_DEL failed (Device or resource busy): chain l3ctl-a'],
      ['*nat\n-D POSTROUTING -j l3ctl-a\n-X l3ctl-a\nCOMMIT\n', 4, 'iptables-restore v1.8.9 (nf_tables): \nline 3: CHAIN_DEL failed (Device or resource busy): chain l3ctl-a'],
      ['*nat\n-A l3ctl-zz -j ACCEPT\nCOMMIT\n', 1, 'iptables-restore: line 2 failed: No chain/target/match by that name.'],
      ['*filter\n:l3ctl-x - [0:0]\n-A l3ctl-x -j SNAT --to-source 1.2.3.4\nCOMMIT\n', 4, 'iptables-restore v1.8.9 (nf_tables): \nline 3: RULE_APPEND failed (Invalid argument): rule in chain l3ctl-x'],
      ['*nat\n:l3ctl-x - [0:0]\n:l3ctl-y - [0:0]\n-A l3ctl-x -j DNAT --to-destination 10.0.0.1\n-A l3ctl-y -j l3ctl-x\n-I POSTROUTING 1 -j l3ctl-y\nCOMMIT\n', 4, 'iptables-restore v1.8.9 (nf_tables): \nline 6: RULE_INSERT failed (Invalid argument): rule in chain l3ctl-x'],
      ['*nat\n:l3ctl-x - [0:0]\n-A l3ctl-x -j l3ctl-x\n-I POSTROUTING 1 -j l3ctl-x\nCOMMIT\n', 4, 'iptables-restore v1.8.9 (nf_tables): \nline 4: RULE_INSERT failed (Too many links): rule in chain l3ctl-x'],
      ['*nat\n:l3ctl-abcdefghijklmnopqrstuvwxyz - [0:0]\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): chain name `l3ctl-abcdefghijklmnopqrstuvwxyz' too long (must be under 29 chars)\nError occurred at line: 2"],
      ['*nat\n:l3ctl-d - [0:0]\n', 1, 'iptables-restore: COMMIT expected at line 3'],
    ];
    for (const [payload, code, stderr] of cases) {
      await assert.rejects(restoreIn(f, NS, payload), (e: CommandError) => {
        assert.equal(e.result.exitCode, code, payload);
        assert.match(e.result.stderr, new RegExp(`^${stderr.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), payload);
        return true;
      });
      f.expectRefusal(/iptables-restore/);
      assert.equal(f.nsText(NS), before, `nothing of a failed table is committed: ${payload}`);
    }
    // Two tables: the first commits, the failing second does not.
    await assert.rejects(restoreIn(f, NS, '*filter\n:l3ctl-b - [0:0]\nCOMMIT\n*nat\n-A l3ctl-zz -j ACCEPT\nCOMMIT\n'), /line 5 failed/);
    f.expectRefusal(/line 5 failed/);
    assert.deepEqual(f.chains(NS, 'filter'), ['l3ctl-b']);
    f.verify();
  });

  it('counters: [p:b] sets them with --counters; bumpCounters is traffic', async () => {
    const f = new FakeSystem();
    await f.sh(['ip', 'netns', 'add', NS]);
    await restoreIn(f, NS, '*nat\n:l3ctl-a - [0:0]\n[3:252] -A l3ctl-a -d 203.0.113.20/32 -j DNAT --to-destination 10.0.0.5\n-A l3ctl-a -d 203.0.113.21/32 -j DNAT --to-destination 10.0.0.6\nCOMMIT\n');
    assert.equal(f.bumpCounters(NS, 'nat', 'l3ctl-a', { match: /203\.0\.113\.21/, packets: 2, bytes: 168 }), 1);
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-a', { counters: true }), [
      '[3:252] -A l3ctl-a -d 203.0.113.20/32 -j DNAT --to-destination 10.0.0.5',
      '[2:168] -A l3ctl-a -d 203.0.113.21/32 -j DNAT --to-destination 10.0.0.6',
    ]);
    f.verify();
  });
});
