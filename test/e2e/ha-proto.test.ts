// HA groundwork, proven by hand on the real kernel without l3ctl's planner:
// the same router on two simulated nodes, its addresses, FIP and routes
// owned by keepalived (config from src/linux/keepalived.ts), NAT rules on
// both nodes. One node holds the addresses; a failure of the master node
// and a graceful hand-over are measured with a 0.1 s ping stream to the
// floating IP, and a TCP session through the FIP must survive both.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { e2eUnavailable, requireE2E } from '../helpers/e2e.js';
import { alive, startNodes, waitGone, BRIDGES, UPSTREAM, VM, type Node, type Nodes } from '../helpers/nodes.js';
import { connectFrom, startServer, type Server } from '../helpers/peer.js';
import { echoServer, pingStream, tcpSession } from '../helpers/stream.js';
import {
  NOTIFY_SCRIPT,
  haDevice,
  isOurKeepalived,
  keepalivedArgv,
  keepalivedCheckArgv,
  keepalivedFiles,
  keepalivedOwned,
  parseHaState,
  pidOf,
  renderKeepalivedConf,
  type HaInstance,
  type KeepalivedFiles,
} from '../../src/linux/keepalived.js';

const HA_NET = '169.254.192.0/18';
const GW_IP = '203.0.113.10';
const FIP = '203.0.113.20';
const FIP2 = '203.0.113.21';
const VM2 = '198.51.100.6'; // a second address on the VM host, without a FIP: leaves by SNAT
const EXTRA_DST = '192.0.2.0/24';
const EXTRA_VIA = '198.51.100.254';
const ADVERT_INT = 1;
const PORT = 7001;
const ECHO_PORT = 7002;

const routerId = randomUUID();
const ns = `qrouter-${routerId}`;
// The router's ports are the same ports on both nodes (one id, one MAC), as
// `export | apply -` copies them; each node has its own HA port.
const qrPort = randomUUID();
const qgPort = randomUUID();
const qr = `qr-${qrPort.slice(0, 11)}`;
const qg = `qg-${qgPort.slice(0, 11)}`;
const QR_MAC = 'fa:16:3e:00:01:01';
const QG_MAC = 'fa:16:3e:00:01:02';
const haPort: Record<string, string> = { a: randomUUID(), b: randomUUID() };
const haAddr: Record<string, string> = { a: '169.254.192.1/18', b: '169.254.192.2/18' };
const haMac: Record<string, string> = { a: 'fa:16:3e:00:0a:01', b: 'fa:16:3e:00:0b:01' };

let env: Nodes | null = null;
// Tests that ran to their end; keepalived's logs are printed when one did not.
let finished = 0;
const TESTS = 9;
const kfiles: Record<string, KeepalivedFiles> = {};
const servers: Server[] = [];

const fips = [{ fip: FIP, fixed: VM.ip }];

function instance(node: Node): HaInstance {
  const owned = keepalivedOwned({
    ports: [
      { device: qr, ip: VM.gateway, prefixlen: 24 },
      { device: qg, ip: GW_IP, prefixlen: 24 },
    ],
    gateway: { device: qg },
    fips,
    routes: [
      { dst: 'default', via: UPSTREAM.ip, dev: qg },
      { dst: EXTRA_DST, via: EXTRA_VIA, dev: null },
    ],
  });
  return {
    vrId: 1,
    haDevice: haDevice(haPort[node.name]!),
    haCidrs: [HA_NET],
    advertInt: ADVERT_INT,
    auth: { type: 'PASS', password: 'l3ctl-ha' },
    ...owned,
    dir: kfiles[node.name]!.dir,
  };
}

/** The NAT rules l3ctl writes for this router (SNAT, FIP DNAT/SNAT), on every node alike. */
function natPayload(): string {
  const lines = [
    '*nat',
    ':l3ctl-PREROUTING - [0:0]',
    ':l3ctl-OUTPUT - [0:0]',
    ':l3ctl-POSTROUTING - [0:0]',
    ':l3ctl-postrouting-bottom - [0:0]',
    ':l3ctl-snat - [0:0]',
    ':l3ctl-float-snat - [0:0]',
    '-A PREROUTING -j l3ctl-PREROUTING',
    '-A OUTPUT -j l3ctl-OUTPUT',
    '-A POSTROUTING -j l3ctl-POSTROUTING',
    '-A POSTROUTING -j l3ctl-postrouting-bottom',
    '-A l3ctl-postrouting-bottom -j l3ctl-snat',
    `-A l3ctl-POSTROUTING ! -i ${qg} ! -o ${qg} -m conntrack ! --ctstate DNAT -j ACCEPT`,
    '-A l3ctl-snat -j l3ctl-float-snat',
    `-A l3ctl-snat -s 198.51.100.0/24 -j SNAT --to-source ${GW_IP}`,
    `-A l3ctl-snat -o ${qg} -j SNAT --to-source ${GW_IP}`,
  ];
  for (const f of fips) {
    lines.push(`-A l3ctl-PREROUTING -d ${f.fip}/32 -j DNAT --to-destination ${f.fixed}`);
    lines.push(`-A l3ctl-OUTPUT -d ${f.fip}/32 -j DNAT --to-destination ${f.fixed}`);
    lines.push(`-A l3ctl-float-snat -s ${f.fixed}/32 -j SNAT --to-source ${f.fip}`);
  }
  return [...lines, 'COMMIT', ''].join('\n');
}

/** The router namespace inside NODE: ports on the node's bridges, the HA address, NAT; no keepalived-owned address. */
function buildRouter(node: Node): void {
  const ha = haDevice(haPort[node.name]!);
  node.exec(['ip', 'netns', 'add', ns]);
  // Forwarding on; IPv6 off so a standby's ports (same MACs as the master's) stay silent on the wire.
  node.exec(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  // Host ends on the node's bridges; router ends already in the router namespace.
  const ports = [
    { dev: qr, tap: `tap${qrPort.slice(0, 11)}`, mac: QR_MAC, bridge: BRIDGES.internal },
    { dev: qg, tap: `tap${qgPort.slice(0, 11)}`, mac: QG_MAC, bridge: BRIDGES.external },
    { dev: ha, tap: `tap${haPort[node.name]!.slice(0, 11)}`, mac: haMac[node.name]!, bridge: BRIDGES.ha },
  ];
  node.exec(['ip', '-batch', '-'], ports.flatMap((p) => [`link add ${p.tap} type veth peer name ${p.dev} netns ${ns}`, `link set ${p.tap} master ${p.bridge} up`]).join('\n') + '\n');
  node.exec(['ip', '-n', ns, '-batch', '-'], [
    'link set lo up',
    ...ports.flatMap((p) => [`link set ${p.dev} address ${p.mac}`, `link set ${p.dev} up`]),
    `addr add ${haAddr[node.name]} brd + scope global dev ${ha}`,
  ].join('\n') + '\n');
  node.exec(['ip', 'netns', 'exec', ns, 'iptables-restore', '-w', '--noflush'], natPayload());
  const dir = join(node.dir, 'ha', routerId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  kfiles[node.name] = keepalivedFiles(dir);
  writeConfig(node);
  writeFileSync(kfiles[node.name]!.notify, NOTIFY_SCRIPT, { mode: 0o755 });
}

function writeConfig(node: Node): void {
  writeFileSync(kfiles[node.name]!.conf, renderKeepalivedConf(instance(node)));
}

const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
const stateOf = (node: Node) => parseHaState(read(kfiles[node.name]!.state));

/** keepalived's pids (parent, VRRP child) from its pid files, when they name a live keepalived on this config. */
function keepalivedPids(node: Node): number[] {
  const f = kfiles[node.name]!;
  return [f.pid, f.vrrpPid]
    .map((p) => pidOf(read(p)))
    .filter((pid): pid is number => pid !== null && isOurKeepalived(read(`/proc/${pid}/cmdline`), f));
}

const hostNamespaces = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
  return Date.now() - t0;
}

let startCount = 0;
/** Starts keepalived in the router namespace of NODE, in the foreground with its log in the config directory. */
async function startKeepalived(node: Node): Promise<number[]> {
  const f = kfiles[node.name]!;
  const log = openSync(join(f.dir, `keepalived.${++startCount}.log`), 'a');
  node.spawn(['ip', 'netns', 'exec', ns, ...keepalivedArgv(f, { foreground: true })], { logFile: log });
  closeSync(log);
  await waitFor(`keepalived on ${node.name}`, () => keepalivedPids(node).length === 2);
  return keepalivedPids(node);
}

/** What keepalived owns, as the kernel shows it in NODE's router namespace. */
function held(node: Node): { qr: boolean; qg: boolean; fip: boolean; defaultRoute: boolean; extraRoute: boolean } {
  const addrs = JSON.parse(node.exec(['ip', '-n', ns, '-j', 'addr', 'show'])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  const has = (dev: string, cidr: string) => addrs.some((l) => l.ifname === dev && l.addr_info.some((a) => `${a.local}/${a.prefixlen}` === cidr));
  const routes = node.exec(['ip', '-n', ns, 'route', 'show']);
  return {
    qr: has(qr, `${VM.gateway}/24`),
    qg: has(qg, `${GW_IP}/24`),
    fip: has(qg, `${FIP}/32`),
    defaultRoute: routes.includes(`default via ${UPSTREAM.ip} dev ${qg}`),
    extraRoute: routes.includes(`${EXTRA_DST} via ${EXTRA_VIA} dev ${qr}`),
  };
}
const ALL = { qr: true, qg: true, fip: true, defaultRoute: true, extraRoute: true };
const NONE = { qr: false, qg: false, fip: false, defaultRoute: false, extraRoute: false };

function logs(node: Node): string {
  const f = kfiles[node.name];
  if (!f) return '';
  const out: string[] = [];
  for (let i = 1; i <= startCount; i++) {
    const l = read(join(f.dir, `keepalived.${i}.log`));
    if (l) out.push(`--- ${node.name} keepalived.${i}.log`, ...l.split('\n').filter((x) => !/gratuitous ARP/.test(x)).slice(-30));
  }
  return out.join('\n');
}

const noKeepalived = () => (spawnSync('keepalived', ['--version']).error ? 'keepalived is not installed' : null);
const unavailable = () => e2eUnavailable() ?? noKeepalived();

/** A test that counts as finished only when it ran to its end. */
const step = (name: string, fn: (t: TestContext) => Promise<void>) =>
  it(name, async (t) => {
    if (!requireE2E(t)) return;
    const why = noKeepalived();
    if (why && process.env.CI) throw new Error(`e2e test cannot run in CI: ${why}`);
    if (why) return void t.skip(why);
    await fn(t);
    finished++;
  });

describe('HA prototype: keepalived VRRP across two simulated nodes', { skip: !!unavailable() && !process.env.CI, timeout: 120_000 }, () => {
  let a: Node;
  let b: Node;
  const up = () => ['ip', 'netns', 'exec', env!.fabric.upstream];
  const vm = () => ['ip', 'netns', 'exec', env!.fabric.vm];

  before(async () => {
    if (unavailable()) return;
    env = await startNodes(['a', 'b']);
    a = env.node('a');
    b = env.node('b');
    env.hostRun(env.fabric.vm, ['ip', 'addr', 'add', `${VM2}/24`, 'dev', 'eth0']);
    for (const n of [a, b]) buildRouter(n);
  });

  after(() => {
    for (const s of servers) s.stop();
    if (env) {
      if (finished < TESTS) for (const n of [a, b]) if (n) console.error(logs(n));
      env.stop();
    }
  });

  step('nodes are private: a router namespace made in one node exists only there; keepalived lives in it', async () => {
    assert.deepEqual(a.namespaces(), [ns]);
    assert.deepEqual(b.namespaces(), [ns]);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(` - tmpfs ${a.ns} `), "the node's /run/netns is not the host's");
    assert.ok(a.run(['findmnt', '-n', '-o', 'SOURCE', '/run/netns']).stdout.split('\n').includes(a.ns), "it is the node's own");
    assert.ok(!hostNamespaces().includes(ns), 'the router namespace is not in the host /run/netns');
    // The HA link works across the fabric: node a's router reaches node b's HA address.
    assert.equal(a.nsRun(ns, ['ping', '-n', '-q', '-c', '1', '-W', '2', haAddr.b!.split('/')[0]!]).code, 0);
    // The rendered config passes keepalived's own check, inside the namespace where its devices exist.
    for (const n of [a, b]) {
      const r = n.nsRun(ns, keepalivedCheckArgv(kfiles[n.name]!));
      assert.equal(r.code, 0, `keepalived -t on ${n.name}: ${r.stderr}`);
    }
    const pids = await startKeepalived(a);
    const routerNs = a.nsRun(ns, ['readlink', '/proc/self/ns/net']).stdout.trim();
    for (const pid of pids) assert.equal(a.run(['readlink', `/proc/${pid}/ns/net`]).stdout.trim(), routerNs, 'keepalived runs in the router namespace of node a');
    assert.notEqual(routerNs, a.run(['readlink', '/proc/self/ns/net']).stdout.trim(), 'which is not the node namespace');
    assert.deepEqual(a.exec(['ip', 'netns', 'pids', ns]).trim().split('\n').map(Number).sort(), [...pids].sort());
  });

  step('one master: exactly one node holds the addresses, FIP and routes; state files say master/backup', async (t) => {
    const ms = await waitFor('a master', () => stateOf(a) === 'master');
    t.diagnostic(`first election on a alone: master after ${ms} ms (3 × advert_int + skew)`);
    await startKeepalived(b);
    await waitFor('b backup', () => stateOf(b) === 'backup');
    await sleep(ADVERT_INT * 1000 * 4); // longer than b's master-down timer: b stays backup
    assert.equal(stateOf(a), 'master');
    assert.equal(stateOf(b), 'backup');
    assert.deepEqual(held(a), ALL);
    assert.deepEqual(held(b), NONE);
  });

  step('traffic: the VM leaves by SNAT and by its FIP; upstream reaches the VM through the FIP', async () => {
    servers.push(await startServer(env!.fabric.upstream, PORT));
    servers.push(await startServer(env!.fabric.vm, PORT));
    assert.equal(connectFrom(env!.fabric.vm, UPSTREAM.ip, PORT, VM2), GW_IP, 'no FIP: SNAT to the gateway address');
    assert.equal(connectFrom(env!.fabric.vm, UPSTREAM.ip, PORT), FIP, 'with a FIP: leaves as the FIP');
    assert.equal(connectFrom(env!.fabric.upstream, FIP, PORT), UPSTREAM.ip, 'upstream reaches the VM through the FIP');
  });

  step('(a) the master node fails (keepalived SIGKILLed, links cut): the backup takes over; the dead master keeps its addresses', async (t) => {
    await echoServer(vm(), ECHO_PORT);
    const session = await tcpSession(up(), FIP, ECHO_PORT);
    const stream = pingStream(up(), FIP);
    await sleep(1000);
    const pids = keepalivedPids(a);
    // A crash, not a stop: frozen first, so neither process runs its SIGTERM
    // handler (a SIGKILL of the parent alone makes the VRRP child hand over
    // gracefully through its parent-death signal).
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    env!.setUplinks('a', false);
    const takeover = await waitFor('b master', () => stateOf(b) === 'master');
    await sleep(1000);
    const r = await stream.stop();
    await sleep(6000 - Math.min(6000, takeover + 1000)); // TCP retransmits back off: give it time to resume
    const s = await session.stop();
    t.diagnostic(`node failure: b notified master ${takeover} ms after the crash; ping gap ${r.maxGapMs} ms, ${r.lost}/${r.sent} lost, ${r.dups} dup (goal ≤ 5000 ms)`);
    t.diagnostic(`node failure: TCP session through the FIP: ${s.echoes} echoes, longest gap ${s.maxGapMs} ms, ended: ${s.ended ?? 'no'}`);
    assert.ok(await waitGone(pids), 'a keepalived gone');
    assert.ok(r.maxGapMs <= 5000, `gap ${r.maxGapMs} ms`);
    assert.equal(s.ended, null, 'the TCP session through the FIP survived');
    assert.ok(s.maxGapMs < 10_000);
    assert.deepEqual(held(b), ALL);
    // Nobody took them away: a killed keepalived leaves its addresses behind.
    assert.deepEqual(held(a), ALL, 'a dead keepalived leaves its addresses behind');
    assert.equal(stateOf(a), 'master', "the dead master's state file still says master: liveness must be checked");
  });

  step('(c) the old master comes back: both hold the addresses until its keepalived restarts, drops them and stays backup', async (t) => {
    const stream = pingStream(up(), FIP);
    await sleep(500);
    env!.setUplinks('a', true);
    await sleep(1500);
    assert.deepEqual(held(a), ALL, 'back on the wire with the stale addresses');
    assert.deepEqual(held(b), ALL);
    await startKeepalived(a);
    const cleaned = await waitFor('a cleaned', () => JSON.stringify(held(a)) === JSON.stringify(NONE));
    await waitFor('a backup', () => stateOf(a) === 'backup');
    t.diagnostic(`restart on a: stale addresses and routes removed ${cleaned} ms after start (keepalived removes its VIPs entering BACKUP)`);
    await sleep(ADVERT_INT * 1000 * 4);
    const r = await stream.stop();
    t.diagnostic(`return of a (1.5 s with both holding, then the restart): ping gap ${r.maxGapMs} ms, ${r.lost}/${r.sent} lost, ${r.dups} dup`);
    assert.equal(stateOf(a), 'backup');
    assert.equal(stateOf(b), 'master');
    assert.deepEqual(held(a), NONE);
    assert.deepEqual(held(b), ALL);
    assert.ok(r.maxGapMs <= 1500, `no outage while a returns: gap ${r.maxGapMs} ms`);
  });

  step('a new FIP on a running HA router: NAT on both nodes, config rewritten, SIGHUP; no failover', async (t) => {
    const stream = pingStream(up(), FIP);
    await sleep(500);
    fips.push({ fip: FIP2, fixed: VM2 });
    for (const n of [a, b]) {
      n.exec(['ip', 'netns', 'exec', ns, 'iptables-restore', '-w', '--noflush'], natPayload());
      writeConfig(n);
      const [parent] = keepalivedPids(n);
      process.kill(parent!, 'SIGHUP');
    }
    const ms = await waitFor('FIP2 on b', () => b.exec(['ip', '-n', ns, '-br', 'addr', 'show', qg]).includes(`${FIP2}/32`));
    await sleep(1000);
    const r = await stream.stop();
    t.diagnostic(`reload: new FIP on the master ${ms} ms after SIGHUP; ping gap on the old FIP ${r.maxGapMs} ms`);
    assert.equal(stateOf(b), 'master');
    assert.ok(!a.exec(['ip', '-n', ns, '-br', 'addr', 'show', qg]).includes(FIP2), 'the backup does not take it');
    assert.equal(connectFrom(env!.fabric.upstream, FIP2, PORT), UPSTREAM.ip);
    assert.equal(connectFrom(env!.fabric.vm, UPSTREAM.ip, PORT, VM2), FIP2);
    assert.ok(r.maxGapMs <= 1000, `reload does not disturb: gap ${r.maxGapMs} ms`);
  });

  step('(b) graceful hand-over: SIGTERM on the master (priority-0 advert), then it rejoins as backup', async (t) => {
    const session = await tcpSession(up(), FIP, ECHO_PORT);
    const stream = pingStream(up(), FIP);
    await sleep(1000);
    const pids = keepalivedPids(b);
    process.kill(pids[0]!, 'SIGTERM');
    const takeover = await waitFor('a master', () => stateOf(a) === 'master');
    assert.ok(await waitGone(pids), 'b keepalived stopped');
    assert.deepEqual(held(b), NONE, 'a stopped keepalived removes its addresses');
    await startKeepalived(b);
    await waitFor('b backup', () => stateOf(b) === 'backup');
    await sleep(1500);
    const r = await stream.stop();
    const s = await session.stop();
    t.diagnostic(`hand-over: a notified master ${takeover} ms after SIGTERM; ping gap ${r.maxGapMs} ms, ${r.lost}/${r.sent} lost (goal ≤ 1500 ms)`);
    t.diagnostic(`hand-over: TCP session through the FIP: ${s.echoes} echoes, longest gap ${s.maxGapMs} ms, ended: ${s.ended ?? 'no'}`);
    assert.ok(r.maxGapMs <= 1500, `gap ${r.maxGapMs} ms`);
    assert.equal(s.ended, null);
    await sleep(ADVERT_INT * 1000 * 4);
    assert.equal(stateOf(a), 'master');
    assert.equal(stateOf(b), 'backup');
    assert.deepEqual(held(a), ALL);
    assert.deepEqual(held(b), NONE);
  });

  step('(b2) graceful hand-over without a restart: the standby track file faults the master, then clears to backup', async (t) => {
    const pids = keepalivedPids(a);
    const stream = pingStream(up(), FIP);
    await sleep(1000);
    writeFileSync(kfiles.a!.standby, '1\n');
    const takeover = await waitFor('b master', () => stateOf(b) === 'master');
    assert.equal(stateOf(a), 'fault');
    assert.deepEqual(held(a), NONE, 'a faulted master drops its addresses at once');
    writeFileSync(kfiles.a!.standby, '0\n');
    await waitFor('a backup', () => stateOf(a) === 'backup');
    await sleep(1000);
    const r = await stream.stop();
    t.diagnostic(`standby file: b notified master ${takeover} ms after the write; ping gap ${r.maxGapMs} ms, ${r.lost}/${r.sent} lost (goal ≤ 1500 ms)`);
    assert.ok(r.maxGapMs <= 1500, `gap ${r.maxGapMs} ms`);
    await sleep(ADVERT_INT * 1000 * 4);
    assert.deepEqual(keepalivedPids(a), pids, 'the same keepalived kept running');
    assert.equal(stateOf(a), 'backup');
    assert.equal(stateOf(b), 'master');
    assert.deepEqual(held(a), NONE);
    assert.deepEqual(held(b), ALL);
  });

  step('stop() leaves nothing: no node namespace, no keepalived, no holder', async () => {
    const pids = [...keepalivedPids(a), ...keepalivedPids(b)];
    const holders = [a.pid, b.pid];
    assert.equal(pids.length, 4);
    env!.stop();
    assert.ok(await waitGone([...pids, ...holders]), 'processes gone');
    const left = hostNamespaces().filter((n) => n.startsWith(env!.tag));
    assert.deepEqual(left, [], 'no fabric, host or node namespace left');
    assert.ok(!existsSync(a.dir) && !existsSync(b.dir));
    assert.ok(!holders.some(alive));
  });
});
