// HA routers in the plan, against the strict fake system: the HA port with
// this node's address (and its duplicate address detection), keepalived as
// a per-router daemon (started with its notify script, reloaded on a change,
// restarted after a crash with its pid files cleared, stopped first on
// teardown), and keepalived's addresses and routes left out of l3ctl's diff
// unless a node that is not the master holds them. No root.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { effectiveConfig } from '../../src/model/config.js';
import { ApplyError, UsageError } from '../../src/model/errors.js';
import { allocateVrId, checkHa, haNetworkOf, haNodeAddress, haPortIdentity, setRouterHa } from '../../src/model/ha.js';
import type { State } from '../../src/model/types.js';
import { desiredRouter } from '../../src/agent/desired.js';
import { routerFilesDir } from '../../src/agent/daemons.js';
import { haReport, standbyRouter } from '../../src/agent/ha.js';
import { diagnoseRouter } from '../../src/agent/diagnose.js';
import { observeStale, removeStale } from '../../src/agent/cleanup.js';
import { applyPlans, nodeIdentity, planRouterPass } from '../../src/agent/pass.js';
import { findingsOf, type Plan } from '../../src/agent/steps.js';
import { dadRepliers } from '../../src/linux/apply.js';
import { keepalivedFiles, NOTIFY_SCRIPT } from '../../src/linux/keepalived.js';
import { FakeSystem, fakeFor } from '../helpers/fakesys.js';
import { net as oneSubnet } from '../helpers/one-subnet.js';
import { GWP, HOST, NS, QG, QR, R, converge, replan, world, type WorldOptions } from '../helpers/world.js';

const HANET = '77777777-aaaa-4aaa-8aaa-000000000077';
const NODE_A = '169.254.192.1';
const ROUTE: [string, string] = ['192.0.2.0/24', '198.51.100.254'];
const FIP: [string, string] = ['203.0.113.20', '198.51.100.5'];
const FULL: WorldOptions = { gateway: true, port: true, fips: [FIP], routes: [ROUTE] };

/** world() with an HA network and r1 an HA router with VRRP id 1. */
function haWorld(opts: WorldOptions = FULL, config: Record<string, string> = {}): State {
  const s = world({ ...opts, config: { ha_network: 'ha', ha_node_address: NODE_A, ha_vrrp_advert_int: '1', ...opts.config, ...config } });
  s.networks.push(oneSubnet({ id: HANET, name: 'ha', cidr: '169.254.192.0/18', gateway_ip: null, external: false, bridge: 'br-ha' }));
  s.routers[0]!.ha = true;
  s.routers[0]!.ha_vr_id = 1;
  return s;
}

const NODE_KEY = nodeIdentity(null, '/fake/l3ctl/state.json').key;
const HA_PORT = haPortIdentity(R, NODE_A, NODE_KEY);
const HA = `ha-${HA_PORT.id.slice(0, 11)}`;
const DIR = routerFilesDir('/fake/l3ctl/state.json', R);
const KF = keepalivedFiles(DIR);
const kinds = (plans: Plan[]) => plans.flatMap(findingsOf).map((x) => `${x.kind} ${x.object}`);
const cmds = (f: FakeSystem) => f.calls.filter((c) => !c.read).map((c) => c.argv.join(' '));
const addrs = (f: FakeSystem, dev: string) => f.link(NS, dev)!.addrs.map((a) => `${a.local}/${a.prefixlen}`).sort();
const pidOf = (f: FakeSystem, file: string) => Number(f.files.files.get(file)!.trim());

/** What keepalived does on becoming master: its addresses and routes (the operator's grammar of the fake stands in for it). */
async function becomeMaster(f: FakeSystem) {
  f.files.files.set(KF.state, 'master\n');
  for (const [a, dev] of [['169.254.0.1/24', HA], ['198.51.100.1/24', QR], ['203.0.113.10/24', QG], ['203.0.113.20/32', QG]] as const) await f.sh(['ip', '-n', NS, 'addr', 'add', a, 'dev', dev]);
  await f.sh(['ip', '-n', NS, 'route', 'add', 'default', 'via', '203.0.113.1', 'dev', QG]);
  await f.sh(['ip', '-n', NS, 'route', 'add', ROUTE[0], 'via', ROUTE[1], 'dev', QR]);
}

async function converged(f: FakeSystem, s: State): Promise<Plan[]> {
  const plans = await converge(f, s);
  assert.deepEqual(kinds(await replan(f, s)), [], 'planning again right after gives an empty plan');
  return plans;
}

describe('HA: store, config and identity (pure)', () => {
  it('the HA network must be set, internal, and used by HA ports only: clear errors', () => {
    const s = haWorld();
    const cfg = (c: Record<string, string>) => effectiveConfig({ ...s.config, ...c });
    assert.equal(haNetworkOf(s, cfg({})).id, HANET);
    assert.equal(haNetworkOf(s, cfg({ ha_network: HANET })).name, 'ha', 'by id too');
    const err = (c: Record<string, string | undefined>, re: RegExp) => {
      const config = effectiveConfig(Object.fromEntries(Object.entries({ ...s.config, ...c }).filter(([, v]) => v !== undefined)) as Record<string, string>);
      assert.throws(() => checkHa(s, config), (e: unknown) => e instanceof UsageError && e.exitCode === 2 && re.test(e.message) && !!e.hint);
    };
    err({ ha_network: undefined }, /^ha_network is not set: an HA router needs the internal network the nodes share for VRRP$/);
    err({ ha_network: 'nope' }, /^ha_network 'nope' is not a network of this store/);
    err({ ha_network: 'ext' }, /^ha_network 'ext' is an external network/);
    err({ ha_network: 'priv' }, /^ha_network 'priv' is not dedicated to HA: router 'r1' has an interface on it$/);
    err({ use_namespaces: 'false', router_id: R }, /^HA router 'r1' needs use_namespaces true: an HA router lives in a namespace of its own$/);
    err({ ha_node_address: '192.0.2.9' }, /^ha_node_address 192.0.2.9 is not a host address of ha_network 'ha' \(169.254.192.0\/18\): expected one from 169.254.192.1 to 169.254.255.254$/);
    // A store without HA routers does not care.
    const legacy = world();
    checkHa(legacy, effectiveConfig({}));
  });

  it('the node address: ha_node_address, else derived from the machine id (stable, in range, never the gateway IP)', () => {
    const net = oneSubnet({ id: HANET, name: 'ha', cidr: '169.254.192.0/18', gateway_ip: null, external: false, bridge: null });
    assert.equal(haNodeAddress({ ha_node_address: '169.254.200.7' }, net, null), '169.254.200.7');
    const ids = Array.from({ length: 50 }, (_, i) => createHash('md5').update(String(i)).digest('hex'));
    const derived = ids.map((id) => haNodeAddress({ ha_node_address: null }, net, `${id}\n`));
    assert.deepEqual(derived, ids.map((id) => haNodeAddress({ ha_node_address: null }, net, id)), 'the same machine, the same address');
    for (const a of derived) assert.match(a, /^169\.254\.(19[2-9]|2[0-5]\d)\.\d+$/);
    assert.ok(new Set(derived).size >= 49, 'spread over the range');
    const tiny = oneSubnet({ id: HANET, name: 'ha', cidr: '169.254.192.0/30', gateway_ip: '169.254.192.1', external: false, bridge: null });
    assert.ok(ids.every((id) => haNodeAddress({ ha_node_address: null }, tiny, id) === '169.254.192.2'), 'the gateway IP is skipped');
    assert.throws(() => haNodeAddress({ ha_node_address: null }, net, null), /no machine id to derive it from/);
  });

  it('the HA port: a stable id per router, node address and node; its MAC carries the node address', () => {
    const node = nodeIdentity('3d1219c7aaaabbbbccccddddeeeeffff\n', '/var/lib/l3ctl/state.json');
    assert.deepEqual(node, { machineId: '3d1219c7aaaabbbbccccddddeeeeffff', key: '3d1219c7aaaabbbbccccddddeeeeffff:/var/lib/l3ctl/state.json' });
    const p = haPortIdentity(R, NODE_A, node.key);
    assert.deepEqual(haPortIdentity(R, NODE_A, node.key), p);
    assert.match(p.id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(p.mac, /^fa:17:c0:01:[0-9a-f]{2}:[0-9a-f]{2}$/, '169.254.192.1: c0:01');
    assert.notEqual(haPortIdentity(R, '169.254.192.2', node.key).id, p.id, 'another address, another port');
    assert.match(haPortIdentity(R, '169.254.192.2', node.key).mac, /^fa:17:c0:02:/);
    // Two nodes that drew the same address still differ: arping -D ignores answers from its own MAC.
    const other = haPortIdentity(R, NODE_A, nodeIdentity('0123456789abcdef0123456789abcdef', '/var/lib/l3ctl/state.json').key);
    assert.notEqual(other.mac, p.mac);
    assert.notEqual(other.id, p.id);
  });

  it('VRRP ids: the lowest free; HA only while the router has no ports', () => {
    const s = haWorld({});
    const r2 = { ...structuredClone(s.routers[0]!), id: '88888888-0000-4000-8000-000000000088', name: 'r2', ha: false, ha_vr_id: null };
    s.routers.push(r2);
    assert.equal(allocateVrId(s.routers), 2);
    assert.equal(setRouterHa(s, r2, true), true);
    assert.deepEqual([r2.ha, r2.ha_vr_id], [true, 2]);
    assert.equal(setRouterHa(s, r2, true), false, 'already HA: nothing changes');
    assert.equal(setRouterHa(s, r2, false), true);
    assert.deepEqual([r2.ha, r2.ha_vr_id], [false, null]);
    const busy = haWorld();
    assert.throws(() => setRouterHa(busy, busy.routers[0]!, false), (e: unknown) => e instanceof UsageError && /^cannot make router 'r1' a legacy \(non-HA\) router while it has ports$/.test(e.message));
  });

  it("desired: the HA port on the HA network; keepalived owns the router's addresses, FIP and routes", () => {
    const s = haWorld();
    const d = desiredRouter(s, effectiveConfig(s.config), s.routers[0]!, nodeIdentity(null, '/fake/l3ctl/state.json'));
    assert.deepEqual(d.ports.map((p) => `${p.kind} ${p.device} ${p.addrs.map((a) => `${a.ip}/${a.prefixlen}`).join(' ')} ${p.bridge}`), [
      `internal ${QR} 198.51.100.1/24 brq22222222-bb`,
      `gateway ${QG} 203.0.113.10/24 brq11111111-aa`,
      `ha ${HA} ${NODE_A}/18 br-ha`,
    ]);
    assert.equal(d.ha!.port.mac, HA_PORT.mac);
    assert.deepEqual(d.routes.map((r) => `${r.dst} ${r.dev}`), [`169.254.192.0/18 ${HA}`], "l3ctl's own: the HA port's connected route only");
    assert.deepEqual(d.ha!.owned.map((a) => `${a.cidr} ${a.dev}`), [`169.254.0.1/24 ${HA}`, `198.51.100.1/24 ${QR}`, `203.0.113.10/24 ${QG}`, `203.0.113.20/32 ${QG}`]);
    assert.deepEqual(d.ha!.ownedRoutes, ['0.0.0.0/0', '192.0.2.0/24']);
    // NAT as for a legacy router: in place on every node.
    assert.deepEqual(d.nat.floatingIps, [{ fip: FIP[0], fixed: FIP[1] }]);
    const k = d.daemons.find((x) => x.kind === 'keepalived')!;
    const conf = typeof k.config === 'string' ? k.config : k.config(DIR);
    assert.match(conf, new RegExp(`interface ${HA}\\n    virtual_router_id 1\\n`));
    assert.match(conf, /advert_int 1\n/);
    assert.match(conf, new RegExp(`virtual_routes \\{\\n        0\\.0\\.0\\.0/0 via 203\\.0\\.113\\.1 dev ${QG}\\n        192\\.0\\.2\\.0/24 via 198\\.51\\.100\\.254 dev ${QR}\\n`));
    assert.ok(conf.includes(`file "${DIR}/standby"`) && conf.includes(`notify_master "${DIR}/notify.sh master"`));
    assert.doesNotMatch(conf, /authentication/, 'no password: no authentication');
    const auth = desiredRouter(s, effectiveConfig({ ...s.config, ha_vrrp_auth_password: 's3cret' }), s.routers[0]!).daemons.find((x) => x.kind === 'keepalived')!;
    assert.match((auth.config as (d: string) => string)(DIR), /auth_type PASS\n        auth_pass s3cret/);
  });

  it('arping -D output: the MACs that answered', () => {
    assert.deepEqual(dadRepliers('ARPING 169.254.192.9 from 0.0.0.0 v0\nUnicast reply from 169.254.192.9 [16:D1:90:D4:C7:61]  0.526ms\nSent 1 probes (1 broadcast(s))\nReceived 1 response(s)\n'), ['16:d1:90:d4:c7:61']);
    assert.deepEqual(dadRepliers('Sent 1 probes (1 broadcast(s))\nReceived 0 response(s)\n'), []);
  });
});

describe('HA: plan + apply against the fake kernel', () => {
  it('a new HA router: IPv6 off, ports plugged without addresses, the HA address (with DAD), NAT, keepalived with its notify script', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    assert.equal(f.sysctl(NS, 'net.ipv6.conf.all.disable_ipv6'), '1');
    assert.equal(f.sysctl(NS, 'net.ipv6.conf.default.disable_ipv6'), '1');
    assert.deepEqual(addrs(f, QR), [], 'keepalived adds them on the master');
    assert.deepEqual(addrs(f, QG), []);
    assert.equal(f.link(NS, QR)!.up, true);
    assert.deepEqual(addrs(f, HA), [`${NODE_A}/18`]);
    assert.equal(f.link(NS, HA)!.mac, HA_PORT.mac);
    assert.equal(f.link(HOST, `tap${HA_PORT.id.slice(0, 11)}`)!.master, 'br-ha');
    assert.deepEqual(f.routes(NS), [`169.254.192.0/18 dev ${HA} proto kernel scope link src ${NODE_A}`]);
    assert.deepEqual(f.dadProbes, [{ ns: NS, dev: HA, ip: NODE_A }]);
    assert.deepEqual(f.arpings, [], 'no gratuitous ARP from l3ctl: keepalived sends them');
    assert.ok(f.rules(NS, 'nat', 'l3ctl-PREROUTING').includes(`-A l3ctl-PREROUTING -d ${FIP[0]}/32 -j DNAT --to-destination ${FIP[1]}`), 'FIP rules on every node');
    assert.ok(f.rules(NS, 'nat', 'l3ctl-snat').some((r) => r.includes(`-o ${QG} -j SNAT --to-source 203.0.113.10`)));
    const started = cmds(f).filter((c) => c.includes('keepalived'));
    assert.deepEqual(started, [`ip netns exec ${NS} keepalived -P -f ${KF.conf} -p ${KF.pid} -r ${KF.vrrpPid}`]);
    assert.equal(f.files.files.get(KF.notify), NOTIFY_SCRIPT);
    assert.ok(f.files.procs.get(pidOf(f, KF.vrrpPid)), 'its VRRP child runs');
    assert.deepEqual(await haReport(f, effectiveConfig(s.config), s.routers[0]!), { ha_state: 'unknown', ha_vr_id: 1 }, 'no notification yet');
  });

  it("a standby: no drift without the addresses; the master: no drift with them; a backup that holds them: stale, removed", async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    f.files.files.set(KF.state, 'backup\n');
    assert.deepEqual(kinds(await replan(f, s)), [], 'a backup without the addresses is as it should be');
    await becomeMaster(f);
    assert.deepEqual(kinds(await replan(f, s)), [], "the master's addresses and routes are keepalived's");
    assert.equal((await haReport(f, effectiveConfig(s.config), s.routers[0]!))!.ha_state, 'master');
    f.files.files.set(KF.state, 'backup\n');
    const stale = await replan(f, s);
    assert.deepEqual(kinds(stale).sort(), [
      `stale-ha-address 169.254.0.1/24 on ${HA}`,
      `stale-ha-address 198.51.100.1/24 on ${QR}`,
      `stale-ha-address 203.0.113.10/24 on ${QG}`,
      `stale-ha-address 203.0.113.20/32 on ${QG}`,
      'stale-ha-route 0.0.0.0/0',
      'stale-ha-route 192.0.2.0/24',
    ]);
    assert.match(stale.flatMap(findingsOf)[0]!.expected!, /^on the master only \(keepalived's\): keepalived is backup on this node$/);
    f.clearCalls();
    await converged(f, s);
    assert.deepEqual([addrs(f, QR), addrs(f, QG), addrs(f, HA)], [[], [], [`${NODE_A}/18`]]);
    assert.equal(f.calls.filter((c) => c.argv.includes('keepalived')).length, 0, 'keepalived itself is left alone');
  });

  it("a new master's addresses before its notification (keepalived adds them first): asked again, not taken away", async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    await becomeMaster(f);
    f.files.files.set(KF.state, 'backup\n');
    setTimeout(() => f.files.files.set(KF.state, 'master\n'), 60);
    assert.deepEqual(kinds(await replan(f, s)), []);
  });

  it('an address neither l3ctl nor keepalived owns is extra on the master too', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    await becomeMaster(f);
    await f.sh(['ip', '-n', NS, 'addr', 'add', '198.51.100.77/24', 'dev', QR]);
    assert.deepEqual(kinds(await replan(f, s)), [`extra-address 198.51.100.77/24 on ${QR}`]);
  });

  it('keepalived dead (both processes killed): drift; sync clears both pid files and the old state, and starts it', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    await becomeMaster(f);
    const old = [pidOf(f, KF.pid), pidOf(f, KF.vrrpPid)];
    for (const pid of old) f.files.procs.get(pid)!.zombie = true;
    const drift = await replan(f, s);
    assert.deepEqual(kinds(drift).sort(), [
      'daemon-dead keepalived',
      `stale-ha-address 169.254.0.1/24 on ${HA}`,
      `stale-ha-address 198.51.100.1/24 on ${QR}`,
      `stale-ha-address 203.0.113.10/24 on ${QG}`,
      `stale-ha-address 203.0.113.20/32 on ${QG}`,
      'stale-ha-route 0.0.0.0/0',
      'stale-ha-route 192.0.2.0/24',
    ], 'a dead master leaves its addresses: they go, keepalived starts again');
    f.clearCalls();
    await converged(f, s);
    const now = [pidOf(f, KF.pid), pidOf(f, KF.vrrpPid)];
    assert.ok(now.every((p) => !old.includes(p)), 'new processes');
    assert.equal(f.files.files.get(KF.state), undefined, "the dead one's state is not the new one's");
    assert.deepEqual(addrs(f, QG), []);
  });

  it("diagnose router: a port that still holds keepalived's addresses on a node that is not the master is FAIL, as agent check's stale-ha-address; without them ok", async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    const config = effectiveConfig(s.config);
    const lines = async () => (await diagnoseRouter(f, s, config, s.routers[0]!)).checks.filter((c) => /^(internal|gateway|ha) port |^drift$/.test(c.check)).map((c) => `${c.status} ${c.check}: ${c.found}`);
    f.files.files.set(KF.state, 'backup\n');
    assert.deepEqual((await lines()).filter((l) => !l.startsWith('ok')), [], 'a backup without the addresses');
    assert.ok((await lines()).includes(`ok internal port ${QR}: ${QR} up; 198.51.100.1/24 is keepalived's, on the master (this node is backup)`));
    await becomeMaster(f);
    assert.deepEqual((await lines()).filter((l) => !l.startsWith('ok')), [], 'the master with them');
    // keepalived killed while master: its addresses stay behind.
    for (const pid of [pidOf(f, KF.pid), pidOf(f, KF.vrrpPid)]) f.files.procs.get(pid)!.zombie = true;
    const bad = (await lines()).filter((l) => !l.startsWith('ok'));
    assert.deepEqual(bad.map((l) => l.split(':')[0]), [`FAIL internal port ${QR}`, `FAIL gateway port ${QG}`, 'FAIL drift']);
    assert.equal(bad[0], `FAIL internal port ${QR}: ${QR} still holds 198.51.100.1/24, keepalived's, while this node is not the master (stopped): stale (agent check: stale-ha-address)`);
    assert.match(bad[1]!, new RegExp(`still holds 203\\.0\\.113\\.10/24 203\\.0\\.113\\.20/32, keepalived's`));
    assert.match(bad[2]!, /stale-ha-address 198\.51\.100\.1\/24/);
    assert.equal((await diagnoseRouter(f, s, config, s.routers[0]!)).checks.find((c) => c.check === `internal port ${QR}`)!.fix, 'l3ctl agent sync r1');
  });

  it('the HA port deleted by hand: plugged again, and keepalived (which lost its interface) restarted', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    const pid = pidOf(f, KF.pid);
    await f.sh(['ip', '-n', NS, 'link', 'del', HA]);
    assert.deepEqual(kinds(await replan(f, s)), [`missing-device ${HA}`, 'daemon-config keepalived']);
    f.clearCalls();
    await converged(f, s);
    assert.ok(cmds(f).includes(`kill -TERM ${pid}`));
    assert.notEqual(pidOf(f, KF.pid), pid);
    assert.deepEqual(addrs(f, HA), [`${NODE_A}/18`]);
  });

  it('a new node address: a new HA port, keepalived restarted on it', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    const pid = pidOf(f, KF.pid);
    const s2 = haWorld(FULL, { ha_node_address: '169.254.192.9' });
    f.clearCalls();
    const plans = await converged(f, s2);
    const ha2 = `ha-${haPortIdentity(R, '169.254.192.9', NODE_KEY).id.slice(0, 11)}`;
    assert.deepEqual(kinds(plans).filter((k) => !k.startsWith('missing-bridge')), [`missing-device ${ha2}`, `extra-device ${HA}`, 'daemon-config keepalived']);
    assert.ok(cmds(f).includes(`kill -TERM ${pid}`), 'restarted, not reloaded');
    assert.match(f.files.files.get(KF.conf)!, new RegExp(`interface ${ha2}`));
  });

  it('a VRRP child left alone (its parent gone) is ended before the new start', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    const child = pidOf(f, KF.vrrpPid);
    f.files.procs.get(pidOf(f, KF.pid))!.zombie = true;
    f.clearCalls();
    await converged(f, s);
    const c = cmds(f);
    assert.ok(c.indexOf(`kill -TERM ${child}`) >= 0 && c.indexOf(`kill -TERM ${child}`) < c.findIndex((x) => x.includes('keepalived -P')), c.join('\n'));
    assert.equal(f.files.procs.get(child)!.zombie, true);
  });

  it('a new floating IP: NAT on this node and keepalived reloaded by SIGHUP (no restart, no failover)', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    const pid = pidOf(f, KF.pid);
    const s2 = haWorld({ ...FULL, fips: [FIP, ['203.0.113.21', '198.51.100.6']] });
    f.clearCalls();
    const plans = await converged(f, s2);
    assert.ok(kinds(plans).includes('daemon-config keepalived'));
    assert.ok(cmds(f).includes(`kill -HUP ${pid}`));
    assert.equal(pidOf(f, KF.pid), pid);
    assert.match(f.files.files.get(KF.conf)!, /203\.0\.113\.21\/32 dev /);
    assert.ok(f.rules(NS, 'nat', 'l3ctl-PREROUTING').some((r) => r.includes('203.0.113.21/32')));
  });

  it('a notify script changed by hand is drift; sync rewrites it and reloads', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    f.files.files.set(KF.notify, '#!/bin/sh\nexit 0\n');
    assert.deepEqual((await replan(f, s)).flatMap(findingsOf).map((x) => `${x.kind} ${x.live}`), [`daemon-config ${KF.notify} is not as l3ctl writes it`]);
    await converged(f, s);
    assert.equal(f.files.files.get(KF.notify), NOTIFY_SCRIPT);
  });

  it('teardown: keepalived is stopped first (its HA port still there), then the namespace; its files go', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    const [pid, child] = [pidOf(f, KF.pid), pidOf(f, KF.vrrpPid)];
    await becomeMaster(f);
    f.files.files.set(KF.standby, '0\n');
    f.clearCalls();
    const gone = structuredClone(s);
    gone.routers[0]!.admin_state_up = false;
    const plans = await planRouterPass(f, gone, effectiveConfig(gone.config), R);
    assert.deepEqual(plans.map((p) => kinds([p])), [['extra-daemon keepalived'], [`unwanted-namespace ${NS}`, 'extra-daemon haproxy']]);
    await applyPlans({ runner: f, files: f.files, storePath: f.storePath, config: effectiveConfig(gone.config) }, plans);
    const c = cmds(f);
    assert.ok(c.indexOf(`kill -TERM ${pid}`) < c.indexOf(`ip -n ${NS} -batch -`), 'before the HA port is deleted');
    const batch = f.calls.find((x) => x.argv.join(' ') === `ip -n ${NS} -batch -`)!.input!;
    assert.doesNotMatch(batch, /addr del/, "a master's floating IPs go with keepalived (stopping, it takes them off): not deleted again");
    assert.ok(f.files.procs.get(pid)!.zombie && f.files.procs.get(child)!.zombie);
    assert.equal(f.hasNs(NS), false);
    assert.deepEqual([...f.files.files.keys()].filter((k) => k.startsWith(DIR)), [], 'conf, pid files, state, standby, notify script: all gone');
  });

  it('agent cleanup of an HA router gone from the store: keepalived (and its child) ended first, then qr-, qg- and ha- deleted, files gone', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    const [pid, child] = [pidOf(f, KF.pid), pidOf(f, KF.vrrpPid)];
    f.clearCalls();
    const stale = await observeStale(f, { ns: NS, routerId: R, owner: { kind: 'unknown' } });
    assert.deepEqual(stale.daemons.map((d) => d.paths.kind).sort(), ['haproxy', 'keepalived']);
    assert.deepEqual(stale.devices, [HA, QG, QR].sort());
    await removeStale(f, stale);
    const c = cmds(f);
    const del = c.indexOf(`ip -n ${NS} -force -batch -`);
    assert.ok(c.indexOf(`kill -TERM ${pid}`) >= 0 && c.indexOf(`kill -TERM ${pid}`) < del, c.join('\n'));
    assert.deepEqual(f.calls.find((x) => x.argv.join(' ') === `ip -n ${NS} -force -batch -`)!.input!.trim().split('\n'), [`link del ${QR}`, `link del ${QG}`, `link del ${HA}`]);
    assert.ok(f.files.procs.get(pid)!.zombie && f.files.procs.get(child)!.zombie);
    assert.equal(f.hasNs(NS), false);
    assert.deepEqual([...f.files.files.keys()].filter((k) => k.startsWith(DIR)), []);
  });

  it('a collision: another node answers for our HA address; the apply fails saying so (our own other HA ports do not count)', async (t) => {
    const f = fakeFor(t);
    const s = haWorld({});
    const sibling = haPortIdentity('99999999-0000-4000-8000-000000000099', NODE_A, NODE_KEY).mac;
    s.routers.push({ id: '99999999-0000-4000-8000-000000000099', name: 'r9', admin_state_up: false, gateway: null, interfaces: [], routes: [], ha: true, ha_vr_id: 2 });
    f.dadReplies.set(NODE_A, [sibling]);
    await converged(f, s);
    const f2 = fakeFor(t);
    f2.dadReplies.set(NODE_A, ['fa:16:3e:aa:bb:cc', sibling]);
    await assert.rejects(converge(f2, s), (e: unknown) => {
      assert.ok(e instanceof ApplyError);
      assert.equal(e.message, `HA address ${NODE_A} of this node is already used on the HA network (answered by fa:16:3e:aa:bb:cc): each node needs its own`);
      assert.match(e.hint!, /l3ctl config set ha_node_address ADDRESS/);
      return true;
    });
    assert.equal(f2.files.procs.size, 0, 'keepalived never started');
  });

  it('unset ha_node_address: derived from /etc/machine-id', async (t) => {
    const f = fakeFor(t);
    f.files.files.set('/etc/machine-id', '3d1219c7aaaabbbbccccddddeeeeffff\n');
    const s = haWorld({}, { ha_node_address: undefined as unknown as string });
    delete s.config.ha_node_address;
    await converged(f, s);
    const want = haNodeAddress({ ha_node_address: null }, s.networks.find((n) => n.id === HANET)!, '3d1219c7aaaabbbbccccddddeeeeffff');
    const ha = [...f.ns(NS).links.keys()].find((n) => n.startsWith('ha-'))!;
    assert.deepEqual(addrs(f, ha), [`${want}/18`]);
  });

  it('router standby: a master writes 1 to the standby file, waits for its fault, then 0 (back as backup)', async (t) => {
    const f = fakeFor(t);
    const s = haWorld();
    await converged(f, s);
    const config = effectiveConfig(s.config);
    // keepalived's side: the track file faults the instance, 0 lets it back as backup.
    const write = f.files.write.bind(f.files);
    const writes: string[] = [];
    f.files.write = async (file, content) => {
      await write(file, content);
      if (file !== KF.standby) return;
      writes.push(content.trim());
      setTimeout(() => f.files.files.set(KF.state, content.trim() === '1' ? 'fault\n' : 'backup\n'), 30);
    };
    f.files.files.set(KF.state, 'backup\n');
    assert.deepEqual(await standbyRouter(f, s, config, s.routers[0]!), { before: 'backup', after: 'backup', releasedMs: null }, 'a backup has nothing to hand over');
    assert.deepEqual(writes, []);
    f.files.files.set(KF.state, 'master\n');
    const res = await standbyRouter(f, s, config, s.routers[0]!, { pollMs: 5 });
    assert.equal(res.before, 'master');
    assert.equal(res.after, 'backup');
    assert.ok(res.releasedMs !== null && res.releasedMs >= 25);
    assert.deepEqual(writes, ['1', '0']);
    for (const pid of [pidOf(f, KF.pid)]) f.files.procs.get(pid)!.zombie = true;
    await assert.rejects(standbyRouter(f, s, config, s.routers[0]!), /keepalived of router 'r1' is not running on this node/);
    const legacy = world(FULL);
    await assert.rejects(standbyRouter(f, legacy, effectiveConfig(legacy.config), legacy.routers[0]!), /router 'r1' is not an HA router/);
  });

  it('a legacy router never reads HA state nor turns IPv6 off', async (t) => {
    const f = fakeFor(t);
    const s = world(FULL);
    await converged(f, s);
    assert.equal(f.sysctl(NS, 'net.ipv6.conf.all.disable_ipv6'), '0');
    assert.ok(!f.calls.some((c) => c.argv.includes('net.ipv6.conf.all.disable_ipv6')));
    assert.deepEqual(f.dadProbes, []);
    assert.equal(await haReport(f, effectiveConfig(s.config), s.routers[0]!), null);
    void GWP;
  });
});
