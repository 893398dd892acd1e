// What is not l3ctl's stays untouched on a shared host: a VM's veth plugged
// by hand into a network's bridge stops `network delete` (exit 2, nothing
// changed) unless --force; and a host's own MASQUERADE (Docker's, libvirt's)
// keeps working beside a use_namespaces false router, in a namespace standing
// in for the host.
import { mutatingCommands } from '../helpers/dryrun.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { l3ctl, l3ctlOk, nsExec, readStore, sh, shOk, tempStore, uniqueName } from '../helpers/cli.js';
import { addTestHost, baseCommands, deleteNamespaces, e2eUnavailable, kernelSnapshot, namespaces, requireE2E } from '../helpers/e2e.js';
import { connectFrom, startServer, type Server } from '../helpers/peer.js';

const links = (ns: string) => JSON.parse(sh(['ip', '-n', ns, '-j', 'link', 'show']).stdout || '[]') as { ifname: string; master?: string }[];

describe('network delete with devices l3ctl did not plug in', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  const store = tempStore();
  const tag = uniqueName('l3ctl-t-fdev');
  const h = `${tag}-h`;
  const vm = `${tag}-vm`;
  const opts = { store: store.path };
  let bridge = '';
  let vmEnd = '';

  before(async () => {
    if (e2eUnavailable()) return;
    await l3ctlOk(['config', 'set', 'host_namespace', h], opts);
    await l3ctlOk(['network', 'add', 'priv', '--cidr', '198.51.100.0/24'], opts);
    bridge = `brq${JSON.parse(readStore(store.path)).networks[0].id.slice(0, 11)}`;
    // A VM plugged into the bridge by hand, as Nova or an operator would.
    addTestHost({ name: vm, hostNs: h, bridge, cidr: '198.51.100.5/24' });
    vmEnd = links(h).find((l) => l.master === bridge)!.ifname;
  });

  after(() => {
    deleteNamespaces([vm, h]);
    store.cleanup();
  });

  it('exits 2 naming the device, under --dry-run too, and changes nothing', async (t) => {
    if (!requireE2E(t)) return;
    const storeBefore = readStore(store.path);
    const kernelBefore = kernelSnapshot([h, vm]);
    for (const extra of [[], ['--dry-run']]) {
      const r = await l3ctl(['network', 'delete', 'priv', '--yes', ...extra], opts);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split('\n')[0], `l3ctl: error: network 'priv' has ${vmEnd} on its bridge ${bridge}: devices l3ctl did not plug in; deleting the network would cut them off`);
      assert.match(r.stderr, /^hint: unplug them first \(ip link set DEV nomaster\), or delete anyway with --force/m);
      assert.deepEqual(mutatingCommands(r.stdout), [], 'no command that changes anything');
    }
    assert.equal(readStore(store.path), storeBefore, 'store unchanged');
    assert.equal(kernelSnapshot([h, vm]), kernelBefore, 'kernel unchanged');
    assert.equal(links(h).find((l) => l.ifname === vmEnd)?.master, bridge, 'the VM is still plugged in');
  });

  it('--force deletes the network and its bridge; the device stays, unplugged', async (t) => {
    if (!requireE2E(t)) return;
    await l3ctlOk(['network', 'delete', 'priv', '--yes', '--force'], opts);
    assert.deepEqual(JSON.parse(readStore(store.path)).networks, []);
    const now = links(h);
    assert.ok(!now.some((l) => l.ifname === bridge), 'bridge gone');
    const dev = now.find((l) => l.ifname === vmEnd);
    assert.ok(dev && !dev.master, "the VM's end is still there, on no bridge");
  });
});

describe('a MASQUERADE rule of the host beside a use_namespaces false router', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  // h stands in for the host: a container network (192.0.2.0/26) MASQUERADEd
  // out of an uplink (192.0.2.128/26) as Docker does, and our router.
  const store = tempStore();
  const tag = uniqueName('l3ctl-t-masq');
  const h = `${tag}-h`;
  const ctr = `${tag}-ctr`;
  const inet = `${tag}-inet`;
  const up = `${tag}-up`;
  const vm = `${tag}-vm`;
  const opts = { store: store.path };
  const run = (args: string[]) => l3ctlOk(args, opts);
  const PORT = 47021;
  const MASQ = '-A POSTROUTING -s 192.0.2.0/26 ! -o dk0 -j MASQUERADE';
  const nat = () => sh(['ip', 'netns', 'exec', h, 'iptables-save', '-t', 'nat']).stdout.split('\n');
  const servers: Server[] = [];
  let routerId = '';

  before(async () => {
    if (e2eUnavailable()) return;
    shOk(['ip', 'netns', 'add', h]);
    for (const [ns, hostEnd, hostAddr, addr] of [[ctr, 'dk0', '192.0.2.1/26', '192.0.2.2/26'], [inet, 'wan0', '192.0.2.129/26', '192.0.2.130/26']] as const) {
      shOk(['ip', 'netns', 'add', ns]);
      shOk(['ip', '-n', h, 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      shOk(['ip', '-n', h, 'addr', 'add', hostAddr, 'dev', hostEnd]);
      shOk(['ip', '-n', h, 'link', 'set', hostEnd, 'up']);
      shOk(['ip', '-n', ns, 'addr', 'add', addr, 'dev', 'eth0']);
      shOk(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      shOk(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    shOk(['ip', '-n', ctr, 'route', 'add', 'default', 'via', '192.0.2.1']);
    // The "internet" knows no route back to the containers: only MASQUERADE gets a reply there.
    shOk(['ip', 'netns', 'exec', h, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '192.0.2.0/26', '!', '-o', 'dk0', '-j', 'MASQUERADE']);

    for (const args of baseCommands(h)) await run(args);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    await run(['router', 'add', 'r1']);
    routerId = JSON.parse(readStore(store.path)).routers[0].id;
    await run(['config', 'set', 'router_id', routerId]);
    await run(['config', 'set', 'use_namespaces', 'false']);
    await run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
    await run(['interface', 'add', 'r1', 'priv']);
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
    const nets = JSON.parse(readStore(store.path)).networks as { name: string; id: string }[];
    const br = (n: string) => `brq${nets.find((x) => x.name === n)!.id.slice(0, 11)}`;
    addTestHost({ name: up, hostNs: h, bridge: br('ext'), cidr: '203.0.113.1/24' });
    addTestHost({ name: vm, hostNs: h, bridge: br('priv'), cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
    servers.push(await startServer(inet, PORT), await startServer(up, PORT), await startServer(vm, PORT));
  });

  after(async () => {
    for (const s of servers) s.stop();
    await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    deleteNamespaces([ctr, inet, up, vm, h, `qrouter-${routerId}`]);
    store.cleanup();
  });

  it("our chains come first in nat POSTROUTING; the host's rule is kept", (t) => {
    if (!requireE2E(t)) return;
    assert.ok(!namespaces().includes(`qrouter-${routerId}`), 'the router lives in h');
    const post = nat().filter((l) => l.startsWith('-A POSTROUTING '));
    assert.deepEqual(post, ['-A POSTROUTING -j l3ctl-POSTROUTING', '-A POSTROUTING -j l3ctl-postrouting-bottom', MASQ]);
  });

  it("the containers' traffic is MASQUERADEd by the host's rule, and the router still NATs its own", (t) => {
    if (!requireE2E(t)) return;
    assert.equal(connectFrom(ctr, '192.0.2.130', PORT), '192.0.2.129', 'MASQUERADE to the uplink address');
    assert.equal(connectFrom(vm, '203.0.113.1', PORT), '203.0.113.20', 'the VM leaves as its floating IP');
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1', 'and is reached through it');
  });

  it('agent sync and check leave the host rule alone and find no drift', async (t) => {
    if (!requireE2E(t)) return;
    await run(['agent', 'sync']);
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);
    assert.ok(nat().includes(MASQ));
    assert.equal(connectFrom(ctr, '192.0.2.130', PORT), '192.0.2.129');
    assert.equal(nsExec(h, ['iptables', '-t', 'nat', '-C', 'POSTROUTING', '-s', '192.0.2.0/26', '!', '-o', 'dk0', '-j', 'MASQUERADE']).code, 0);
  });

  it('agent status lists the settings of this shared namespace, set by l3ctl here', async (t) => {
    if (!requireE2E(t)) return;
    const j = JSON.parse((await run(['agent', 'status', '-f', 'json'])).stdout) as { host_settings: { namespace: string; setting: string; wanted: string; live: string; ok: boolean; set_by: string; why: string }[] };
    const rows = Object.fromEntries(j.host_settings.map((s) => [s.setting, s]));
    assert.deepEqual(Object.keys(rows).sort(), ['net.bridge.bridge-nf-call-iptables', 'net.ipv4.conf.all.arp_ignore', 'net.ipv4.conf.all.promote_secondaries', 'net.ipv4.ip_forward']);
    for (const s of j.host_settings) {
      assert.equal(s.namespace, h);
      assert.equal(s.set_by, 'l3ctl');
      assert.equal(s.ok, true, `${s.setting}: ${s.live}`);
      assert.ok(s.why.length > 20);
    }
    assert.match(rows['net.ipv4.conf.all.arp_ignore']!.why, /answer ARP for the router's addresses/);
  });
});
