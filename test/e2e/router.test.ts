// The first vertical slice, as an operator runs it: networks, router,
// gateway, interface, floating IP, extra route — proven in the kernel and
// with real traffic, then remapped, disassociated and deleted.
import { mutatingCommands } from '../helpers/dryrun.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { l3ctl, l3ctlOk, nsExec, readStore, sh, tempStore, uniqueName } from '../helpers/cli.js';
import { addTestHost, baseCommands, e2eUnavailable, namespaces, requireE2E, removeTestKernel } from '../helpers/e2e.js';
import { connectFrom, ping, startServer, type Server } from '../helpers/peer.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-core');
const hostNs = `${tag}-h`;
const up = `${tag}-up`;
const vm1 = `${tag}-vm1`;
const vm2 = `${tag}-vm2`;
const opts = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);
const PORT = 47001;

let routerId = '';
let ns = '';
let gwDev = '';
let qrDev = '';
const servers: Server[] = [];

const links = (n: string) => JSON.parse(sh(['ip', '-n', n, '-j', 'addr', 'show']).stdout || '[]') as {
  ifname: string; address: string; master?: string; flags: string[]; addr_info: { family: string; local: string; prefixlen: number; broadcast?: string; scope: string }[];
}[];
const natRules = () => sh(['ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat']).stdout.split('\n');
const routes = () => sh(['ip', '-n', ns, 'route', 'show']).stdout;

describe('routers that route', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    for (const args of baseCommands(hostNs)) await run(args);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    await run(['router', 'add', 'r1']);
    await run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
    await run(['interface', 'add', 'r1', 'priv']);
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
    await run(['route', 'add', 'r1', '192.0.2.0/24', '198.51.100.254']);
    const state = JSON.parse(readStore(store.path));
    routerId = state.routers[0].id;
    ns = `qrouter-${routerId}`;
    gwDev = `qg-${state.routers[0].gateway.id.slice(0, 11)}`;
    qrDev = `qr-${state.routers[0].interfaces[0].id.slice(0, 11)}`;
    const extBridge = `brq${state.networks.find((n: { name: string }) => n.name === 'ext').id.slice(0, 11)}`;
    const privBridge = `brq${state.networks.find((n: { name: string }) => n.name === 'priv').id.slice(0, 11)}`;
    addTestHost({ name: up, hostNs, bridge: extBridge, cidr: '203.0.113.1/24' });
    addTestHost({ name: vm1, hostNs, bridge: privBridge, cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
    addTestHost({ name: vm2, hostNs, bridge: privBridge, cidr: '198.51.100.6/24', gateway: '198.51.100.1' });
    servers.push(await startServer(up, PORT), await startServer(vm1, PORT), await startServer(vm2, PORT));
  });

  after(async () => {
    for (const s of servers) s.stop();
    await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    // The store's router namespaces and daemons too, should the delete have failed.
    removeTestKernel(store.path, [up, vm1, vm2, hostNs]);
    store.cleanup();
  });

  it('builds the namespace the agent would: lo up, forwarding on', (t) => {
    if (!requireE2E(t)) return;
    assert.ok(namespaces().includes(ns), `${ns} exists`);
    const lo = links(ns).find((l) => l.ifname === 'lo')!;
    assert.ok(lo.flags.includes('UP'));
    assert.equal(nsExec(ns, ['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim(), '1');
  });

  it('plugs qr-/qg- devices with brd and scope global, tap ends on brq bridges', (t) => {
    if (!requireE2E(t)) return;
    const l = links(ns);
    const qr = l.find((x) => x.ifname === qrDev)!;
    const qg = l.find((x) => x.ifname === gwDev)!;
    assert.ok(qr && qg, 'both devices exist');
    assert.deepEqual(qr.addr_info.filter((a) => a.family === 'inet').map((a) => [a.local, a.prefixlen, a.broadcast, a.scope]), [['198.51.100.1', 24, '198.51.100.255', 'global']]);
    const qgAddrs = qg.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen} brd ${a.broadcast} ${a.scope}`).sort();
    assert.deepEqual(qgAddrs, ['203.0.113.10/24 brd 203.0.113.255 global', '203.0.113.20/32 brd 203.0.113.20 global']);
    const host = links(hostNs);
    const state = JSON.parse(readStore(store.path));
    for (const [dev, net] of [[qrDev, 'priv'], [gwDev, 'ext']] as const) {
      const tap = host.find((x) => x.ifname === `tap${dev.slice(3)}`);
      const netId = state.networks.find((n: { name: string }) => n.name === net).id;
      assert.equal(tap?.master, `brq${netId.slice(0, 11)}`, `tap of ${dev} on the ${net} bridge`);
    }
  });

  it('routes: default via the external gateway, the extra route', (t) => {
    if (!requireE2E(t)) return;
    assert.match(routes(), new RegExp(`^default via 203\\.0\\.113\\.1 dev ${gwDev}`, 'm'));
    assert.match(routes(), new RegExp(`^192\\.0\\.2\\.0/24 via 198\\.51\\.100\\.254 dev ${qrDev}`, 'm'));
  });

  it('writes the NAT rules of the agent in l3ctl- chains', (t) => {
    if (!requireE2E(t)) return;
    const nat = natRules();
    for (const rule of [
      '-A POSTROUTING -j l3ctl-POSTROUTING',
      '-A POSTROUTING -j l3ctl-postrouting-bottom',
      '-A l3ctl-postrouting-bottom -j l3ctl-snat',
      '-A l3ctl-snat -j l3ctl-float-snat',
      `-A l3ctl-POSTROUTING ! -i ${gwDev} ! -o ${gwDev} -m conntrack ! --ctstate DNAT -j ACCEPT`,
      '-A l3ctl-snat -s 198.51.100.0/24 -j SNAT --to-source 203.0.113.10 --random-fully',
      // Neutron's fix: what leaves through the gateway from a network behind an extra route is NATed too.
      `-A l3ctl-snat -o ${gwDev} -j SNAT --to-source 203.0.113.10 --random-fully`,
      '-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5',
      '-A l3ctl-OUTPUT -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5',
      '-A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20 --random-fully',
      // The metadata proxy's (on by default): only what enters through an internal port.
      '-A l3ctl-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
    ]) {
      assert.ok(nat.includes(rule), `missing: ${rule}`);
    }
  });

  it('carries traffic: SNAT to the gateway, the FIP both ways', (t) => {
    if (!requireE2E(t)) return;
    assert.ok(ping(vm2, '203.0.113.1', 2), 'vm2 pings upstream');
    assert.equal(connectFrom(vm2, '203.0.113.1', PORT), '203.0.113.10', 'vm2 leaves as the gateway address');
    assert.equal(connectFrom(vm1, '203.0.113.1', PORT), '203.0.113.20', 'vm1 leaves as its floating IP');
    assert.ok(ping(up, '203.0.113.20', 2), 'upstream pings the FIP');
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1', 'upstream reaches vm1 through the FIP');
  });

  it('re-running a command whose effect is in place changes nothing', async (t) => {
    if (!requireE2E(t)) return;
    const before = readStore(store.path);
    await run(['interface', 'add', 'r1', 'priv']);
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
    assert.equal(readStore(store.path), before);
    const dry = await run(['agent', 'sync', '--dry-run']);
    const mutating = mutatingCommands(dry.stdout);
    assert.deepEqual(mutating, [], 'a converged host plans no mutating command');
  });

  it('remaps the FIP to another VM', async (t) => {
    if (!requireE2E(t)) return;
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.6']);
    assert.ok(natRules().includes('-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.6'));
    assert.ok(!natRules().some((l) => l.includes('198.51.100.5')), 'old mapping gone');
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1');
    assert.equal(connectFrom(vm2, '203.0.113.1', PORT), '203.0.113.20', 'vm2 now leaves as the FIP');
    assert.equal(connectFrom(vm1, '203.0.113.1', PORT), '203.0.113.10', 'vm1 back to the gateway address');
  });

  it('disassociate removes address, rules and conntrack entries: traffic stops', async (t) => {
    if (!requireE2E(t)) return;
    assert.ok(ping(up, '203.0.113.20'), 'mapping works before');
    await run(['fip', 'disassociate', '203.0.113.20']);
    assert.ok(!natRules().some((l) => l.includes('203.0.113.20')), 'no rule names the FIP');
    const qg = links(ns).find((x) => x.ifname === gwDev)!;
    assert.ok(!qg.addr_info.some((a) => a.local === '203.0.113.20'), '/32 gone');
    const ct = nsExec(ns, ['conntrack', '-L', '-d', '203.0.113.20']);
    assert.doesNotMatch(ct.stdout, /203\.0\.113\.20/, 'no conntrack entry left for the FIP');
    assert.ok(!ping(up, '203.0.113.20'), 'the FIP no longer answers');
  });

  it('router show names a route deleted by hand and sums up the rest; --all puts desired and live side by side', async (t) => {
    if (!requireE2E(t)) return;
    sh(['ip', '-n', ns, 'route', 'del', '192.0.2.0/24']);
    const text = (await run(['router', 'show', 'r1'])).stdout;
    assert.match(text, /^routes: 1 line differs; \d+ routes as desired$/m, text);
    assert.match(text, /^  ! desired  192\.0\.2\.0\/24 via 198\.51\.100\.254\n    live     \(absent\)$/m, text);
    assert.match(text, /^nat: \d+ rules, \d+ chains as desired$/m, text);
    assert.doesNotMatch(text, /default via/, 'what matches is summed up, not listed');
    const all = (await run(['router', 'show', 'r1', '--all'])).stdout;
    assert.match(all, /^! 192\.0\.2\.0\/24 via 198\.51\.100\.254$/m, all);
    assert.match(all, new RegExp(`^  default via 203\\.0\\.113\\.1 dev ${gwDev} +default via`, 'm'), all);
    const json = JSON.parse((await run(['router', 'show', 'r1', '-f', 'json'])).stdout) as { drift: { kind: string; object: string }[] };
    assert.deepEqual(json.drift.map((f) => [f.kind, f.object]), [['missing-route', '192.0.2.0/24']]);
    const sync = await run(['agent', 'sync', 'r1']);
    assert.match(sync.stderr, /^r1: \+route 192\.0\.2\.0\/24$/m, 'sync says what it changed');
    for (const args of [[], ['--all']]) assert.doesNotMatch((await run(['router', 'show', 'r1', ...args])).stdout, /^ *!/m);
    assert.match((await run(['router', 'show', 'r1'])).stdout, /^routes: \d+ routes as desired$/m);
  });

  it('deletes the extra route', async (t) => {
    if (!requireE2E(t)) return;
    await run(['route', 'delete', 'r1', '192.0.2.0/24']);
    assert.doesNotMatch(routes(), /192\.0\.2\.0\/24/);
  });

  it('router delete leaves no namespace, device, bridge port, metadata proxy or file behind', async (t) => {
    if (!requireE2E(t)) return;
    const dir = `${store.path}.d/routers/${routerId}`;
    const proxy = Number(readFileSync(`${dir}/haproxy.pid`, 'utf8'));
    assert.match(readFileSync(`/proc/${proxy}/cmdline`, 'utf8'), /^haproxy\0/, 'the router had its proxy');
    await run(['fip', 'delete', '203.0.113.20']);
    await run(['router', 'delete', 'r1', '--yes']);
    assert.ok(!namespaces().includes(ns), 'namespace removed');
    const host = links(hostNs);
    assert.deepEqual(host.filter((l) => l.ifname.startsWith('tap')).map((l) => l.ifname), [], 'no tap left');
    const ports = host.filter((l) => l.master?.startsWith('brq')).map((l) => l.ifname).sort();
    assert.deepEqual(ports, [up, vm1, vm2].map((n) => `v${n.slice(-10)}`.slice(0, 15)).sort(), 'only the test hosts remain on the bridges');
    // Ended before its namespace went (a zombie's cmdline is empty: PID 1 here may not reap it).
    assert.equal(existsSync(`/proc/${proxy}/cmdline`) ? readFileSync(`/proc/${proxy}/cmdline`, 'utf8') : '', '');
    assert.ok(!existsSync(dir), 'its files and directory are gone');
  });
});
