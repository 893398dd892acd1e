// HA routers with l3ctl itself on two simulated nodes (test/helpers/nodes.ts):
// the same router on both, keepalived (run by l3ctl as a per-router daemon)
// electing the one that holds its addresses. Proves one master, SNAT and FIP
// traffic through it, a crash of the master (both keepalived processes
// killed, the node cut off) and a `router standby`, each measured with a
// 0.1 s ping stream to the floating IP; the old master back as backup after
// `agent sync`; a node address collision refused; `router delete` leaving no
// keepalived.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { e2eUnavailable, requireE2E } from '../helpers/e2e.js';
import { startNodes, waitGone, UPSTREAM, VM, type Node, type Nodes } from '../helpers/nodes.js';
import { connectFrom, startServer, type Server } from '../helpers/peer.js';
import { pingStream } from '../helpers/stream.js';
import { FIP, GW_IP, HELD_ON_MASTER as ALL, buildHaRouter, copyRouter, crash, haView, ok, stored, waitFor } from '../helpers/ha-router.js';

const NODE_A = '169.254.192.1';
const VM2 = '198.51.100.6'; // a second address on the VM host, without a FIP: leaves by SNAT
const PORT = 7021;
const ADVERT_INT = 1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const noKeepalived = () => (spawnSync('keepalived', ['--version']).error ? 'keepalived is not installed' : null);
const unavailable = () => e2eUnavailable() ?? noKeepalived();

/** An e2e step that also needs keepalived: skipped without it outside CI, failed in CI. */
const step = (name: string, fn: (t: TestContext) => Promise<void>) =>
  it(name, async (t) => {
    if (!requireE2E(t)) return;
    const why = noKeepalived();
    if (why && process.env.CI) throw new Error(`e2e test cannot run in CI: ${why}`);
    if (why) return void t.skip(why);
    await fn(t);
  });

describe('HA router on two nodes: keepalived by l3ctl, failover measured', { skip: !!unavailable() && !process.env.CI, timeout: 240_000 }, () => {
  let env: Nodes | null = null;
  let a: Node;
  let b: Node;
  let v: ReturnType<typeof haView>;
  const servers: Server[] = [];
  const up = () => ['ip', 'netns', 'exec', env!.fabric.upstream];
  const stateOf = (n: Node) => v.stateOf(n);
  const pids = (n: Node) => v.pids(n);
  const held = (n: Node) => v.held(n);
  const haStateCli = async (n: Node) => (await ok(n, ['router', 'list', '-c', 'ha_state', '-f', 'value'])).stdout.trim();

  before(async () => {
    if (unavailable()) return;
    env = await startNodes(['a', 'b']);
    a = env.node('a');
    b = env.node('b');
    env.hostRun(env.fabric.vm, ['ip', 'addr', 'add', `${VM2}/24`, 'dev', 'eth0']);
    v = haView(await buildHaRouter(a, { nodeAddress: NODE_A, advertInt: ADVERT_INT, password: 'l3ctl-ha' }));
    // Node b derives its HA address from the machine id (the harness's nodes share the host's).
    await copyRouter(a, b);
    servers.push(await startServer(env.fabric.upstream, PORT), await startServer(env.fabric.vm, PORT));
  });

  after(() => {
    for (const s of servers) s.stop();
    env?.stop();
  });

  step('ha_network unset, or not a network: a clear error at router add --ha, nothing stored', async () => {
    const c = env!.node('a');
    const r = await c.l3ctl(['router', 'add', 'r9', '--ha'], { store: `${c.dir}/other.json` });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^l3ctl: error: ha_network is not set: an HA router needs the internal network the nodes share for VRRP\nhint: l3ctl network add ha --cidr 169\.254\.192\.0\/18/);
    assert.ok(!existsSync(`${c.dir}/other.json`));
    const bad = await a.l3ctl(['config', 'set', 'ha_network', 'priv']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ha_network 'priv' is not dedicated to HA: router 'r1' has an interface on it/);
  });

  step('keepalived.conf holds the VRRP password: readable by root only, as the store', async () => {
    for (const n of [a, b]) {
      const conf = `${v.dir(n)}/keepalived.conf`;
      assert.match(readFileSync(conf, 'utf8'), /auth_pass l3ctl-ha/);
      assert.equal((statSync(conf).mode & 0o777).toString(8), '600', conf);
    }
  });

  step('the same router on both nodes: one VRRP id; exactly one node holds the addresses', async (t) => {
    const [sa, sb] = [stored(a).routers[0]!, stored(b).routers[0]!];
    assert.equal(sb.id, sa.id);
    assert.deepEqual([sa.ha, sa.ha_vr_id, sb.ha, sb.ha_vr_id], [true, 1, true, 1]);
    assert.deepEqual(a.namespaces(), [v.ns]);
    assert.deepEqual(b.namespaces(), [v.ns]);
    const ms = await waitFor('a master, b backup', () => stateOf(a) === 'master' && stateOf(b) === 'backup');
    t.diagnostic(`a master, b backup ${ms} ms after the setup`);
    await sleep(ADVERT_INT * 4000); // longer than b's master-down timer: b stays backup
    assert.deepEqual([await haStateCli(a), await haStateCli(b)], ['master', 'backup']);
    assert.deepEqual(held(a), ALL);
    assert.deepEqual(held(b), [], 'a standby holds none of them');
    // Each node its own HA port and address, on the HA network's bridge.
    const haAddr = (n: Node) => (JSON.parse(n.exec(['ip', '-n', v.ns, '-j', 'addr', 'show'])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[])
      .filter((l) => l.ifname.startsWith('ha-')).flatMap((l) => l.addr_info.filter((x) => x.prefixlen === 18).map((x) => x.local));
    assert.deepEqual(haAddr(a), [NODE_A]);
    assert.equal(haAddr(b).length, 1);
    assert.notEqual(haAddr(b)[0], NODE_A);
    t.diagnostic(`b's HA address, derived from the machine id: ${haAddr(b)[0]}`);
    // IPv6 off: the standby's ports, with the master's MACs, stay silent.
    assert.equal(b.nsRun(v.ns, ['sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6']).stdout.trim(), '1');
    // NAT on both nodes.
    for (const n of [a, b]) assert.match(n.nsRun(v.ns, ['iptables-save', '-t', 'nat']).stdout, new RegExp(`-A l3ctl-PREROUTING -d ${FIP}/32 -j DNAT --to-destination ${VM.ip}`));
    for (const n of [a, b]) {
      const c = await n.l3ctl(['agent', 'check']);
      assert.equal(c.code, 0, `agent check on ${n.name}: ${c.stdout}${c.stderr}`);
    }
    const show = JSON.parse((await ok(b, ['router', 'show', 'r1', '-f', 'json'])).stdout) as { ha: boolean; ha_state: string; ha_vr_id: number; drift: unknown[] };
    assert.deepEqual([show.ha, show.ha_state, show.ha_vr_id, show.drift], [true, 'backup', 1, []]);
    // diagnose knows a backup holds none of the router's addresses.
    const diag = await b.l3ctl(['diagnose', 'router', 'r1']);
    assert.equal(diag.code, 0, diag.stdout + diag.stderr);
    assert.match(diag.stdout, /backup on this node, VRRP id 1/);
    const status = JSON.parse((await ok(a, ['agent', 'status', '-f', 'json'])).stdout) as { ha_routers: { router: string; ha_state: string; ha_vr_id: number }[] };
    assert.deepEqual(status.ha_routers.map((x) => [x.router, x.ha_state, x.ha_vr_id]), [['r1', 'master', 1]]);
    // For people: the HA column says keepalived's word, and the live status knows a backup holds none of the addresses.
    for (const [n, role] of [[a, 'master'], [b, 'backup']] as const) {
      assert.match((await ok(n, ['router', 'list'])).stdout, new RegExp(`^Name .* HA\nr1 .* ${role}$`, 'm'), n.name);
      const long = (await ok(n, ['router', 'list', '--long'])).stdout;
      assert.match(long, new RegExp(`^r1 .* ${role} +\\S+ +ACTIVE$`, 'm'), `${n.name}: ${long}`);
      const text = (await ok(n, ['router', 'show', 'r1'])).stdout;
      assert.match(text, new RegExp(`^ha +${role} \\(VRRP id 1, ha-\\S+ 169\\.254\\.`, 'm'), `${n.name}: ${text}`);
      assert.match(text, /^drift: none$/m, `${n.name}: ${text}`);
    }
  });

  step('traffic through the master: the VM leaves by SNAT and by its FIP; upstream reaches the VM through the FIP', async () => {
    assert.equal(connectFrom(env!.fabric.vm, UPSTREAM.ip, PORT, VM2), GW_IP, 'no FIP: SNAT to the gateway address');
    assert.equal(connectFrom(env!.fabric.vm, UPSTREAM.ip, PORT), FIP, 'with a FIP: leaves as the FIP');
    assert.equal(connectFrom(env!.fabric.upstream, FIP, PORT), UPSTREAM.ip, 'upstream reaches the VM through the FIP');
  });

  step('the master crashes (keepalived SIGKILLed, node cut off): b takes over; a is drift until agent sync, then backup', async (t) => {
    const stream = pingStream(up(), FIP);
    await sleep(1000);
    const dead = pids(a);
    assert.equal(dead.length, 2, 'keepalived and its VRRP child');
    crash(env!, a, dead);
    const takeover = await waitFor('b master', () => stateOf(b) === 'master');
    await sleep(1000);
    const r = await stream.stop();
    t.diagnostic(`node failure: b notified master ${takeover} ms after the crash; ping gap ${r.maxGapMs} ms, ${r.lost}/${r.sent} lost (goal ≤ 5000 ms with advert_int ${ADVERT_INT})`);
    assert.ok(await waitGone(dead));
    assert.ok(r.maxGapMs <= 5000, `gap ${r.maxGapMs} ms`);
    assert.deepEqual(held(b), ALL);
    assert.deepEqual(held(a), ALL, "a dead keepalived leaves its addresses");
    // Node a: keepalived dead is drift (exit 3), and so are the addresses it left.
    const check = await a.l3ctl(['agent', 'check', '-f', 'json']);
    assert.equal(check.code, 3, check.stderr);
    const kinds = (JSON.parse(check.stdout) as { kind: string; object: string }[]).map((f) => `${f.kind} ${f.object}`);
    assert.ok(kinds.includes('daemon-dead keepalived'), kinds.join(', '));
    assert.ok(kinds.includes(`stale-ha-address ${FIP}/32 on qg-${stored(a).routers[0]!.gateway!.id.slice(0, 11)}`), kinds.join(', '));
    assert.equal(await haStateCli(a), 'stopped', "the dead master's state file still says master: l3ctl does not believe it");
    // Back on the wire, then agent sync: the stale addresses go, keepalived starts, and stays backup (nopreempt).
    env!.setUplinks('a', true);
    const stream2 = pingStream(up(), FIP);
    await sleep(500);
    await ok(a, ['agent', 'sync']);
    await waitFor('a backup', () => stateOf(a) === 'backup');
    await sleep(ADVERT_INT * 4000);
    const r2 = await stream2.stop();
    t.diagnostic(`return of a (agent sync): ping gap ${r2.maxGapMs} ms, ${r2.lost}/${r2.sent} lost`);
    assert.deepEqual([stateOf(a), stateOf(b)], ['backup', 'master']);
    assert.deepEqual(held(a), []);
    assert.deepEqual(held(b), ALL);
    assert.equal(pids(a).length, 2);
    assert.equal((await a.l3ctl(['agent', 'check'])).code, 0);
    assert.ok(r2.maxGapMs <= 1500, `no outage while a returns: gap ${r2.maxGapMs} ms`);
  });

  step('router standby on the master: the peer takes over within about one advert interval; b stays backup', async (t) => {
    const stream = pingStream(up(), FIP);
    await sleep(1000);
    const t0 = Date.now();
    const r = await ok(b, ['router', 'standby', 'r1']);
    const ms = Date.now() - t0;
    assert.match(r.stderr, /^router r1: handed over \(addresses released in \d+ ms\); this node is backup$/m);
    await waitFor('a master', () => stateOf(a) === 'master');
    await sleep(1500);
    const s = await stream.stop();
    t.diagnostic(`router standby: took ${ms} ms; ping gap ${s.maxGapMs} ms, ${s.lost}/${s.sent} lost (goal ≤ 1500 ms)`);
    assert.ok(s.maxGapMs <= 1500, `gap ${s.maxGapMs} ms`);
    await sleep(ADVERT_INT * 4000);
    assert.deepEqual([stateOf(a), stateOf(b)], ['master', 'backup']);
    assert.deepEqual(held(a), ALL);
    assert.deepEqual(held(b), []);
    assert.equal(connectFrom(env!.fabric.upstream, FIP, PORT), UPSTREAM.ip);
    const again = await ok(b, ['router', 'standby', 'r1']);
    assert.match(again.stderr, /router r1 is backup on this node: nothing to hand over/);
    for (const n of [a, b]) assert.equal((await n.l3ctl(['agent', 'check'])).code, 0);
  });

  step("a node address collision (b told to use a's): refused, the store and b's keepalived as they were", async () => {
    const before = readFileSync(b.store, 'utf8');
    const kpids = pids(b);
    const r = await b.l3ctl(['config', 'set', 'ha_node_address', NODE_A]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^l3ctl: error: HA address ${NODE_A.replace(/\./g, '\\.')} of this node is already used on the HA network \\(answered by fa:17:c0:01:[0-9a-f:]{5}\\): each node needs its own$`, 'm'));
    assert.equal(readFileSync(b.store, 'utf8'), before);
    await waitFor('b backup again', () => stateOf(b) === 'backup' && pids(b).length === 2);
    assert.notDeepEqual(pids(b), kpids, 'restarted on its HA port, plugged again by the rollback');
    assert.equal((await b.l3ctl(['agent', 'check'])).code, 0);
    assert.equal(stateOf(a), 'master');
  });

  step('HA routers are IPv4 only: an IPv6 address is exit 2 with the store unchanged; a dual-stack network gives the IPv4 subnet alone; IPv6 stays off', async () => {
    await ok(a, ['subnet', 'add', 'priv', '2001:db8:1::/64', '--ipv6-ra-mode', 'slaac', '--ipv6-address-mode', 'slaac']);
    const before = readFileSync(a.store, 'utf8');
    const refused = await a.l3ctl(['interface', 'add', 'r1', 'priv', '--ip', '2001:db8:1::1']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^l3ctl: error: interface IP 2001:db8:1::1 is IPv6 and router 'r1' is an HA router: HA routers are IPv4 only/m);
    assert.equal(readFileSync(a.store, 'utf8'), before, 'store unchanged');
    // Again without --ip: the port keeps its IPv4 address and gets no IPv6 one, said in a warning.
    const again = await ok(a, ['interface', 'add', 'r1', 'priv']);
    assert.match(again.stderr, /warning: router 'r1' gets no address on 2001:db8:1::\/64: HA routers are IPv4 only/);
    const r = stored(a).routers[0]!;
    assert.deepEqual(r.interfaces[0]!.fixed_ips.map((f) => f.ip_address), [VM.gateway]);
    assert.equal(a.exec(['ip', 'netns', 'exec', v.ns, 'sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6']).trim(), '1');
    assert.ok(!existsSync(`${v.dir(a)}/radvd.conf`), 'no radvd for an HA router');
    assert.equal((await a.l3ctl(['agent', 'check'])).code, 0);
    await ok(a, ['subnet', 'delete', '2001:db8:1::/64']);
  });

  step('router delete on the master: keepalived stopped, files gone; the peer takes over; delete there too', async (t) => {
    const apids = pids(a);
    const stream = pingStream(up(), FIP);
    await sleep(500);
    await ok(a, ['router', 'delete', 'r1', '--yes']);
    assert.ok(await waitGone(apids), 'no keepalived left on a');
    assert.deepEqual(a.namespaces(), []);
    assert.ok(!existsSync(v.dir(a)), 'its directory is gone');
    const ms = await waitFor('b master', () => stateOf(b) === 'master');
    await sleep(1000);
    const s = await stream.stop();
    t.diagnostic(`router delete on the master: b master ${ms} ms later; ping gap ${s.maxGapMs} ms`);
    assert.deepEqual(held(b), ALL);
    const bpids = pids(b);
    await ok(b, ['router', 'delete', 'r1', '--yes']);
    assert.ok(await waitGone(bpids));
    assert.deepEqual(b.namespaces(), []);
    assert.ok(!existsSync(v.dir(b)));
  });
});
