// The interface drivers behind the planner, on observations built by hand:
// which actions plug, repair and unplug a port, in which order apply runs
// them, and that the linuxbridge path never reads the switch. That the
// commands do what they say on a real Open vSwitch: test/e2e/ovs.test.ts.
import { RealFiles } from '../../src/linux/files.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desiredRouter } from '../../src/agent/desired.js';
import { driverFor } from '../../src/agent/drivers/index.js';
import { observeRouter } from '../../src/agent/pass.js';
import { planRouter, planTeardown, TEARDOWN_GROUP } from '../../src/agent/plan.js';
import { actionsOf, findingsOf, type Plan } from '../../src/agent/steps.js';
import { applyActions } from '../../src/linux/apply.js';
import { emptySave } from '../../src/linux/iptables.js';
import type { ObservedHost, ObservedLink, ObservedNs } from '../../src/linux/observe.js';
import type { ObservedOvs, ObservedOvsInterface } from '../../src/linux/ovs.js';
import { RecordingRunner } from '../../src/linux/runner.js';
import { effectiveConfig } from '../../src/model/config.js';
import { ApplyError } from '../../src/model/errors.js';
import type { State } from '../../src/model/types.js';
import { net, port } from '../helpers/one-subnet.js';
import { broadcastOf } from '../../src/model/addr.js';

const R = 'a0000000-0000-4000-8000-00000000000a';
const NS = `qrouter-${R}`;
const HOST = 'l3t-unit-host';
const EXT = 'e0000000-0000-4000-8000-00000000000e';
const PRIV = 'b0000000-0000-4000-8000-00000000000b';
const QR_ID = '11111111-2222-4333-8444-555555555555';
const QG_ID = '66666666-7777-4888-8999-aaaaaaaaaaaa';
const QR = 'qr-11111111-22';
const QG = 'qg-66666666-77';
const QR_MAC = 'fa:16:3e:00:00:01';
const QG_MAC = 'fa:16:3e:00:00:02';

function state(config: Record<string, string>): State {
  return {
    version: 3,
    // No metadata proxy: these tests are about plugging, and plan no daemons.
    config: { host_namespace: HOST, send_arp_for_ha: '0', enable_metadata_proxy: 'false', ...config },
    networks: [
      net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
      net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
    ],
    routers: [{
      id: R, name: 'r1', admin_state_up: true, routes: [], ha: false, ha_vr_id: null,
      gateway: port({ id: QG_ID, network_id: EXT, ip_address: '203.0.113.10', mac_address: QG_MAC, admin_state_up: true }),
      interfaces: [port({ id: QR_ID, network_id: PRIV, ip_address: '198.51.100.1', mac_address: QR_MAC, admin_state_up: true })],
    }],
    floatingips: [{ id: 'f1', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R }],
  };
}
const OVS_CONFIG = { interface_driver: 'ovs', ovs_integration_bridge: 'br-int', external_network_bridge: 'br-ex' };
const desired = (config: Record<string, string> = OVS_CONFIG) => {
  const s = state(config);
  return desiredRouter(s, effectiveConfig(s.config), s.routers[0]!);
};

const link = (name: string, mac: string, addrs: string[] = [], o: Partial<ObservedLink> = {}): ObservedLink => ({
  name, mac, up: true, carrier: true, master: null,
  addrs: addrs.map((a) => ({ local: a.split('/')[0]!, prefixlen: Number(a.split('/')[1]), scope: 'global', family: a.includes(':') ? 6 : 4, broadcast: a.includes(':') ? null : broadcastOf(a) })),
  ...o,
});
const ns = (links: ObservedLink[], routes: ObservedNs['routes'] = []): ObservedNs => ({
  ns: NS, exists: true, links: new Map([['lo', link('lo', '00:00:00:00:00:00')], ...links.map((l): [string, ObservedLink] => [l.name, l])]),
  routes, iptables: emptySave(), sysctl: { ipForward: true, promoteSecondaries: true, arpIgnore: null, bridgeNfCall: null, ipv6Forwarding: null, acceptRa: new Map(), ipv6Off: null },
});
const host = (links: ObservedLink[] = []): ObservedHost => ({ ns: HOST, exists: true, links: new Map(links.map((l) => [l.name, l])) });

interface Rec { bridge: string; device: string; portId?: string; mac?: string; status?: string }
function sw(recs: Rec[], bridges = ['br-int', 'br-ex']): ObservedOvs {
  const out: ObservedOvs = { bridges: new Map(bridges.map((b) => [b, new Set([b])])), interfaces: new Map() };
  for (const r of recs) {
    out.bridges.get(r.bridge)?.add(r.device);
    const i: ObservedOvsInterface = {
      name: r.device, type: 'internal', bridge: r.bridge, ifaceId: r.portId ?? null, attachedMac: r.mac ?? null, status: r.status ?? 'active',
      externalIds: {}, ofport: 1, error: null,
    };
    out.interfaces.set(r.device, i);
  }
  return out;
}
const plugged = (): Rec[] => [
  { bridge: 'br-int', device: QR, portId: QR_ID, mac: QR_MAC },
  { bridge: 'br-ex', device: QG, portId: QG_ID, mac: QG_MAC },
];
/** The router as l3ctl leaves it: both ports in, addressed, the default route. */
const converged = (o: { qr?: Partial<ObservedLink>; qg?: Partial<ObservedLink> } = {}) => ns(
  [link(QR, QR_MAC, ['198.51.100.1/24'], o.qr), link(QG, QG_MAC, ['203.0.113.10/24', '203.0.113.20/32'], o.qg)],
  [
    { dst: '198.51.100.0/24', family: 4, gateway: null, dev: QR, protocol: 'kernel', scope: 'link', prefsrc: '198.51.100.1' },
    { dst: '203.0.113.0/24', family: 4, gateway: null, dev: QG, protocol: 'kernel', scope: 'link', prefsrc: '203.0.113.10' },
    { dst: '0.0.0.0/0', family: 4, gateway: '203.0.113.1', dev: QG, protocol: null, scope: null, prefsrc: null },
  ],
);

// The NAT rules are not the driver's: left out of what these tests compare.
const portActions = (p: Plan) => actionsOf(p).actions.filter((a) => !['nat', 'nat-edit', 'nat-jumps'].includes(a.phase));
const portFindings = (p: Plan) => findingsOf(p).filter((f) => !/nat/.test(f.kind));
const kinds = (p: Plan) => portFindings(p).map((f) => `${f.kind} ${f.object}`);
const vsctl = (...args: string[]) => ['ovs-vsctl', '--timeout=10', ...args];
const plugArgv = (br: string, dev: string, id: string, mac: string) => vsctl(
  '--', '--may-exist', 'add-port', br, dev, '--', 'set', 'Interface', dev, 'type=internal', '--', 'set', 'Interface', dev, `external-ids:iface-id=${id}`,
  '--', 'set', 'Interface', dev, 'external-ids:iface-status=active', '--', 'set', 'Interface', dev, `external-ids:attached-mac=${mac}`,
);

describe('interface drivers: bridges', () => {
  it('ovs: internal ports on ovs_integration_bridge, the gateway on external_network_bridge (empty: the integration bridge)', () => {
    const d = desired();
    assert.deepEqual(d.ports.map((p) => [p.device, p.bridge, p.bridgeMustExist]), [[QR, 'br-int', true], [QG, 'br-ex', true]]);
    const flat = desired({ ...OVS_CONFIG, external_network_bridge: '' });
    assert.deepEqual(flat.ports.map((p) => p.bridge), ['br-int', 'br-int']);
  });

  it('linuxbridge: the network bridges, the operator bridge for the gateway, as before', () => {
    const d = desired({ external_network_bridge: 'br-ex' });
    assert.deepEqual(d.ports.map((p) => [p.bridge, p.bridgeMustExist]), [[`brq${PRIV.slice(0, 11)}`, false], ['br-ex', true]]);
  });

  it("linuxbridge: a leftover tap (its other end in a router's namespace) is replaced; a device of that name that is no such thing fails the plug, untouched", async () => {
    const lb = desired({ external_network_bridge: '' });
    const obs = converged();
    obs.links.delete(QR);
    const tap = `tap${QR_ID.slice(0, 11)}`;
    const planWith = (peer: ObservedLink['peer']) => planRouter(lb, obs, { host: host([link(tap, 'aa:aa:aa:aa:aa:01', [], { peer }), link(`tap${QG_ID.slice(0, 11)}`, 'aa:aa:aa:aa:aa:02')]), ovs: null }, { sendArp: false });
    assert.ok(portActions(planWith({ elsewhere: true })).some((a) => a.phase === 'host' && a.line === `link del ${tap}`));
    for (const [peer, why] of [[{ here: 'kzzpeer' }, 'a veth whose other end, kzzpeer, is beside it'], [null, 'no veth with its other end in a router namespace']] as const) {
      const p = planWith(peer);
      assert.ok(!portActions(p).some((a) => a.phase === 'host' && a.line.startsWith(`link del ${tap}`)), 'never deleted');
      const runner = new RecordingRunner();
      await assert.rejects(applyActions(runner, actionsOf(p), { sendArpForHa: 0 }), (e: ApplyError) => {
        assert.equal(e.message, `device ${tap} in namespace ${HOST} is not l3ctl's (${why}): plugging port ${QR_ID} would delete it`);
        return true;
      });
      assert.deepEqual(runner.calls.filter((c) => !c.read), [], 'nothing ran');
    }
  });

  it("linuxbridge: a qr- whose tap is there but is not its other end (by ifindex) is replaced; its own tap, or no index known, is not", () => {
    const lb = desired({ external_network_bridge: '' });
    const p = lb.ports.find((x) => x.device === QR)!;
    const side = (tapIndex: number) => ({ host: host([link(p.tap, 'aa:aa:aa:aa:aa:01', [], { ifindex: tapIndex, peer: { elsewhere: true, index: 2 } })]), ovs: null, ns: NS, shared: false });
    const dev = (peerIndex: number | undefined, o: Partial<ObservedLink> = {}) => link(QR, QR_MAC, ['198.51.100.1/24'], { ifindex: 2, peer: { elsewhere: true, ...(peerIndex === undefined ? {} : { index: peerIndex }) }, ...o });
    const replaces = driverFor('linuxbridge').replaces;
    assert.equal(replaces(p, dev(9), side(9)), null);
    assert.equal(replaces(p, dev(undefined), side(9)), null);
    assert.deepEqual(replaces(p, dev(7), side(9)), { kind: 'missing-device', object: p.tap, expected: `the host end of ${QR}, on ${p.bridge}`, live: `${p.tap} is there, but ${QR} is paired with another device` });
    assert.equal(replaces(p, dev(undefined, { peer: null }), side(9))?.kind, 'missing-device', 'no veth at all');
  });

  it('ovs: a missing bridge fails the plan before anything runs, naming the bridge and its key', async () => {
    const p = planRouter(desired(), converged(), { host: host(), ovs: sw(plugged(), ['br-int']) }, { sendArp: false });
    assert.deepEqual(kinds(p), ['missing-bridge br-ex']);
    const runner = new RecordingRunner();
    await assert.rejects(applyActions(runner, actionsOf(p), { sendArpForHa: 0 }), (e: ApplyError) => {
      assert.equal(e.message, "Open vSwitch bridge 'br-ex' does not exist (external_network_bridge)");
      assert.match(e.hint!, /ovs-vsctl add-br br-ex/);
      return true;
    });
    assert.deepEqual(runner.calls, [], 'nothing ran');
    const q = planRouter(desired(), converged(), { host: host(), ovs: sw(plugged(), ['br-ex']) }, { sendArp: false });
    assert.match(String((actionsOf(q).actions.find((a) => a.phase === 'fail') as { error: Error }).error.message), /'br-int' does not exist \(ovs_integration_bridge\)/);
  });

  it('ovs: no Linux bridge is made for networks', () => {
    assert.deepEqual(driverFor('ovs').planNetworks(state(OVS_CONFIG).networks, host()), []);
    assert.equal(driverFor('linuxbridge').planNetworks(state({}).networks, host()).length, 2);
  });
});

describe('interface drivers: plugging', () => {
  it('ovs: a converged router plans nothing', () => {
    assert.deepEqual(kinds(planRouter(desired(), converged(), { host: host(), ovs: sw(plugged()) }, { sendArp: false })), []);
  });

  it('ovs: a new port is the agent\'s add-port, then the move, MAC and up, then its address', () => {
    const obs = converged();
    obs.links.delete(QR);
    const p = planRouter(desired(), obs, { host: host(), ovs: sw(plugged().slice(1)) }, { sendArp: false });
    assert.deepEqual(kinds(p), [`missing-device ${QR}`]);
    assert.deepEqual(portActions(p), [
      { phase: 'plug', argv: plugArgv('br-int', QR, QR_ID, QR_MAC) },
      { phase: 'host', line: `link set ${QR} netns ${NS}` },
      { phase: 'router', order: 'link', line: `link set ${QR} address ${QR_MAC}` },
      { phase: 'router', order: 'link', line: `link set ${QR} up` },
      { phase: 'router', order: 'addr-add', line: `addr add 198.51.100.1/24 brd 198.51.100.255 scope global dev ${QR}` },
    ]);
  });

  it('ovs with network_device_mtu: the internal port gets it after the move; a port with another MTU is wrong-mtu, set again', () => {
    const withMtu = desired({ ...OVS_CONFIG, network_device_mtu: '1400' });
    const obs = converged({ qg: { mtu: 1400 } });
    obs.links.delete(QR);
    const p = planRouter(withMtu, obs, { host: host(), ovs: sw(plugged().slice(1)) }, { sendArp: false });
    assert.deepEqual(portActions(p).filter((a) => a.phase === 'router' && a.order === 'link'), [
      { phase: 'router', order: 'link', line: `link set ${QR} address ${QR_MAC}` },
      { phase: 'router', order: 'link', line: `link set ${QR} mtu 1400` },
      { phase: 'router', order: 'link', line: `link set ${QR} up` },
    ]);
    const drift = planRouter(withMtu, converged({ qr: { mtu: 1500 }, qg: { mtu: 1400 } }), { host: host(), ovs: sw(plugged()) }, { sendArp: false });
    assert.deepEqual(kinds(drift), [`wrong-mtu ${QR}`]);
    assert.deepEqual(portActions(drift), [{ phase: 'router', order: 'link', line: `link set ${QR} mtu 1400` }]);
    // Unset: an MTU set by hand is left alone.
    assert.deepEqual(kinds(planRouter(desired(), converged({ qr: { mtu: 1500 }, qg: { mtu: 9000 } }), { host: host(), ovs: sw(plugged()) }, { sendArp: false })), []);
  });

  it('ovs: a record whose device is gone everywhere is deleted and added again (--may-exist would not make the device)', () => {
    const obs = converged();
    obs.links.delete(QR);
    const p = planRouter(desired(), obs, { host: host(), ovs: sw(plugged()) }, { sendArp: false });
    assert.deepEqual(portActions(p).filter((a) => a.phase === 'plug'), [
      { phase: 'plug', argv: vsctl('--', '--if-exists', 'del-port', 'br-int', QR) },
      { phase: 'plug', argv: plugArgv('br-int', QR, QR_ID, QR_MAC) },
    ]);
  });

  it('ovs: a device waiting in the host namespace with a good record is only moved in', () => {
    const obs = converged();
    obs.links.delete(QR);
    const p = planRouter(desired(), obs, { host: host([link(QR, 'aa:aa:aa:aa:aa:aa', [], { up: false, carrier: false })]), ovs: sw(plugged()) }, { sendArp: false });
    assert.deepEqual(portActions(p).filter((a) => a.phase === 'plug' || a.phase === 'host'), [{ phase: 'host', line: `link set ${QR} netns ${NS}` }]);
  });

  it('ovs: a stranded device (up, no carrier) is deleted, the fresh one moved in, with its addresses and the routes through it', () => {
    const obs = converged({ qg: { carrier: false } });
    const p = planRouter(desired(), obs, { host: host([link(QG, 'aa:aa:aa:aa:aa:aa', [], { up: false, carrier: false })]), ovs: sw(plugged()) }, { sendArp: false });
    assert.deepEqual(kinds(p), [`no-carrier ${QG}`, 'missing-route 0.0.0.0/0']);
    assert.deepEqual(portActions(p), [
      { phase: 'plug', argv: ['ip', '-n', NS, 'link', 'del', QG] },
      { phase: 'host', line: `link set ${QG} netns ${NS}` },
      { phase: 'router', order: 'link', line: `link set ${QG} address ${QG_MAC}` },
      { phase: 'router', order: 'link', line: `link set ${QG} up` },
      { phase: 'router', order: 'addr-add', line: `addr add 203.0.113.10/24 brd 203.0.113.255 scope global dev ${QG}` },
      { phase: 'fip', line: `addr add 203.0.113.20/32 brd 203.0.113.20 scope global dev ${QG}` },
      { phase: 'router', order: 'route-replace', line: 'route replace default via 203.0.113.1 dev ' + QG },
    ]);
  });

  it('ovs: a device whose record is on another bridge leaves that bridge (taking the device) and is plugged again', () => {
    const recs = plugged();
    recs[1]!.bridge = 'br-int';
    const p = planRouter(desired(), converged(), { host: host(), ovs: sw(recs) }, { sendArp: false });
    assert.deepEqual(portFindings(p)[0], { kind: 'wrong-bridge', object: QG, expected: 'br-ex', live: 'br-int' });
    assert.deepEqual(portActions(p).filter((a) => a.phase === 'plug'), [
      { phase: 'plug', argv: vsctl('--', '--if-exists', 'del-port', 'br-int', QG) },
      { phase: 'plug', argv: plugArgv('br-ex', QG, QG_ID, QG_MAC) },
    ]);
  });

  it('ovs: a device with no record at all is deleted by hand and plugged', () => {
    const p = planRouter(desired(), converged(), { host: host(), ovs: sw(plugged().slice(1)) }, { sendArp: false });
    assert.equal(portFindings(p)[0]!.kind, 'missing-port');
    assert.deepEqual(portActions(p).filter((a) => a.phase === 'plug'), [
      { phase: 'plug', argv: ['ip', '-n', NS, 'link', 'del', QR] },
      { phase: 'plug', argv: plugArgv('br-int', QR, QR_ID, QR_MAC) },
    ]);
  });

  it('ovs: wrong external-ids are rewritten by the plug argv alone; the device stays', () => {
    const recs = plugged();
    recs[0] = { ...recs[0]!, portId: 'someone-else', status: 'down' };
    const p = planRouter(desired(), converged(), { host: host(), ovs: sw(recs) }, { sendArp: false });
    assert.deepEqual(portFindings(p), [{
      kind: 'wrong-external-ids', object: QR,
      expected: `type=internal iface-id=${QR_ID} attached-mac=${QR_MAC} iface-status=active`,
      live: `type=internal iface-id=someone-else attached-mac=${QR_MAC} iface-status=down`,
    }]);
    assert.deepEqual(portActions(p), [{ phase: 'plug', argv: plugArgv('br-int', QR, QR_ID, QR_MAC) }]);
  });

  it('ovs, use_namespaces false: the device appears where the router lives, so nothing is moved', () => {
    const cfg = { ...OVS_CONFIG, use_namespaces: 'false', router_id: R };
    const d = desired(cfg);
    const p = planRouter(d, { ...converged(), ns: HOST, links: new Map() }, { host: host(), ovs: sw([]) }, { sendArp: false });
    assert.ok(!portActions(p).some((a) => a.phase === 'host' && a.line.includes(' netns ')), JSON.stringify(portActions(p)));
    assert.equal(portActions(p).filter((a) => a.phase === 'plug').length, 2);
  });
});

describe('interface drivers: unplugging', () => {
  it('ovs: teardown takes the floating IPs off, deletes the ports from their bridges, then the namespace, in that order', async () => {
    const p = planTeardown(NS, converged(), { host: host(), ovs: sw(plugged()) }, driverFor('ovs'));
    const runner = new RecordingRunner();
    await applyActions(runner, actionsOf(p), { sendArpForHa: 0 });
    assert.deepEqual(runner.calls.map((c) => [c.argv.join(' '), c.input ?? '']), [
      [`ip -n ${NS} -batch -`, `addr del 203.0.113.20/32 dev ${QG}\n`],
      [`ovs-vsctl --timeout=10 -- --if-exists del-port br-int ${QR}`, ''],
      [`ovs-vsctl --timeout=10 -- --if-exists del-port br-ex ${QG}`, ''],
      [`ip netns del ${NS}`, ''],
    ]);
  });

  it('ovs: a stranded device is deleted by hand as well; a device without a record only by hand', () => {
    const recs = plugged().slice(1);
    const p = planTeardown(NS, converged({ qg: { carrier: false } }), { host: host(), ovs: sw(recs) }, driverFor('ovs'));
    const acts = actionsOf(p).actions;
    assert.deepEqual(acts.filter((a) => a.phase === 'router' && a.order === 'link-del').map((a) => (a as { line: string }).line), [`link set dev ${QR} group ${TEARDOWN_GROUP}`, `link set dev ${QG} group ${TEARDOWN_GROUP}`, `link del group ${TEARDOWN_GROUP}`]);
    assert.deepEqual(acts.filter((a) => a.phase === 'unplug').map((a) => (a as { argv: string[] }).argv.join(' ')), [`ovs-vsctl --timeout=10 -- --if-exists del-port br-ex ${QG}`]);
  });

  it('ovs: a port removed from the router is unplugged after the router batch, before the NAT rewrite', async () => {
    const s = state(OVS_CONFIG);
    s.routers[0]!.interfaces = [];
    s.floatingips = [];
    const d = desiredRouter(s, effectiveConfig(s.config), s.routers[0]!);
    const p = planRouter(d, converged(), { host: host(), ovs: sw(plugged()) }, { sendArp: false });
    assert.ok(kinds(p).includes(`extra-device ${QR}`));
    const runner = new RecordingRunner();
    await applyActions(runner, actionsOf(p), { sendArpForHa: 0 });
    const order = runner.calls.map((c) => c.argv[0] === 'ovs-vsctl' ? 'del-port' : c.argv.includes('-batch') ? 'router batch' : c.argv.includes('iptables-restore') ? 'restore' : c.argv.join(' '));
    assert.deepEqual(order.slice(0, 3), ['router batch', 'del-port', 'restore']);
  });

  it('linuxbridge: unplug is the veth deletion, as before', () => {
    const p = planTeardown(NS, converged(), { host: host(), ovs: null }, driverFor('linuxbridge'));
    assert.deepEqual(actionsOf(p).actions.map((a) => (a.phase === 'router' ? a.line : a.phase)), [`addr del 203.0.113.20/32 dev ${QG}`, `link set dev ${QR} group ${TEARDOWN_GROUP}`, `link set dev ${QG} group ${TEARDOWN_GROUP}`, `link del group ${TEARDOWN_GROUP}`, 'netns-del']);
  });
});

describe('interface drivers: what a pass reads', () => {
  const respond = (argv: string[]) => {
    if (argv[0] === 'ovs-vsctl') return { stdout: ['Bridge', 'Port', 'Interface'].map(() => JSON.stringify({ headings: [], data: [] })).join('\n') };
    if (argv.includes('-j')) return { stdout: '[]' };
    return { stdout: '' };
  };

  it('linuxbridge never runs ovs-vsctl; ovs reads the switch once per router pass', async () => {
    for (const [config, reads] of [[{}, 0], [OVS_CONFIG, 1]] as const) {
      const s = state(config);
      const runner = new RecordingRunner(respond, new Set([HOST]));
      await observeRouter({ runner, files: new RealFiles(), storePath: '/nonexistent/l3ctl-unit/state.json' }, s, effectiveConfig(s.config), R);
      assert.equal(runner.calls.filter((c) => c.argv[0] === 'ovs-vsctl').length, reads, JSON.stringify(config));
    }
  });
});
