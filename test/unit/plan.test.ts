// The planner and apply, in-process, against the strict fake system: each
// kind of change gives the right kernel state (as the fake kernel keeps it,
// read back through the real observe functions), and planning again right
// after gives an empty plan. No root.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplyError } from '../../src/model/errors.js';
import { routerFilesDir } from '../../src/agent/daemons.js';
import { findingsOf, type Plan } from '../../src/agent/steps.js';
import { TEARDOWN_GROUP } from '../../src/agent/plan.js';
import { FakeSystem, fakeFor } from '../helpers/fakesys.js';
import { BRP, BRP2, BRX, GWP, HOST, NS, QG, QR, QR2, QRP, R, TAPG, TAPR, TAPR2, converge, replan, world, type WorldOptions } from '../helpers/world.js';

/** Lines of each `ip -n NS -batch -` run, in order. */
const batches = (f: FakeSystem, ns: string) => f.calls.filter((c) => c.argv.join(' ') === `ip -n ${ns} -batch -`).map((c) => c.input!.replace(/\n$/, '').split('\n'));
/** Changing commands (argv joined), in order. */
const cmds = (f: FakeSystem) => f.calls.filter((c) => !c.read).map((c) => c.argv.join(' '));
const restores = (f: FakeSystem) => f.calls.filter((c) => c.argv.includes('iptables-restore')).map((c) => c.input!);
const addrsOf = (f: FakeSystem, ns: string, dev: string) => f.link(ns, dev)!.addrs.map((a) => `${a.local}/${a.prefixlen}${a.brd ? ` brd ${a.brd}` : ''}`).sort();
const kinds = (plans: Plan[]) => plans.flatMap(findingsOf).map((x) => `${x.kind} ${x.object}`);
/** The metadata proxy of r1 as `ps` shows it, and its files. */
const DIR = routerFilesDir(new FakeSystem().storePath, R);
const PROXY = `haproxy -f ${DIR}/haproxy.conf -p ${DIR}/haproxy.pid -D`;
const PROXY_FILES = [`${DIR}/haproxy.conf`, `${DIR}/haproxy.loaded`, `${DIR}/haproxy.pid`];
/** Command lines of the processes running in a namespace. */
const procs = (f: FakeSystem, ns: string) => f.files.processesIn(ns).map((p) => p.argv.join(' '));
const pidIn = (f: FakeSystem, ns: string) => f.files.processesIn(ns)[0]!.pid;
const daemonFiles = (f: FakeSystem) => [...f.files.files.keys()].sort();

/** Converge to `opts`, then clear the call log: what the next converge runs is the change alone. */
async function at(f: FakeSystem, opts: WorldOptions) {
  await converge(f, world(opts));
  assert.deepEqual(await replan(f, world(opts)), [], 'converged before the change');
  f.clearCalls();
}

async function change(f: FakeSystem, s: ReturnType<typeof world>) {
  const plans = await converge(f, s);
  assert.deepEqual(await replan(f, s), [], 'planning again after the apply gives an empty plan');
  return plans;
}

const BASE: WorldOptions = { gateway: true, port: true };
const FIP_A: [string, string] = ['203.0.113.20', '198.51.100.5'];
const FIP_B: [string, string] = ['203.0.113.21', '198.51.100.6'];

describe('plan + apply: network_device_mtu', () => {
  const MTU: WorldOptions = { ...BASE, config: { network_device_mtu: '1400' } };

  it('set: both ends of every port get it when plugged; a changed end is drift, set again; unset: no MTU is ever set', async (t) => {
    const f = fakeFor(t);
    await change(f, world(MTU));
    for (const [ns, dev] of [[NS, QR], [NS, QG], [HOST, TAPR], [HOST, TAPG]] as const) assert.equal(f.link(ns, dev)!.mtu, 1400, dev);
    await f.sh(['ip', '-n', NS, 'link', 'set', QR, 'mtu', '1500']);
    await f.sh(['ip', '-n', HOST, 'link', 'set', TAPG, 'mtu', '9000']);
    assert.deepEqual(kinds(await replan(f, world(MTU))).sort(), [`wrong-mtu ${QR}`, `wrong-mtu ${TAPG}`]);
    await change(f, world(MTU));
    assert.deepEqual([f.link(NS, QR)!.mtu, f.link(HOST, TAPG)!.mtu], [1400, 1400]);
    // Unset: what is there is left alone, and a new router's ports get no MTU command.
    assert.deepEqual(await replan(f, world(BASE)), []);
    const g = fakeFor(t);
    await change(g, world(BASE));
    assert.deepEqual(g.calls.filter((c) => /\bmtu\b/.test(`${c.argv.join(' ')} ${c.input ?? ''}`)).map((c) => c.argv.join(' ')), []);
  });
});

describe('plan + apply: our jumps in the built-in chains', () => {
  it('a missing jump is inserted at its place; the ones in place above it stay, with their counters', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    f.bumpCounters(NS, 'nat', 'POSTROUTING', { packets: 16, bytes: 1344 });
    await f.sh(['ip', 'netns', 'exec', NS, 'iptables', '-t', 'nat', '-D', 'POSTROUTING', '-j', 'l3ctl-postrouting-bottom']);
    f.clearCalls();
    await change(f, world(BASE));
    assert.deepEqual(restores(f).map((x) => x.split('\n').filter((l) => / POSTROUTING /.test(l))), [['-I POSTROUTING 2 -j l3ctl-postrouting-bottom']]);
    assert.deepEqual(f.rules(NS, 'nat', 'POSTROUTING', { counters: true }), ['[16:1344] -A POSTROUTING -j l3ctl-POSTROUTING', '[0:0] -A POSTROUTING -j l3ctl-postrouting-bottom']);
  });
});

describe('plan + apply: building a router', () => {
  it('a new router: its namespace with lo up, forwarding on, our chains and jumps; the bridges of the networks', async (t) => {
    const f = fakeFor(t);
    const plans = await change(f, world());
    assert.deepEqual(kinds(plans), [`missing-host-namespace ${HOST}`, 'missing-bridge brq11111111-aa', `missing-bridge ${BRP}`, `missing-bridge ${BRP2}`, `missing-namespace ${NS}`]);
    assert.equal(f.link(NS, 'lo')!.up, true);
    assert.deepEqual([...f.ns(NS).links.keys()], ['lo']);
    assert.equal(f.sysctl(NS, 'net.ipv4.ip_forward'), '1');
    assert.equal(f.sysctl(NS, 'net.ipv4.conf.all.promote_secondaries'), '1');
    assert.deepEqual(f.chains(NS, 'filter'), ['l3ctl-FORWARD', 'l3ctl-INPUT', 'l3ctl-OUTPUT', 'l3ctl-filter-top', 'l3ctl-local']);
    assert.deepEqual(f.chains(NS, 'nat'), ['l3ctl-OUTPUT', 'l3ctl-POSTROUTING', 'l3ctl-PREROUTING', 'l3ctl-float-snat', 'l3ctl-postrouting-bottom', 'l3ctl-snat']);
    assert.deepEqual(f.rules(NS, 'nat', 'POSTROUTING'), ['-A POSTROUTING -j l3ctl-POSTROUTING', '-A POSTROUTING -j l3ctl-postrouting-bottom']);
    assert.deepEqual(f.rules(NS, 'filter', 'FORWARD'), ['-A FORWARD -j l3ctl-filter-top', '-A FORWARD -j l3ctl-FORWARD']);
    // No internal port: no metadata rules to serve.
    assert.deepEqual(f.rules(NS, 'filter', 'l3ctl-INPUT'), []);
    for (const b of [BRX, BRP, BRP2]) assert.equal(f.link(HOST, b)?.up, true, b);
    assert.deepEqual(f.routes(NS), []);
  });

  it('a port: bridge end, veth with its peer in the namespace, MAC, up, address with brd, connected route, ARP', async (t) => {
    const f = fakeFor(t);
    await at(f, {});
    await change(f, world({ port: true }));
    assert.deepEqual(batches(f, HOST), [[`link add ${TAPR} type veth peer name ${QR} netns ${NS}`, `link set ${TAPR} master ${BRP}`, `link set ${TAPR} up`]]);
    assert.deepEqual(batches(f, NS), [[`link set ${QR} address fa:16:3e:00:00:02`, `link set ${QR} up`, `addr add 198.51.100.1/24 brd 198.51.100.255 scope global dev ${QR}`]]);
    assert.deepEqual(f.arpings, [{ ns: NS, dev: QR, ip: '198.51.100.1', count: 3 }]);
    const qr = f.link(NS, QR)!;
    assert.deepEqual([qr.up, qr.mac, qr.peer], [true, 'fa:16:3e:00:00:02', { ns: HOST, name: TAPR }]);
    assert.deepEqual(addrsOf(f, NS, QR), ['198.51.100.1/24 brd 198.51.100.255']);
    assert.deepEqual(f.routes(NS), [`198.51.100.0/24 dev ${QR} proto kernel scope link src 198.51.100.1`]);
    assert.deepEqual([f.link(HOST, TAPR)!.master, f.link(HOST, TAPR)!.up], [BRP, true]);
    // The first internal port brings the metadata rules, and then the proxy they lead to.
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-PREROUTING'), ['-A l3ctl-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697']);
    assert.deepEqual(f.rules(NS, 'filter', 'l3ctl-INPUT'), [
      '-A l3ctl-INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 9697 -j ACCEPT',
      '-A l3ctl-INPUT -p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP',
    ]);
    const order = cmds(f);
    assert.ok(order.indexOf(`ip netns exec ${NS} haproxy ${PROXY.slice('haproxy '.length)}`) > order.indexOf(`ip netns exec ${NS} iptables-restore -w --noflush --counters`), order.join('\n'));
    assert.deepEqual(procs(f, NS), [PROXY]);
  });

  it('a gateway: qg- on the external bridge, the default route, SNAT of each subnet and of what leaves by qg-, all --random-fully', async (t) => {
    const f = fakeFor(t);
    await at(f, { port: true, port2: true });
    await change(f, world({ port: true, port2: true, gateway: true }));
    assert.equal(f.link(HOST, TAPG)!.master, BRX);
    assert.deepEqual(addrsOf(f, NS, QG), ['203.0.113.10/24 brd 203.0.113.255']);
    assert.ok(f.routes(NS).includes(`default via 203.0.113.1 dev ${QG}`), f.routes(NS).join('\n'));
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-snat'), [
      '-A l3ctl-snat -j l3ctl-float-snat',
      '-A l3ctl-snat -s 192.0.2.0/25 -j SNAT --to-source 203.0.113.10 --random-fully',
      '-A l3ctl-snat -s 198.51.100.0/24 -j SNAT --to-source 203.0.113.10 --random-fully',
      `-A l3ctl-snat -o ${QG} -j SNAT --to-source 203.0.113.10 --random-fully`,
    ]);
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-POSTROUTING'), [`-A l3ctl-POSTROUTING ! -i ${QG} ! -o ${QG} -m conntrack ! --ctstate DNAT -j ACCEPT`]);
    // Only the chains whose rules changed were touched, each edited in place (no chain declared, hence flushed).
    const touched = restores(f).map((p) => [...new Set(p.split('\n').flatMap((l) => /^(?::(\S+)|-[ADI] (\S+))/.exec(l)?.slice(1).filter(Boolean) ?? []))]);
    assert.deepEqual(touched, [['l3ctl-POSTROUTING', 'l3ctl-snat']]);
    assert.deepEqual(restores(f).map((p) => p.split('\n').filter((l) => l.startsWith(':'))), [[]]);
  });

  it('--random-fully on every SNAT rule; none with use_random_fully false or an iptables older than 1.6.2', async (t) => {
    const snats = (f: FakeSystem) => f.rules(NS, 'nat').filter((l) => l.includes('-j SNAT'));
    const opts: WorldOptions = { ...BASE, fips: [FIP_A] };
    const on = fakeFor(t);
    await change(on, world(opts));
    assert.equal(snats(on).length, 3);
    assert.ok(snats(on).every((l) => l.endsWith(' --random-fully')), snats(on).join('\n'));

    const off = fakeFor(t);
    await change(off, world({ ...opts, config: { use_random_fully: 'false' } }));
    assert.equal(snats(off).length, 3);
    assert.ok(snats(off).every((l) => !l.includes('random-fully')), snats(off).join('\n'));

    // A new namespace has no save to tell the version: `iptables --version` does.
    const old = fakeFor(t, { iptablesVersion: 'v1.6.1' });
    await change(old, world(opts));
    assert.ok(old.calls.some((c) => c.argv.join(' ') === 'iptables --version'));
    assert.ok(snats(old).every((l) => !l.includes('random-fully')), snats(old).join('\n'));

    // Switching it off later rewrites only the two SNAT chains, and back on again.
    on.clearCalls();
    await change(on, world({ ...opts, config: { use_random_fully: 'false' } }));
    assert.deepEqual(restores(on).map((p) => p.split('\n').filter((l) => l.startsWith(':'))), [[':l3ctl-float-snat - [0:0]', ':l3ctl-snat - [0:0]']]);
    assert.deepEqual(snats(on), snats(off));
    await change(on, world(opts));
    assert.ok(snats(on).every((l) => l.endsWith(' --random-fully')));
  });

  it('send_arp_for_ha 0: no gratuitous ARP', async (t) => {
    const f = fakeFor(t);
    await change(f, world({ ...BASE, fips: [FIP_A], config: { send_arp_for_ha: '0' } }));
    assert.deepEqual(f.arpings, []);
    assert.ok(!f.calls.some((c) => c.argv.includes('arping')));
  });

  it("a missing operator bridge (external_network_bridge): a fail step, and nothing runs", async (t) => {
    const f = fakeFor(t);
    const opts: WorldOptions = { port: true, config: { external_network_bridge: 'br-ex' } };
    await at(f, opts);
    const s = world({ ...opts, gateway: true });
    await assert.rejects(converge(f, s), (e: ApplyError) => {
      assert.ok(e instanceof ApplyError);
      assert.equal(e.message, `external network bridge 'br-ex' does not exist in namespace ${HOST}`);
      return true;
    });
    assert.deepEqual(cmds(f), []);
    const plans = await replan(f, s);
    assert.deepEqual(kinds(plans).filter((k) => k.startsWith('missing-bridge')), ['missing-bridge br-ex']);
    assert.ok(plans.flatMap((p) => p.steps).some((st) => st.actions.some((a) => a.phase === 'fail')));
    // Created by the operator: the next pass goes through.
    await f.sh(['ip', '-n', HOST, '-batch', '-'], 'link add br-ex type bridge\nlink set br-ex up\n');
    await change(f, s);
    assert.equal(f.link(HOST, TAPG)!.master, 'br-ex');
  });
});

describe('plan + apply: floating IPs', () => {
  it('associated: NAT rules restored before the /32 is added, ARP for it, no conntrack', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    await change(f, world({ ...BASE, fips: [FIP_A, FIP_B] }));
    const order = cmds(f);
    const restore = order.findIndex((c) => c.includes('iptables-restore'));
    const fipBatch = f.calls.findIndex((c) => c.input?.includes('addr add 203.0.113.20/32'));
    assert.ok(restore >= 0 && fipBatch > f.calls.findIndex((c) => c.argv.includes('iptables-restore')), order.join('\n'));
    assert.deepEqual(batches(f, NS), [[`addr add 203.0.113.20/32 brd 203.0.113.20 scope global dev ${QG}`, `addr add 203.0.113.21/32 brd 203.0.113.21 scope global dev ${QG}`]]);
    assert.deepEqual(addrsOf(f, NS, QG), ['203.0.113.10/24 brd 203.0.113.255', '203.0.113.20/32 brd 203.0.113.20', '203.0.113.21/32 brd 203.0.113.21']);
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-PREROUTING').slice(1), ['-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5', '-A l3ctl-PREROUTING -d 203.0.113.21/32 -j DNAT --to-destination 198.51.100.6']);
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-OUTPUT'), ['-A l3ctl-OUTPUT -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5', '-A l3ctl-OUTPUT -d 203.0.113.21/32 -j DNAT --to-destination 198.51.100.6']);
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-float-snat'), ['-A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20 --random-fully', '-A l3ctl-float-snat -s 198.51.100.6/32 -j SNAT --to-source 203.0.113.21 --random-fully']);
    assert.deepEqual(f.arpings.map((a) => a.ip), ['203.0.113.20', '203.0.113.21']);
    assert.ok(!order.some((c) => c.includes('conntrack')), order.join('\n'));
  });

  it('disassociated: its /32 goes first, then its rules; its conntrack entries by the floating IP, both ways; east-west flows live on', async (t) => {
    const f = fakeFor(t);
    await at(f, { ...BASE, fips: [FIP_A, FIP_B] });
    f.addFlow(NS, { src: '192.0.2.50', dst: '203.0.113.20', replySrc: '198.51.100.5', replyDst: '192.0.2.50' });
    f.addFlow(NS, { src: '198.51.100.5', dst: '192.0.2.50', replySrc: '192.0.2.50', replyDst: '203.0.113.20' });
    f.addFlow(NS, { src: '198.51.100.5', dst: '198.51.100.7', replySrc: '198.51.100.7', replyDst: '198.51.100.5' });
    f.addFlow(NS, { src: '192.0.2.50', dst: '203.0.113.21', replySrc: '198.51.100.6', replyDst: '192.0.2.50' });
    await change(f, world({ ...BASE, fips: [FIP_B] }));
    assert.deepEqual(cmds(f), [
      `ip -n ${NS} -batch -`,
      `ip netns exec ${NS} iptables-restore -w --noflush --counters`,
      `ip netns exec ${NS} conntrack -D -d 203.0.113.20`,
      `ip netns exec ${NS} conntrack -D -q 203.0.113.20`,
    ]);
    assert.deepEqual(batches(f, NS), [[`addr del 203.0.113.20/32 dev ${QG}`]]);
    assert.ok(!f.rules(NS, 'nat').some((l) => l.includes('203.0.113.20')));
    assert.deepEqual(f.ns(NS).flows.map((x) => `${x.src}>${x.dst}`), ['198.51.100.5>198.51.100.7', '192.0.2.50>203.0.113.21']);
  });

  it('remapped to another fixed IP: rules rewritten, the address stays, the old mapping\'s connections flushed', async (t) => {
    const f = fakeFor(t);
    await at(f, { ...BASE, fips: [FIP_A] });
    await change(f, world({ ...BASE, fips: [['203.0.113.20', '198.51.100.7']] }));
    assert.deepEqual(batches(f, NS), []);
    assert.deepEqual(cmds(f).slice(1), [`ip netns exec ${NS} conntrack -D -d 203.0.113.20`, `ip netns exec ${NS} conntrack -D -q 203.0.113.20`]);
    assert.ok(f.rules(NS, 'nat', 'l3ctl-PREROUTING').includes('-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.7'));
    assert.ok(!f.rules(NS, 'nat').some((l) => l.includes('198.51.100.5')));
  });

  it('counters of floating IP A survive the association of B (issue 10, item 8)', async (t) => {
    const f = fakeFor(t);
    await at(f, { ...BASE, fips: [FIP_A] });
    for (const c of ['l3ctl-PREROUTING', 'l3ctl-OUTPUT', 'l3ctl-float-snat']) assert.equal(f.bumpCounters(NS, 'nat', c, { match: /203\.0\.113\.20/, packets: 5, bytes: 420 }), 1);
    f.bumpCounters(NS, 'nat', 'l3ctl-snat', { packets: 7, bytes: 588 });
    const snatBefore = f.rules(NS, 'nat', 'l3ctl-snat', { counters: true });
    await change(f, world({ ...BASE, fips: [FIP_A, FIP_B] }));
    const withCounters = f.rules(NS, 'nat', undefined, { counters: true });
    assert.deepEqual(withCounters.filter((l) => l.includes('203.0.113.20')), [
      '[5:420] -A l3ctl-OUTPUT -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5',
      '[5:420] -A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5',
      '[5:420] -A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20 --random-fully',
    ]);
    assert.ok(withCounters.filter((l) => l.includes('203.0.113.21')).every((l) => l.startsWith('[0:0] ')));
    // A chain whose rules did not change is not even declared.
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-snat', { counters: true }), snatBefore);
    assert.ok(!restores(f)[0]!.includes(':l3ctl-snat '), restores(f)[0]);
  });
});

describe('plan + apply: routes', () => {
  it('extra routes: a /26 and a /32 added, a nexthop changed (replaced, not deleted), removed; re-planning is empty each time', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    await change(f, world({ ...BASE, routes: [['192.0.2.128/26', '198.51.100.254'], ['192.0.2.200/32', '198.51.100.253']] }));
    assert.deepEqual(batches(f, NS), [['route replace 192.0.2.128/26 via 198.51.100.254', 'route replace 192.0.2.200/32 via 198.51.100.253']]);
    assert.ok(f.routes(NS).includes(`192.0.2.200 via 198.51.100.253 dev ${QR}`), f.routes(NS).join('\n'));
    f.clearCalls();
    await change(f, world({ ...BASE, routes: [['192.0.2.128/26', '198.51.100.254'], ['192.0.2.200/32', '198.51.100.252']] }));
    assert.deepEqual(batches(f, NS), [['route replace 192.0.2.200/32 via 198.51.100.252']]);
    f.clearCalls();
    await change(f, world(BASE));
    assert.deepEqual(batches(f, NS), [['route del 192.0.2.128/26 via 198.51.100.254', 'route del 192.0.2.200/32 via 198.51.100.252']]);
    assert.deepEqual(f.routes(NS), [`default via 203.0.113.1 dev ${QG}`, `198.51.100.0/24 dev ${QR} proto kernel scope link src 198.51.100.1`, `203.0.113.0/24 dev ${QG} proto kernel scope link src 203.0.113.10`]);
  });

  it('a connected route deleted by hand is put back as the kernel had it', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    const before = f.routes(NS);
    await f.sh(['ip', '-n', NS, 'route', 'del', '198.51.100.0/24', 'dev', QR]);
    const plans = await change(f, world(BASE));
    assert.deepEqual(kinds(plans), ['missing-route 198.51.100.0/24']);
    assert.deepEqual(batches(f, NS), [[`route replace 198.51.100.0/24 dev ${QR} proto kernel scope link src 198.51.100.1`]]);
    assert.deepEqual(f.routes(NS), before);
  });

  it('a device set down by hand (its routes flushed with it) comes back up with every route', async (t) => {
    const f = fakeFor(t);
    const opts = { ...BASE, routes: [['192.0.2.128/26', '198.51.100.254']] as [string, string][] };
    await at(f, opts);
    const before = f.nsText(NS);
    await f.sh(['ip', '-n', NS, 'link', 'set', QR, 'down']);
    await f.sh(['ip', '-n', NS, 'link', 'set', QG, 'down']);
    assert.deepEqual(f.routes(NS), []);
    await change(f, world(opts));
    assert.equal(f.nsText(NS), before);
  });
});

describe('plan + apply: an address held in another form', () => {
  const ROUTED = { ...BASE, fips: [FIP_A], routes: [['192.0.2.128/26', '198.51.100.254']] as [string, string][] };

  it('a port\'s only address with scope host: deleted and added in one batch, the routes its deletion dropped written after', async (t) => {
    const f = fakeFor(t);
    await at(f, ROUTED);
    const before = f.nsText(NS);
    await f.sh(['ip', '-n', NS, 'addr', 'del', '198.51.100.1/24', 'dev', QR]);
    await f.sh(['ip', '-n', NS, 'addr', 'add', '198.51.100.1/24', 'brd', '198.51.100.255', 'scope', 'host', 'dev', QR]);
    await f.sh(['ip', '-n', NS, 'route', 'add', '192.0.2.128/26', 'via', '198.51.100.254']);
    f.clearCalls();
    const plans = await change(f, world(ROUTED));
    assert.deepEqual(plans.flatMap(findingsOf).map((x) => [x.kind, x.object, x.expected, x.live]), [['wrong-scope', `198.51.100.1/24 on ${QR}`, 'scope global', 'scope host']]);
    assert.deepEqual(batches(f, NS), [[
      `addr del 198.51.100.1/24 dev ${QR}`,
      `addr add 198.51.100.1/24 brd 198.51.100.255 scope global dev ${QR}`,
      'route replace 192.0.2.128/26 via 198.51.100.254',
    ]]);
    assert.equal(f.nsText(NS), before);
  });

  it('a floating IP with scope host and no brd: replaced in the router batch (its rules are there), ARP for it', async (t) => {
    const f = fakeFor(t);
    await at(f, ROUTED);
    await f.sh(['ip', '-n', NS, 'addr', 'del', '203.0.113.20/32', 'dev', QG]);
    await f.sh(['ip', '-n', NS, 'addr', 'add', '203.0.113.20/32', 'scope', 'host', 'dev', QG]);
    f.clearCalls();
    const plans = await change(f, world(ROUTED));
    assert.deepEqual(plans.flatMap(findingsOf).map((x) => [x.kind, x.expected, x.live]), [['wrong-scope', 'scope global', 'scope host'], ['wrong-broadcast', 'brd 203.0.113.20', 'no brd']]);
    assert.deepEqual(batches(f, NS), [[
      `addr del 203.0.113.20/32 dev ${QG}`,
      `addr add 203.0.113.20/32 brd 203.0.113.20 scope global dev ${QG}`,
    ]]);
    assert.ok(f.routes(NS).includes(`default via 203.0.113.1 dev ${QG}`), f.routes(NS).join('\n'));
    assert.deepEqual(restores(f), []);
    assert.deepEqual(addrsOf(f, NS, QG), ['203.0.113.10/24 brd 203.0.113.255', '203.0.113.20/32 brd 203.0.113.20']);
    assert.ok(cmds(f).some((c) => c.includes(`arping -q -A -I ${QG}`) && c.endsWith('203.0.113.20')), cmds(f).join('\n'));
  });

  it('a wrong broadcast on a port with a route added by hand: that route goes before the replacement (which may drop it)', async (t) => {
    const f = fakeFor(t);
    await at(f, ROUTED);
    await f.sh(['ip', '-n', NS, 'addr', 'del', '198.51.100.1/24', 'dev', QR]);
    await f.sh(['ip', '-n', NS, 'addr', 'add', '198.51.100.1/24', 'brd', '198.51.100.100', 'dev', QR]);
    await f.sh(['ip', '-n', NS, 'route', 'add', '192.0.2.128/26', 'via', '198.51.100.254']);
    await f.sh(['ip', '-n', NS, 'route', 'add', '192.0.2.192/26', 'via', '198.51.100.250']);
    f.clearCalls();
    const plans = await change(f, world(ROUTED));
    assert.deepEqual(kinds(plans), [`wrong-broadcast 198.51.100.1/24 on ${QR}`, 'extra-route 192.0.2.192/26']);
    assert.deepEqual(batches(f, NS), [[
      'route del 192.0.2.192/26 via 198.51.100.250',
      `addr del 198.51.100.1/24 dev ${QR}`,
      `addr add 198.51.100.1/24 brd 198.51.100.255 scope global dev ${QR}`,
      'route replace 192.0.2.128/26 via 198.51.100.254',
    ]]);
    assert.deepEqual(addrsOf(f, NS, QR), ['198.51.100.1/24 brd 198.51.100.255']);
  });
});

describe('plan + apply: ports that change under the same id', () => {
  it('new address and MAC in the same subnet: the new address is added before the old goes; routes through the subnet survive', async (t) => {
    const f = fakeFor(t);
    const opts = { ...BASE, routes: [['192.0.2.128/26', '198.51.100.254']] as [string, string][] };
    await at(f, opts);
    const s = world(opts);
    Object.assign(s.routers[0]!.interfaces[0]!, { mac_address: 'fa:16:3e:00:00:09' }).fixed_ips[0]!.ip_address = '198.51.100.2';
    await change(f, s);
    assert.deepEqual(batches(f, NS), [[`link set ${QR} address fa:16:3e:00:00:09`, `addr add 198.51.100.2/24 brd 198.51.100.255 scope global dev ${QR}`, `addr del 198.51.100.1/24 dev ${QR}`]]);
    assert.deepEqual(addrsOf(f, NS, QR), ['198.51.100.2/24 brd 198.51.100.255']);
    assert.equal(f.link(NS, QR)!.mac, 'fa:16:3e:00:00:09');
    assert.ok(f.routes(NS).includes(`198.51.100.0/24 dev ${QR} proto kernel scope link src 198.51.100.2`), f.routes(NS).join('\n'));
    assert.ok(f.routes(NS).includes(`192.0.2.128/26 via 198.51.100.254 dev ${QR}`), f.routes(NS).join('\n'));
  });

  it('the same, after promote_secondaries was reset by hand: still right in one pass', async (t) => {
    const f = fakeFor(t);
    const opts = { ...BASE, routes: [['192.0.2.128/26', '198.51.100.254']] as [string, string][] };
    await at(f, opts);
    await f.sh(['ip', 'netns', 'exec', NS, 'sysctl', '-w', 'net.ipv4.conf.all.promote_secondaries=0']);
    const s = world(opts);
    s.routers[0]!.interfaces[0]!.fixed_ips[0]!.ip_address = '198.51.100.2';
    await change(f, s);
    assert.deepEqual(addrsOf(f, NS, QR), ['198.51.100.2/24 brd 198.51.100.255']);
    assert.ok(f.routes(NS).includes(`192.0.2.128/26 via 198.51.100.254 dev ${QR}`), f.routes(NS).join('\n'));
  });

  it('moved to another network: the host end moves to the other bridge, the address, connected route and SNAT follow', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    const s = world(BASE);
    Object.assign(s.routers[0]!.interfaces[0]!, { network_id: s.networks[2]!.id, fixed_ips: [{ subnet_id: s.networks[2]!.subnets[0]!.id, ip_address: '192.0.2.1' }] });
    await change(f, s);
    assert.deepEqual(batches(f, HOST), [[`link set ${TAPR} master ${BRP2}`]]);
    assert.deepEqual(batches(f, NS), [[`addr add 192.0.2.1/25 brd 192.0.2.127 scope global dev ${QR}`, `addr del 198.51.100.1/24 dev ${QR}`]]);
    assert.ok(f.routes(NS).includes(`192.0.2.0/25 dev ${QR} proto kernel scope link src 192.0.2.1`));
    assert.ok(!f.routes(NS).some((r) => r.startsWith('198.51.100.0/24')));
    assert.ok(f.rules(NS, 'nat', 'l3ctl-snat').includes('-A l3ctl-snat -s 192.0.2.0/25 -j SNAT --to-source 203.0.113.10 --random-fully'));
  });

  it('the gateway re-plumbed with a new address: floating IPs stay, the default route stays', async (t) => {
    const f = fakeFor(t);
    await at(f, { ...BASE, fips: [FIP_A] });
    const s = world({ ...BASE, fips: [FIP_A] });
    s.routers[0]!.gateway!.fixed_ips[0]!.ip_address = '203.0.113.11';
    await change(f, s);
    assert.deepEqual(addrsOf(f, NS, QG), ['203.0.113.11/24 brd 203.0.113.255', '203.0.113.20/32 brd 203.0.113.20']);
    assert.ok(f.routes(NS).includes(`default via 203.0.113.1 dev ${QG}`));
    assert.ok(f.rules(NS, 'nat', 'l3ctl-snat').every((l) => !l.includes('203.0.113.10')));
  });
});

describe('plan + apply: removing', () => {
  it('stale devices: a qg- left with a floating IP loses the /32 first, then the device; its host end goes with it', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    await f.sh(['ip', '-n', HOST, '-batch', '-'], `link add tapdeadbeef-00 type veth peer name qg-deadbeef-00 netns ${NS}\n`);
    await f.sh(['ip', '-n', NS, '-batch', '-'], 'link set qg-deadbeef-00 up\naddr add 203.0.113.77/32 brd 203.0.113.77 scope global dev qg-deadbeef-00\nlink add qr-stale type dummy\n');
    const plans = await change(f, world(BASE));
    assert.deepEqual(kinds(plans), ['extra-device qr-stale', 'extra-device qg-deadbeef-00']);
    assert.deepEqual(batches(f, NS), [['addr del 203.0.113.77/32 dev qg-deadbeef-00', 'link del qr-stale', 'link del qg-deadbeef-00']]);
    assert.equal(f.link(HOST, 'tapdeadbeef-00'), undefined);
  });

  it('a port removed: its device (both veth ends) and its SNAT rule go; the bridge stays', async (t) => {
    const f = fakeFor(t);
    await at(f, { ...BASE, port2: true });
    await change(f, world(BASE));
    assert.deepEqual(batches(f, NS), [[`link del ${QR2}`]]);
    assert.equal(f.link(HOST, TAPR2), undefined);
    assert.equal(f.link(HOST, BRP2)?.up, true);
    assert.ok(!f.rules(NS, 'nat').some((l) => l.includes('192.0.2.0/25')));
  });

  it('a router disabled, then deleted: floating IPs, internal ports, the gateway, then the namespace', async (t) => {
    const f = fakeFor(t);
    await at(f, { ...BASE, fips: [FIP_A] });
    const s = world({ ...BASE, fips: [FIP_A] });
    s.routers[0]!.admin_state_up = false;
    const pid = pidIn(f, NS);
    const plans = await change(f, s);
    assert.deepEqual(kinds(plans), [`unwanted-namespace ${NS}`, 'extra-daemon haproxy']);
    assert.deepEqual(batches(f, NS), [[`addr del 203.0.113.20/32 dev ${QG}`, `link set dev ${QR} group ${TEARDOWN_GROUP}`, `link set dev ${QG} group ${TEARDOWN_GROUP}`, `link del group ${TEARDOWN_GROUP}`]]);
    // The metadata proxy is stopped while its namespace still exists, and its files go.
    assert.deepEqual(cmds(f).slice(-2), [`kill -TERM ${pid}`, `ip netns del ${NS}`]);
    assert.equal(f.hasNs(NS), false);
    assert.deepEqual(f.files.processesInDeletedNamespaces(), []);
    assert.deepEqual(daemonFiles(f), []);
    assert.deepEqual([...f.ns(HOST).links.keys()].sort(), [BRX, BRP, BRP2, 'lo'].sort());
    f.clearCalls();
    const gone = world();
    gone.routers = [];
    await change(f, gone);
    assert.deepEqual(cmds(f), []);
  });

  it('one pass that adds and removes: adds before deletes in the batch, the new /32 after its rules, conntrack only for the mapping that went', async (t) => {
    const f = fakeFor(t);
    await at(f, { ...BASE, fips: [FIP_A] });
    const s = world({ gateway: true, port2: true, fips: [['203.0.113.21', '192.0.2.5']] });
    await change(f, s);
    const [router, fips] = batches(f, NS);
    assert.deepEqual(router, [
      `link set ${QR2} address fa:16:3e:00:00:03`,
      `link set ${QR2} up`,
      `addr add 192.0.2.1/25 brd 192.0.2.127 scope global dev ${QR2}`,
      `addr del 203.0.113.20/32 dev ${QG}`,
      `link del ${QR}`,
    ]);
    assert.deepEqual(fips, [`addr add 203.0.113.21/32 brd 203.0.113.21 scope global dev ${QG}`]);
    const order = cmds(f);
    assert.ok(order.indexOf(`ip netns exec ${NS} iptables-restore -w --noflush --counters`) < order.lastIndexOf(`ip -n ${NS} -batch -`));
    assert.deepEqual(order.filter((c) => c.includes('conntrack')), [`ip netns exec ${NS} conntrack -D -d 203.0.113.20`, `ip netns exec ${NS} conntrack -D -q 203.0.113.20`]);
  });
});

describe('plan + apply: the metadata proxy (a per-router daemon)', () => {
  const daemonKinds = (plans: Plan[]) => kinds(plans).filter((k) => k.includes('daemon'));

  it('started with the first internal port (missing-daemon), stopped with the last (extra-daemon): process and files', async (t) => {
    const f = fakeFor(t);
    await at(f, { gateway: true });
    assert.deepEqual(procs(f, NS), []);
    assert.deepEqual(daemonKinds(await change(f, world(BASE))), ['missing-daemon haproxy']);
    assert.deepEqual(procs(f, NS), [PROXY]);
    assert.deepEqual(daemonFiles(f), PROXY_FILES);
    assert.match(f.files.files.get(`${DIR}/haproxy.conf`)!, /bind 0\.0\.0\.0:9697/);
    // A second port changes nothing of it.
    f.clearCalls();
    assert.deepEqual(daemonKinds(await change(f, world({ ...BASE, port2: true }))), []);
    assert.ok(!cmds(f).some((c) => /haproxy|kill/.test(c)), cmds(f).join('\n'));
    const pid = pidIn(f, NS);
    assert.deepEqual(daemonKinds(await change(f, world({ gateway: true }))), ['extra-daemon haproxy']);
    assert.ok(cmds(f).includes(`kill -TERM ${pid}`));
    assert.deepEqual(procs(f, NS), []);
    assert.deepEqual(daemonFiles(f), []);
    assert.deepEqual(f.rules(NS, 'filter', 'l3ctl-INPUT'), []);
  });

  it('enable_metadata_proxy false: no rules and no proxy; true again: both back', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    const off = world({ ...BASE, config: { enable_metadata_proxy: 'false' } });
    const plans = await change(f, off);
    assert.deepEqual(daemonKinds(plans), ['extra-daemon haproxy']);
    assert.ok(!f.rules(NS, 'nat').concat(f.rules(NS, 'filter')).some((l) => /9697|169\.254\.169\.254/.test(l)));
    assert.deepEqual(procs(f, NS), []);
    assert.deepEqual(daemonFiles(f), []);
    assert.deepEqual(daemonKinds(await change(f, world(BASE))), ['missing-daemon haproxy']);
    assert.deepEqual(procs(f, NS), [PROXY]);
    assert.equal(f.rules(NS, 'filter', 'l3ctl-INPUT').length, 2);
  });

  it('a killed proxy is daemon-dead: started again', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    await f.sh(['kill', '-KILL', String(pidIn(f, NS))]);
    assert.deepEqual(procs(f, NS), []);
    const plans = await change(f, world(BASE));
    assert.deepEqual(plans.flatMap(findingsOf).map((x) => `${x.kind} ${x.object}: ${x.live}`), [`daemon-dead haproxy: haproxy is not running (pid ${pidIn(f, NS) - 1} has exited)`]);
    assert.deepEqual(procs(f, NS), [PROXY]);
  });

  it('a new upstream is daemon-config: a reload (a new process takes the listener over with -sf), not a stop', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    const old = pidIn(f, NS);
    const plans = await change(f, world({ ...BASE, config: { metadata_upstream: 'http://192.0.2.80:8775' } }));
    assert.deepEqual(daemonKinds(plans), ['daemon-config haproxy']);
    assert.deepEqual(cmds(f).filter((c) => /haproxy|kill/.test(c)), [`ip netns exec ${NS} ${PROXY} -sf ${old}`]);
    assert.deepEqual(procs(f, NS), [`${PROXY} -sf ${old}`]);
    assert.match(f.files.files.get(`${DIR}/haproxy.conf`)!, /server metadata 192\.0\.2\.80:8775/);
  });

  it('the namespace deleted by hand with the proxy in it: a new namespace, the stray killed, a proxy started there', async (t) => {
    const f = fakeFor(t);
    await at(f, BASE);
    const stray = pidIn(f, NS);
    await f.sh(['ip', 'netns', 'del', NS]);
    assert.equal(f.files.processesInDeletedNamespaces()[0]?.pid, stray);
    assert.deepEqual(kinds(await change(f, world(BASE))), [`missing-namespace ${NS}`]);
    assert.ok(cmds(f).includes(`kill -TERM ${stray}`));
    assert.deepEqual(f.files.processesInDeletedNamespaces(), []);
    assert.deepEqual(procs(f, NS), [PROXY]);
  });
});

describe('plan + apply: use_namespaces false (the router shares host_namespace)', () => {
  const SHARED = { use_namespaces: 'false', router_id: R };
  /** host_namespace with devices, routes and NAT of its own. */
  async function foreignHost(f: FakeSystem) {
    await f.sh(['ip', 'netns', 'add', HOST]);
    await f.sh(['ip', '-n', HOST, '-batch', '-'], 'link set lo up\nlink add eth9 type dummy\nlink set eth9 up\naddr add 192.0.2.130/26 dev eth9\nroute add 192.0.2.64/26 via 192.0.2.129\n');
    await f.sh(['ip', 'netns', 'exec', HOST, 'iptables-restore', '-w', '--noflush'], '*nat\n-A POSTROUTING -o eth9 -j MASQUERADE\nCOMMIT\n*filter\n:foreign - [0:0]\n-A foreign -s 192.0.2.0/24 -j DROP\n-A FORWARD -j foreign\nCOMMIT\n');
    f.bumpCounters(HOST, 'nat', 'POSTROUTING', { packets: 9, bytes: 900 });
  }

  it('devices, routes and NAT of the router live beside the host\'s own, which are never touched', async (t) => {
    const f = fakeFor(t);
    await foreignHost(f);
    const opts: WorldOptions = { ...BASE, fips: [FIP_A], config: SHARED };
    await change(f, world(opts));
    assert.equal(f.hasNs(NS), false);
    assert.deepEqual(f.link(HOST, QR)!.peer, { ns: HOST, name: TAPR });
    assert.deepEqual(addrsOf(f, HOST, QG), ['203.0.113.10/24 brd 203.0.113.255', '203.0.113.20/32 brd 203.0.113.20']);
    assert.ok(f.routes(HOST).includes('192.0.2.64/26 via 192.0.2.129 dev eth9'));
    assert.deepEqual([f.sysctl(HOST, 'net.ipv4.conf.all.arp_ignore'), f.sysctl(HOST, 'net.bridge.bridge-nf-call-iptables'), f.sysctl(HOST, 'net.ipv4.ip_forward')], ['1', '0', '1']);
    assert.deepEqual(f.rules(HOST, 'nat', 'l3ctl-snat'), [
      '-A l3ctl-snat -j l3ctl-float-snat',
      `-A l3ctl-snat -s 198.51.100.0/24 -o ${QG} -j SNAT --to-source 203.0.113.10 --random-fully`,
      `-A l3ctl-snat -o ${QG} -j SNAT --to-source 203.0.113.10 --random-fully`,
    ]);
    assert.deepEqual(f.rules(HOST, 'nat', 'l3ctl-POSTROUTING'), [`-A l3ctl-POSTROUTING ! -i ${QG} -o qr-+ -m conntrack ! --ctstate DNAT -j ACCEPT`]);
    assert.deepEqual(f.rules(HOST, 'nat', 'POSTROUTING', { counters: true }), ['[0:0] -A POSTROUTING -j l3ctl-POSTROUTING', '[0:0] -A POSTROUTING -j l3ctl-postrouting-bottom', '[9:900] -A POSTROUTING -o eth9 -j MASQUERADE']);
    assert.deepEqual(f.rules(HOST, 'filter', 'FORWARD'), ['-A FORWARD -j l3ctl-filter-top', '-A FORWARD -j l3ctl-FORWARD', '-A FORWARD -j foreign']);
  });

  it('a router in its own namespace moved into the host namespace: the old namespace goes, the router is rebuilt, in one pass', async (t) => {
    const f = fakeFor(t);
    await foreignHost(f);
    const opts: WorldOptions = { ...BASE, fips: [FIP_A] };
    await at(f, opts);
    const plans = await change(f, world({ ...opts, config: SHARED }));
    assert.equal(f.hasNs(NS), false);
    assert.deepEqual(f.link(HOST, QR)!.peer, { ns: HOST, name: TAPR });
    assert.deepEqual(addrsOf(f, HOST, QG), ['203.0.113.10/24 brd 203.0.113.255', '203.0.113.20/32 brd 203.0.113.20']);
    // The host ends went with the old namespace's devices: they are added, not deleted again.
    assert.deepEqual(batches(f, HOST)[0]!.filter((l) => l.startsWith('link del')), []);
    // The proxy moves too: stopped before its old namespace goes (verify() fails on one left in it), started in the host namespace.
    assert.deepEqual(f.files.processesInDeletedNamespaces(), []);
    assert.deepEqual(procs(f, HOST), [PROXY]);
    assert.deepEqual(kinds(plans).filter((k) => k.includes('daemon')), ['extra-daemon haproxy', 'missing-daemon haproxy']);
    const order = cmds(f);
    assert.ok(order.findIndex((c) => c.startsWith('kill -TERM ')) < order.indexOf(`ip netns del ${NS}`), order.join('\n'));
  });

  it('back to use_namespaces true: our devices and chains leave the host namespace, the host\'s own stay', async (t) => {
    const f = fakeFor(t);
    await foreignHost(f);
    const foreign = f.nsText(HOST);
    await at(f, { ...BASE, fips: [FIP_A], config: SHARED });
    await change(f, world({ ...BASE, fips: [FIP_A] }));
    assert.ok(f.hasNs(NS));
    assert.equal(f.link(NS, QG)!.addrs.length, 2);
    // The bridges and sysctls of the shared router remain: the rest is as before.
    const strip = (text: string) => text.split('\n').filter((l) => !/ link (brq|tap)| sysctl /.test(l)).join('\n');
    assert.equal(strip(f.nsText(HOST)), strip(foreign));
    // The proxy came along: the one in the host namespace stopped, one in the router's.
    assert.deepEqual(procs(f, NS), [PROXY]);
  });
});

describe('plan + apply: what goes wrong', () => {
  it('conntrack not installed: a warning, not a failure', async (t) => {
    const f = fakeFor(t, { conntrack: false });
    await at(f, { ...BASE, fips: [FIP_A] });
    const warnings: string[] = [];
    await converge(f, world(BASE), (w) => warnings.push(w));
    assert.deepEqual(warnings, ['conntrack is not installed: existing connections through the old floating IP mapping live on until they time out (apt-get install conntrack)']);
    assert.deepEqual(await replan(f, world(BASE)), []);
  });

  it('a failing ip batch stops at its line; the next pass finishes the work', async (t) => {
    const f = fakeFor(t);
    await at(f, {});
    f.failOn(/^addr add 198\.51\.100\.1\/24/);
    await assert.rejects(converge(f, world(BASE)), /Command failed -:\d+/);
    assert.ok(f.link(NS, QR), 'the lines before the failing one took effect');
    await change(f, world(BASE));
    assert.deepEqual(addrsOf(f, NS, QR), ['198.51.100.1/24 brd 198.51.100.255']);
  });
});

void GWP;
void QRP;
