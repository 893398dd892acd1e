// use_namespaces false: the router_id router lives in the host namespace
// (here a test's own host_namespace, never the real one), as the agent's
// root-namespace mode. Proven with traffic, repaired by sync, torn down clean.
import { mutatingCommands } from '../helpers/dryrun.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { l3ctl, l3ctlOk, nsExec, readStore, sh, shOk, tempStore, uniqueName } from '../helpers/cli.js';
import { addTestHost, baseCommands, e2eUnavailable, namespaces, requireE2E, removeTestKernel } from '../helpers/e2e.js';
import { connectFrom, startServer, type Server } from '../helpers/peer.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-shared');
const h = `${tag}-h`;
const up = `${tag}-up`;
const vm1 = `${tag}-vm1`;
const vm2 = `${tag}-vm2`;
const opts = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);
const PORT = 47011;
let routerId = '';
const servers: Server[] = [];

const devices = () => (JSON.parse(sh(['ip', '-n', h, '-j', 'addr', 'show']).stdout) as { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }[]);
const ours = () => devices().filter((d) => /^q[rg]-/.test(d.ifname));
const chains = () => sh(['ip', 'netns', 'exec', h, 'iptables-save']).stdout.split('\n').filter((l) => l.includes('l3ctl-'));
const mutating = mutatingCommands;

describe('use_namespaces false: the router in the host namespace', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
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
    addTestHost({ name: vm1, hostNs: h, bridge: br('priv'), cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
    addTestHost({ name: vm2, hostNs: h, bridge: br('priv'), cidr: '198.51.100.6/24', gateway: '198.51.100.1' });
    servers.push(await startServer(up, PORT), await startServer(vm1, PORT));
  });

  after(async () => {
    for (const s of servers) s.stop();
    await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    // The store's router namespaces and daemons too, should the delete have failed.
    removeTestKernel(store.path, [up, vm1, vm2, h]);
    store.cleanup();
  });

  it('builds no namespace of its own: devices, addresses, chains and forwarding in the host namespace', (t) => {
    if (!requireE2E(t)) return;
    assert.ok(!namespaces().includes(`qrouter-${routerId}`));
    const addrs = ours().flatMap((d) => d.addr_info.filter((a) => a.family === 'inet').map((a) => `${d.ifname.slice(0, 3)}${a.local}/${a.prefixlen}`)).sort();
    assert.deepEqual(addrs, ['qg-203.0.113.10/24', 'qg-203.0.113.20/32', 'qr-198.51.100.1/24']);
    // Shared with the host's own traffic: our rules match only what leaves through our gateway.
    const qg = ours().find((d) => d.ifname.startsWith('qg-'))!.ifname;
    assert.ok(chains().includes(`-A l3ctl-snat -s 198.51.100.0/24 -o ${qg} -j SNAT --to-source 203.0.113.10 --random-fully`), chains().join('\n'));
    assert.ok(chains().includes(`-A l3ctl-POSTROUTING ! -i ${qg} -o qr-+ -m conntrack ! --ctstate DNAT -j ACCEPT`), chains().join('\n'));
    assert.equal(nsExec(h, ['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim(), '1');
    // The bridges share the namespace: they must not answer ARP for the router's addresses.
    assert.equal(nsExec(h, ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore']).stdout.trim(), '1');
  });

  it('routes traffic: SNAT to the gateway, the FIP from upstream', (t) => {
    if (!requireE2E(t)) return;
    assert.equal(connectFrom(vm2, '203.0.113.1', PORT), '203.0.113.10');
    assert.equal(connectFrom(vm1, '203.0.113.1', PORT), '203.0.113.20');
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1');
  });

  it('check is clean; a deleted qr- device is named and repaired; sync then plans only reads', async (t) => {
    if (!requireE2E(t)) return;
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);
    const qr = ours().find((d) => d.ifname.startsWith('qr-'))!.ifname;
    sh(['ip', '-n', h, 'link', 'del', qr]);
    const c = await l3ctl(['agent', 'check', '-f', 'json'], opts);
    assert.equal(c.code, 3);
    assert.ok((JSON.parse(c.stdout) as { kind: string; object: string }[]).some((f) => f.kind === 'missing-device' && f.object === qr));
    await run(['agent', 'sync']);
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);
    assert.deepEqual(mutating((await run(['agent', 'sync', '--dry-run'])).stdout), []);
    assert.equal(connectFrom(vm2, '203.0.113.1', PORT), '203.0.113.10');
  });

  it('disable removes our devices and chains and keeps the host namespace, its bridges and hosts', async (t) => {
    if (!requireE2E(t)) return;
    await run(['router', 'disable', 'r1', '--yes']);
    assert.deepEqual(ours(), []);
    assert.deepEqual(chains(), []);
    assert.ok(namespaces().includes(h));
    assert.ok(devices().some((d) => d.ifname.startsWith('brq')), 'bridges stay');
    await run(['router', 'enable', 'r1']);
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1');
  });

  it('router exec runs in the host namespace for the router_id router', async (t) => {
    if (!requireE2E(t)) return;
    const r = await run(['router', 'exec', 'r1', '--', 'ip', '-o', 'link', 'show']);
    assert.match(r.stdout, /: qr-[0-9a-f-]+[:@]/);
  });

  it('router_id moved to another router: nothing of the old one is left in the host namespace; check names a leftover', async (t) => {
    if (!requireE2E(t)) return;
    await run(['router', 'add', 'r2']);
    const r2 = (JSON.parse(readStore(store.path)).routers as { id: string; name: string }[]).find((r) => r.name === 'r2')!.id;
    await run(['config', 'set', 'router_id', r2]);
    assert.deepEqual(ours(), [], "r1's devices are gone");
    assert.ok(!chains().some((l) => l.includes('203.0.113.20')), "r1's NAT rules are gone");
    assert.ok(!namespaces().includes(`qrouter-${r2}`), 'r2 lives in the host namespace too');
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);
    // Something of ours left behind by hand: named, and removed by sync.
    shOk(['ip', '-n', h, 'link', 'add', 'qr-leftover0', 'type', 'veth', 'peer', 'name', 'tapleftover0']);
    const c = await l3ctl(['agent', 'check', '-f', 'json'], opts);
    assert.equal(c.code, 3);
    assert.ok((JSON.parse(c.stdout) as { kind: string; object: string }[]).some((f) => f.kind === 'extra-device' && f.object === 'qr-leftover0'), c.stdout);
    await run(['agent', 'sync']);
    assert.ok(!devices().some((d) => d.ifname === 'qr-leftover0'));
    await run(['config', 'set', 'router_id', routerId]);
    await run(['router', 'delete', 'r2']);
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1');
  });
});
