// A dual-stack router as an operator builds it with l3ctl (issue 19): IPv6
// subnets beside IPv4 ones, the router's addresses and routes, radvd started
// by l3ctl advertising the tenant prefix, a VM that configures itself from
// those advertisements alone and reaches an upstream host over IPv6 with its
// own address (no NAT), while IPv4 keeps SNAT and its floating IP. Then radvd
// killed (check exits 3, sync restarts it) and the router deleted (no radvd,
// no files). Documentation prefixes only: 2001:db8::/32, 203.0.113.0/24,
// 198.51.100.0/24.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { l3ctl, l3ctlOk, nsExec, readStore, sh, shOk, tempStore, uniqueName } from '../helpers/cli.js';
import { addTestHost, baseCommands, e2eUnavailable, namespaces, requireE2E, removeTestKernel } from '../helpers/e2e.js';
import { mutatingCommands } from '../helpers/dryrun.js';
import { connectFrom, ping, startServer, type Server } from '../helpers/peer.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-six');
const hostNs = `${tag}-h`;
const up = `${tag}-up`;
const vm = `${tag}-vm`;
const opts = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);
const PORT = 47061;

let routerId = '';
let ns = '';
let qg = '';
let qr = '';
let routerDir = '';
const servers: Server[] = [];

interface Addr {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  tentative?: boolean;
}
const addrsOf = (n: string, dev: string): Addr[] => (JSON.parse(sh(['ip', '-n', n, '-j', 'addr', 'show', 'dev', dev]).stdout || '[]') as { addr_info: Addr[] }[])[0]?.addr_info ?? [];
const v6 = (n: string, dev: string, scope = 'global') => addrsOf(n, dev).filter((a) => a.family === 'inet6' && a.scope === scope);
const sysctl = (n: string, key: string) => nsExec(n, ['sysctl', '-n', key]).stdout.trim();
const radvdPid = (): number | null => {
  const text = existsSync(`${routerDir}/radvd.pid`) ? readFileSync(`${routerDir}/radvd.pid`, 'utf8').trim() : '';
  return /^\d+$/.test(text) ? Number(text) : null;
};
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.endsWith('radvd');
  } catch {
    return false;
  }
};
const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
/** radvd daemons inside namespace N: their pids, without radvd's privilege-separation child (its parent is a radvd). */
const radvdIn = (n: string) =>
  sh(['ip', 'netns', 'pids', n]).stdout.split('\n').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
    try {
      return alive(p) && !alive(parentOf(p));
    } catch {
      return false; // gone meanwhile
    }
  });

/** The VM's SLAAC address in PREFIX (not tentative), waiting for the advertisements and DAD. */
async function slaac(prefix: string, timeoutMs = 20_000): Promise<string | null> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const a = v6(vm, 'eth0').find((x) => x.local.startsWith(prefix) && !x.tentative);
    if (a) return a.local;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

describe('a dual-stack router: IPv6 routed without NAT, router advertisements by radvd', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  let vmAddr: string | null = null;

  before(async () => {
    if (e2eUnavailable()) return;
    for (const args of baseCommands(hostNs)) await run(args);
    await run(['subnet', 'add', 'ext', '2001:db8:ff::/64', '--gateway-ip', '2001:db8:ff::1']);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    await run(['subnet', 'add', 'priv', '2001:db8:1::/64', '--ipv6-ra-mode', 'slaac', '--ipv6-address-mode', 'slaac']);
    await run(['router', 'add', 'r1']);
    await run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10', '--ip', '2001:db8:ff::10']);
    await run(['interface', 'add', 'r1', 'priv']);
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
    const state = JSON.parse(readStore(store.path));
    const r = state.routers[0];
    routerId = r.id;
    ns = `qrouter-${routerId}`;
    qg = `qg-${r.gateway.id.slice(0, 11)}`;
    qr = `qr-${r.interfaces[0].id.slice(0, 11)}`;
    routerDir = `${store.path}.d/routers/${routerId}`;
    const bridge = (name: string) => `brq${state.networks.find((n: { name: string }) => n.name === name).id.slice(0, 11)}`;
    // Upstream: the external network's gateway, IPv4 and IPv6; it routes the tenant prefix to the router (as an upstream router would).
    addTestHost({ name: up, hostNs, bridge: bridge('ext'), cidr: '203.0.113.1/24' });
    shOk(['ip', '-n', up, 'addr', 'add', '2001:db8:ff::1/64', 'dev', 'eth0', 'nodad']);
    shOk(['ip', '-n', up, '-6', 'route', 'add', '2001:db8:1::/64', 'via', '2001:db8:ff::10']);
    // The VM: IPv4 by hand; IPv6 from router advertisements alone.
    addTestHost({ name: vm, hostNs, bridge: bridge('priv'), cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
    shOk(['ip', 'netns', 'exec', vm, 'sysctl', '-q', '-w', 'net.ipv6.conf.eth0.accept_ra=2']);
    // Advertisements come every 30-100 s; a host asks for one when its link comes up: bounce it now that accept_ra is set.
    shOk(['ip', '-n', vm, 'link', 'set', 'eth0', 'down']);
    shOk(['ip', '-n', vm, 'link', 'set', 'eth0', 'up']);
    shOk(['ip', '-n', vm, 'route', 'replace', 'default', 'via', '198.51.100.1']);
    servers.push(await startServer(up, PORT, '::'), await startServer(vm, PORT, '::'));
    vmAddr = await slaac('2001:db8:1:');
  });

  after(async () => {
    for (const s of servers) s.stop();
    await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    // The store's router namespaces and daemons too, should the delete have failed.
    removeTestKernel(store.path, [up, vm, hostNs]);
    store.cleanup();
  });

  it('the store: subnets on the networks, a fixed IP per subnet on each port', (t) => {
    if (!requireE2E(t)) return;
    const state = JSON.parse(readStore(store.path));
    assert.equal(state.version, 3);
    const priv = state.networks.find((n: { name: string }) => n.name === 'priv');
    assert.deepEqual(priv.subnets.map((s: { cidr: string; gateway_ip: string; ip_version: number; ipv6_ra_mode: string | null }) => [s.cidr, s.gateway_ip, s.ip_version, s.ipv6_ra_mode]), [
      ['198.51.100.0/24', '198.51.100.1', 4, null],
      ['2001:db8:1::/64', '2001:db8:1::1', 6, 'slaac'],
    ]);
    const r = state.routers[0];
    assert.deepEqual(r.interfaces[0].fixed_ips.map((f: { ip_address: string }) => f.ip_address), ['198.51.100.1', '2001:db8:1::1'], "each subnet's gateway IP by default");
    assert.deepEqual(r.gateway.fixed_ips.map((f: { ip_address: string }) => f.ip_address), ['203.0.113.10', '2001:db8:ff::10']);
  });

  it('one qr- and one qg- device each carry both addresses; IPv6 without brd; accept_ra 0 on qr-; IPv6 forwarding on', (t) => {
    if (!requireE2E(t)) return;
    const show = (dev: string) => addrsOf(ns, dev).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}${a.broadcast ? ` brd ${a.broadcast}` : ''}`).sort();
    assert.deepEqual(show(qr), ['198.51.100.1/24 brd 198.51.100.255', '2001:db8:1::1/64']);
    assert.deepEqual(show(qg), ['2001:db8:ff::10/64', '203.0.113.10/24 brd 203.0.113.255', '203.0.113.20/32 brd 203.0.113.20']);
    assert.equal(sysctl(ns, `net.ipv6.conf.${qr}.accept_ra`), '0');
    assert.equal(sysctl(ns, `net.ipv6.conf.${qg}.accept_ra`), '0', 'the store names the IPv6 gateway: nothing to learn');
    assert.equal(sysctl(ns, 'net.ipv6.conf.all.forwarding'), '1');
  });

  it('IPv6 routes: connected ones and the default via the external subnet gateway', (t) => {
    if (!requireE2E(t)) return;
    const routes = sh(['ip', '-n', ns, '-6', 'route', 'show']).stdout;
    assert.match(routes, new RegExp(`^2001:db8:1::/64 dev ${qr} `, 'm'));
    assert.match(routes, new RegExp(`^2001:db8:ff::/64 dev ${qg} `, 'm'));
    assert.match(routes, new RegExp(`^default via 2001:db8:ff::1 dev ${qg} `, 'm'));
    assert.match(sh(['ip', '-n', ns, 'route', 'show']).stdout, new RegExp(`^default via 203\\.0\\.113\\.1 dev ${qg}`, 'm'), 'IPv4 keeps its own');
  });

  it('radvd: one per router, started by l3ctl in the namespace, its config beside the store advertising the prefix for SLAAC', (t) => {
    if (!requireE2E(t)) return;
    const conf = readFileSync(`${routerDir}/radvd.conf`, 'utf8');
    assert.match(conf, new RegExp(`interface ${qr}\\n\\{\\n    AdvSendAdvert on;`));
    assert.match(conf, /prefix 2001:db8:1::\/64\n    \{\n        AdvOnLink on;\n        AdvAutonomous on;/);
    assert.doesNotMatch(conf, /AdvManagedFlag|AdvOtherConfigFlag/, 'SLAAC: neither DHCPv6 flag');
    assert.doesNotMatch(conf, new RegExp(qg), 'nothing advertised upstream');
    const pid = radvdPid();
    assert.ok(pid && alive(pid), 'radvd runs with its pid file');
    assert.deepEqual(radvdIn(ns), [pid], 'exactly one radvd, in the router namespace');
  });

  it('the VM gets a SLAAC address in the prefix and a default route via the router link-local address, from radvd alone', (t) => {
    if (!requireE2E(t)) return;
    assert.ok(vmAddr, `a SLAAC address in 2001:db8:1::/64; the VM has ${JSON.stringify(v6(vm, 'eth0'))}`);
    const linkLocal = v6(ns, qr, 'link')[0]?.local;
    assert.ok(linkLocal?.startsWith('fe80:'), 'qr- has a link-local address');
    const def = sh(['ip', '-n', vm, '-6', 'route', 'show', 'default']).stdout;
    assert.match(def, new RegExp(`^default via ${linkLocal} dev eth0 proto ra `, 'm'));
  });

  it("the bridges l3ctl made take nothing from the advertisements: IPv6 off on them, no address", (t) => {
    if (!requireE2E(t)) return;
    const state = JSON.parse(readStore(store.path));
    for (const n of state.networks as { id: string; name: string }[]) {
      const brq = `brq${n.id.slice(0, 11)}`;
      assert.equal(sysctl(hostNs, `net.ipv6.conf.${brq}.disable_ipv6`), '1', `${brq} (${n.name})`);
      assert.deepEqual(addrsOf(hostNs, brq).filter((a) => a.family === 'inet6'), [], `${brq} has no IPv6 address`);
    }
  });

  it('IPv6 reaches upstream with the VM own address (ping and TCP), and back; no IPv6 NAT', (t) => {
    if (!requireE2E(t)) return;
    assert.ok(vmAddr);
    assert.ok(ping(vm, '2001:db8:ff::1', 2), 'VM pings upstream over IPv6');
    assert.equal(connectFrom(vm, '2001:db8:ff::1', PORT), vmAddr, 'upstream sees the VM SLAAC address: routed, not NATed');
    assert.ok(ping(up, vmAddr!, 2), 'upstream pings the VM');
    assert.equal(connectFrom(up, vmAddr!, PORT), '2001:db8:ff::1', 'and reaches its server with its own address');
    const nat6 = sh(['ip', 'netns', 'exec', ns, 'ip6tables-save', '-t', 'nat']).stdout;
    assert.doesNotMatch(nat6, /SNAT|DNAT|MASQUERADE/, 'no IPv6 NAT rule');
  });

  it('IPv4 through the same router keeps its floating IP and SNAT', (t) => {
    if (!requireE2E(t)) return;
    assert.ok(ping(vm, '203.0.113.1', 2));
    assert.equal(connectFrom(vm, '203.0.113.1', PORT), '203.0.113.20', 'the VM leaves as its floating IP');
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1', 'the floating IP reaches the VM');
    assert.equal(connectFrom(vm, '203.0.113.1', PORT, '198.51.100.5'), '203.0.113.20');
  });

  it('router show and agent check cover IPv6; a converged router plans nothing (dry-run sync changes nothing)', async (t) => {
    if (!requireE2E(t)) return;
    // Every line with --all (the default shows what differs and a summary of the rest).
    assert.match((await run(['router', 'show', 'r1'])).stdout, /^devices: 2 devices as desired$/m);
    const show = await run(['router', 'show', 'r1', '--all']);
    assert.match(show.stdout, /2001:db8:1::1\/64/);
    assert.match(show.stdout, /2001:db8:ff::10\/64/);
    assert.match(show.stdout, /radvd/);
    const check = await l3ctl(['agent', 'check', 'r1'], opts);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const dry = await run(['--dry-run', 'agent', 'sync', 'r1']);
    assert.deepEqual(mutatingCommands(dry.stdout), [], dry.stdout);
  });

  it('drift in IPv6: an address, the default route, forwarding and accept_ra changed by hand are found by check (exit 3) and repaired by sync', async (t) => {
    if (!requireE2E(t)) return;
    shOk(['ip', '-n', ns, 'addr', 'del', '2001:db8:1::1/64', 'dev', qr]);
    shOk(['ip', '-n', ns, '-6', 'route', 'del', 'default']);
    shOk(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=0']);
    shOk(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${qr}.accept_ra=1`]);
    const check = await l3ctl(['agent', 'check', 'r1'], opts);
    assert.equal(check.code, 3, check.stdout + check.stderr);
    for (const what of ['2001:db8:1::1/64', '::/0', 'net.ipv6.conf.all.forwarding', `net.ipv6.conf.${qr}.accept_ra`]) assert.ok((check.stdout + check.stderr).includes(what), `check names ${what}:\n${check.stdout}${check.stderr}`);
    await run(['agent', 'sync', 'r1']);
    assert.deepEqual(v6(ns, qr).map((a) => a.local), ['2001:db8:1::1']);
    assert.match(sh(['ip', '-n', ns, '-6', 'route', 'show', 'default']).stdout, /^default via 2001:db8:ff::1 /);
    assert.equal(sysctl(ns, 'net.ipv6.conf.all.forwarding'), '1');
    assert.equal(sysctl(ns, `net.ipv6.conf.${qr}.accept_ra`), '0');
    assert.equal((await l3ctl(['agent', 'check', 'r1'], opts)).code, 0);
    assert.equal(connectFrom(vm, '2001:db8:ff::1', PORT), vmAddr, 'traffic again');
  });

  it('radvd killed: check exits 3 naming it; sync restarts it with the same config', async (t) => {
    if (!requireE2E(t)) return;
    const pid = radvdPid()!;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    const check = await l3ctl(['agent', 'check', 'r1'], opts);
    assert.equal(check.code, 3, check.stdout + check.stderr);
    assert.match(check.stdout + check.stderr, /radvd/);
    await run(['agent', 'sync', 'r1']);
    const again = radvdPid();
    assert.ok(again && again !== pid && alive(again), 'a new radvd');
    assert.deepEqual(radvdIn(ns), [again]);
    assert.equal((await l3ctl(['agent', 'check', 'r1'], opts)).code, 0);
  });

  it('a DHCPv6-stateful subnet: radvd reloads (same process) with the managed flag and no autonomous prefix', async (t) => {
    if (!requireE2E(t)) return;
    const pid = radvdPid();
    await run(['network', 'add', 'dhcp6', '--cidr', '2001:db8:2::/64', '--ipv6-ra-mode', 'dhcpv6-stateful', '--ipv6-address-mode', 'dhcpv6-stateful']);
    const port = await run(['interface', 'add', 'r1', 'dhcp6', '-f', 'value', '-c', 'device']);
    const dev = port.stdout.trim();
    const conf = readFileSync(`${routerDir}/radvd.conf`, 'utf8');
    assert.match(conf, new RegExp(`interface ${dev}\\n\\{[^}]*AdvManagedFlag on;[^}]*prefix 2001:db8:2::/64\\n    \\{\\n        AdvOnLink on;\\n        AdvAutonomous off;`, 's'));
    assert.match(conf, new RegExp(`interface ${qr}\\n`), 'the SLAAC port stays');
    assert.equal(radvdPid(), pid, 'reloaded, not restarted');
    assert.ok(pid && alive(pid));
    await run(['interface', 'remove', 'r1', 'dhcp6']);
    assert.doesNotMatch(readFileSync(`${routerDir}/radvd.conf`, 'utf8'), /2001:db8:2::/);
    await run(['network', 'delete', 'dhcp6', '--yes']);
  });

  it('--dry-run of taking the IPv6 address off prints the address removal and the radvd stop, and changes nothing', async (t) => {
    if (!requireE2E(t)) return;
    const before = readStore(store.path);
    const pid = radvdPid()!;
    const dry = await run(['--dry-run', 'interface', 'remove', 'r1', '2001:db8:1::/64']);
    const lines = mutatingCommands(dry.stdout);
    assert.ok(lines.includes(`  addr del 2001:db8:1::1/64 dev ${qr}`), dry.stdout);
    assert.ok(lines.some((l) => l === `+ kill -TERM ${pid}`), dry.stdout);
    assert.equal(readStore(store.path), before, 'store unchanged');
    assert.ok(alive(pid), 'radvd still runs');
    assert.deepEqual(v6(ns, qr).map((a) => a.local), ['2001:db8:1::1']);
  });

  it('the internal IPv6 address removed (interface remove ROUTER CIDR): radvd stopped, its files gone; IPv4 on the port stays', async (t) => {
    if (!requireE2E(t)) return;
    const pid = radvdPid()!;
    await run(['interface', 'remove', 'r1', '2001:db8:1::/64']);
    assert.ok(!alive(pid), 'radvd stopped');
    assert.deepEqual(radvdIn(ns), []);
    assert.ok(!existsSync(`${routerDir}/radvd.conf`) && !existsSync(`${routerDir}/radvd.pid`), 'no radvd files');
    assert.deepEqual(v6(ns, qr), []);
    assert.ok(ping(vm, '203.0.113.1', 1), 'IPv4 still routes');
    // Back, for the deletion below.
    await run(['interface', 'add', 'r1', 'priv']);
    assert.ok(radvdPid() && alive(radvdPid()!));
  });

  it('deleting the router: no radvd left, no files', async (t) => {
    if (!requireE2E(t)) return;
    const pid = radvdPid()!;
    await run(['router', 'delete', 'r1', '--yes']);
    assert.ok(!alive(pid), 'radvd stopped');
    assert.ok(!namespaces().includes(ns), 'namespace gone');
    assert.ok(!existsSync(routerDir) || readdirSync(routerDir).length === 0, `no files left in ${routerDir}`);
  });
});
