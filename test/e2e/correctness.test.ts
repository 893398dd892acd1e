// Issue 10, on a real kernel: host routes that settle, connected routes that
// are guarded and repaired, hosts behind an extra route NATed, tenants with
// overlapping subnets, counters that survive a change, conntrack by the FIP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { l3ctl, l3ctlOk, nsExec, readStore, sh, shOk, tempStore, uniqueName } from '../helpers/cli.js';
import { addTestHost, baseCommands, e2eUnavailable, requireE2E, removeTestKernel } from '../helpers/e2e.js';
import { connectFrom, ping, startServer, type Server } from '../helpers/peer.js';
import { plannedChanges } from '../helpers/converged.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-ok');
const hostNs = `${tag}-h`;
const up = `${tag}-up`;
const vmA = `${tag}-va`;
const vmB = `${tag}-vb`;
const hop = `${tag}-hop`;
const far = `${tag}-far`;
const opts = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);
const PORT = 47031;
const servers: Server[] = [];

interface Stored {
  networks: { id: string; name: string }[];
  routers: { id: string; name: string; gateway: { id: string } | null; interfaces: { id: string; mac_address: string; network_id: string }[] }[];
}
const stored = () => JSON.parse(readStore(store.path)) as Stored;
const router = (name: string) => stored().routers.find((r) => r.name === name)!;
const nsOf = (name: string) => `qrouter-${router(name).id}`;
const bridgeOf = (net: string) => `brq${stored().networks.find((n) => n.name === net)!.id.slice(0, 11)}`;
const natSave = (ns: string) => nsExec(ns, ['iptables-save', '-c', '-t', 'nat']).stdout.split('\n');
const counters = (ns: string, rule: string) => natSave(ns).find((l) => l.endsWith(` ${rule}`))?.match(/^\[(\d+):(\d+)\]/)?.slice(1).map(Number) ?? null;
const check = async () => l3ctl(['agent', 'check', '-f', 'json'], opts);

describe('correct in every case an operator meets', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    for (const args of baseCommands(hostNs)) await run(args);
    // Two tenants, one address space: each router has its own 198.51.100.0/24.
    await run(['network', 'add', 'tenA', '--cidr', '198.51.100.0/24']);
    await run(['network', 'add', 'tenB', '--cidr', '198.51.100.0/24']);
    for (const [r, net, gw] of [['ra', 'tenA', '203.0.113.10'], ['rb', 'tenB', '203.0.113.11']] as const) {
      await run(['router', 'add', r]);
      await run(['gateway', 'set', r, 'ext', '--ip', gw]);
      await run(['interface', 'add', r, net]);
    }
    addTestHost({ name: up, hostNs, bridge: bridgeOf('ext'), cidr: '203.0.113.1/24' });
    addTestHost({ name: vmA, hostNs, bridge: bridgeOf('tenA'), cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
    addTestHost({ name: vmB, hostNs, bridge: bridgeOf('tenB'), cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
    // A second-hop router on tenA (198.51.100.254) with a host behind it (192.0.2.5).
    addTestHost({ name: hop, hostNs, bridge: bridgeOf('tenA'), cidr: '198.51.100.254/24', gateway: '198.51.100.1' });
    shOk(['ip', 'netns', 'exec', hop, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    shOk(['ip', 'netns', 'add', far]);
    shOk(['ip', '-n', hop, 'link', 'add', 'tofar', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', far]);
    shOk(['ip', '-n', hop, 'addr', 'add', '192.0.2.1/24', 'dev', 'tofar']);
    shOk(['ip', '-n', hop, 'link', 'set', 'tofar', 'up']);
    shOk(['ip', '-n', far, 'link', 'set', 'lo', 'up']);
    shOk(['ip', '-n', far, 'addr', 'add', '192.0.2.5/24', 'dev', 'eth0']);
    shOk(['ip', '-n', far, 'link', 'set', 'eth0', 'up']);
    shOk(['ip', '-n', far, 'route', 'add', 'default', 'via', '192.0.2.1']);
    servers.push(await startServer(up, PORT), await startServer(vmA, PORT), await startServer(vmB, PORT));
  });

  after(async () => {
    for (const s of servers) s.stop();
    await l3ctl(['router', 'delete', 'ra', 'rb', '--yes'], opts);
    // The store's router namespaces and daemons too, should the delete have failed.
    removeTestKernel(store.path, [up, vmA, vmB, hop, far, hostNs]);
    store.cleanup();
  });

  it('an extra route to a single host settles: check is clean, a second sync plans only reads, the route carries a ping', async (t) => {
    if (!requireE2E(t)) return;
    await run(['route', 'add', 'ra', '192.0.2.5/32', '198.51.100.254']);
    assert.match(sh(['ip', '-n', nsOf('ra'), 'route', 'show']).stdout, /^192\.0\.2\.5 via 198\.51\.100\.254 /m, 'the kernel prints it without /32');
    const c = await check();
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.deepEqual(await plannedChanges(store.path), []);
    assert.ok(ping(nsOf('ra'), '192.0.2.5', 2), 'the router reaches the host behind the second hop');
  });

  it('a host behind an extra route reaches upstream and is seen as the gateway address (NAT of routed networks)', async (t) => {
    if (!requireE2E(t)) return;
    assert.equal(connectFrom(far, '203.0.113.1', PORT), '203.0.113.10');
  });

  it('a connected route deleted by hand is drift, named by check and repaired by sync', async (t) => {
    if (!requireE2E(t)) return;
    const ns = nsOf('ra');
    const qr = `qr-${router('ra').interfaces[0]!.id.slice(0, 11)}`;
    shOk(['ip', '-n', ns, 'route', 'del', '198.51.100.0/24', 'dev', qr]);
    assert.equal(connectFrom(vmA, '203.0.113.1', PORT), null, 'the subnet is cut off without its connected route');
    const c = await check();
    assert.equal(c.code, 3);
    const findings = JSON.parse(c.stdout) as { router: string; kind: string; object: string }[];
    assert.deepEqual(findings.map((f) => [f.router, f.kind, f.object]), [['ra', 'missing-route', '198.51.100.0/24']]);
    await run(['agent', 'sync']);
    assert.match(sh(['ip', '-n', ns, 'route', 'show']).stdout, new RegExp(`^198\\.51\\.100\\.0/24 dev ${qr} proto kernel scope link src 198\\.51\\.100\\.1`, 'm'));
    assert.equal(connectFrom(vmA, '203.0.113.1', PORT), '203.0.113.10');
    assert.equal((await check()).code, 0);
  });

  it('a route onto a subnet of the router, or to 0.0.0.0/0, is refused and changes nothing', async (t) => {
    if (!requireE2E(t)) return;
    const before = readStore(store.path);
    for (const [dst, re] of [['198.51.100.0/25', /overlaps 198\.51\.100\.0\/24 of network 'tenA', a subnet of the router/], ['0.0.0.0/0', /a \/0 destination is the default route/]] as const) {
      const r = await l3ctl(['route', 'add', 'ra', dst, '198.51.100.254'], opts);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
    }
    assert.equal(readStore(store.path), before);
  });

  it('tenants with one address space: each VM is reached through its own FIP and leaves as it; the bridges are separate', async (t) => {
    if (!requireE2E(t)) return;
    const amb = await l3ctl(['fip', 'associate', '203.0.113.20', '198.51.100.5'], opts);
    assert.equal(amb.code, 2);
    assert.match(amb.stderr, /^l3ctl: error: fixed IP 198\.51\.100\.5 is on subnets of several routers: ra, rb/m);
    assert.match(amb.stderr, /^hint: l3ctl fip associate 203\.0\.113\.20 198\.51\.100\.5 --router ra$/m);
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5', '--router', 'ra']);
    await run(['fip', 'associate', '203.0.113.21', '198.51.100.5', '--router', 'rb']);
    // Re-running with the effect in place needs no --router.
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
    assert.equal(connectFrom(vmA, '203.0.113.1', PORT), '203.0.113.20');
    assert.equal(connectFrom(vmB, '203.0.113.1', PORT), '203.0.113.21');
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1');
    assert.equal(connectFrom(up, '203.0.113.21', PORT), '203.0.113.1');
    // Which VM answered: each sees the router of its own tenant as its gateway.
    const macOf = (r: string) => router(r).interfaces[0]!.mac_address;
    for (const [vm, r] of [[vmA, 'ra'], [vmB, 'rb']] as const) {
      nsExec(vm, ['ping', '-c', '1', '-W', '1', '198.51.100.1']);
      assert.match(nsExec(vm, ['ip', 'neigh', 'show', '198.51.100.1']).stdout, new RegExp(macOf(r)));
    }
    const members = (br: string) => sh(['ip', '-n', hostNs, '-o', 'link', 'show', 'master', br]).stdout;
    assert.notEqual(bridgeOf('tenA'), bridgeOf('tenB'));
    assert.ok(!members(bridgeOf('tenA')).includes(`tap${router('rb').interfaces[0]!.id.slice(0, 11)}`));
    assert.equal((await check()).code, 0);
  });

  it("the counters of one FIP's rules survive the association of another", async (t) => {
    if (!requireE2E(t)) return;
    const ns = nsOf('ra');
    const dnat = '-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5';
    assert.ok(ping(up, '203.0.113.20', 3));
    const before = counters(ns, dnat);
    assert.ok(before && before[0]! > 0, `traffic counted: ${before}`);
    await run(['fip', 'associate', '203.0.113.22', '198.51.100.6', '--router', 'ra']);
    const afterwards = counters(ns, dnat);
    assert.ok(afterwards && afterwards[0]! >= before![0]!, `counters kept: ${before} -> ${afterwards}`);
  });

  it('disassociate deletes the conntrack entries of the FIP, not the east-west flows of the fixed IP', async (t) => {
    if (!requireE2E(t)) return;
    const ns = nsOf('ra');
    assert.ok(ping(up, '203.0.113.20', 1));
    assert.ok(ping(vmA, '192.0.2.5', 1), 'an east-west flow of the fixed IP (via the second hop)');
    assert.match(nsExec(ns, ['conntrack', '-L', '-d', '203.0.113.20']).stdout, /203\.0\.113\.20/);
    await run(['fip', 'disassociate', '203.0.113.20']);
    assert.doesNotMatch(nsExec(ns, ['conntrack', '-L', '-d', '203.0.113.20']).stdout + nsExec(ns, ['conntrack', '-L', '-q', '203.0.113.20']).stdout, /203\.0\.113\.20/);
    assert.match(nsExec(ns, ['conntrack', '-L', '-s', '198.51.100.5', '-d', '192.0.2.5']).stdout, /192\.0\.2\.5/, 'the east-west entry lives on');
  });

  it('use_random_fully false: SNAT rules without --random-fully', async (t) => {
    if (!requireE2E(t)) return;
    await run(['config', 'set', 'use_random_fully', 'false']);
    const snat = natSave(nsOf('rb')).filter((l) => / -j SNAT /.test(l));
    assert.ok(snat.length >= 3 && snat.every((l) => !l.includes('--random-fully')), snat.join('\n'));
    await run(['config', 'unset', 'use_random_fully']);
    assert.ok(natSave(nsOf('rb')).filter((l) => / -j SNAT /.test(l)).every((l) => l.endsWith('--random-fully')));
  });

  it('router exec passes a signal death through as 128+signal', async (t) => {
    if (!requireE2E(t)) return;
    const r = await l3ctl(['router', 'exec', 'ra', '--', 'sh', '-c', 'kill -TERM $$'], opts);
    assert.equal(r.code, 143);
  });
});
