// Drift findings against the planner: for every damage a kernel can suffer,
// "agent check finds something" and "agent sync would do something" agree,
// and each finding names the object. Pure, no root.
import { saveText } from '../helpers/save.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { routerDrift, type Drift } from '../../src/agent/check.js';
import { desiredRouter, type DesiredRouter } from '../../src/agent/desired.js';
import { desiredSection } from '../../src/agent/nat.js';
import { isEmptyPlan, planRouter, planTeardown, type HostView } from '../../src/agent/plan.js';
import { effectiveConfig } from '../../src/model/config.js';
import type { ObservedLink, ObservedRouterNs } from '../../src/linux/observe.js';
import { emptyState, type State } from '../../src/model/types.js';

const EXT = '11111111-aaaa-4aaa-8aaa-000000000001';
const PRIV = '22222222-bbbb-4bbb-8bbb-000000000002';
const R = '33333333-cccc-4ccc-8ccc-000000000003';
const NS = `qrouter-${R}`;
const QG = 'qg-44444444-dd';
const QR = 'qr-55555555-ee';
const TAPG = 'tap44444444-dd';
const TAPR = 'tap55555555-ee';
const BRX = 'brq11111111-aa';
const BRP = 'brq22222222-bb';

function state(): State {
  const s = emptyState();
  s.config = { host_namespace: 'hostns', external_network_bridge: '', send_arp_for_ha: '3' };
  s.networks.push(
    { id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null },
    { id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null },
  );
  s.routers.push({
    id: R, name: 'r1', admin_state_up: true,
    gateway: { id: '44444444-dddd-4ddd-8ddd-000000000004', network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true },
    interfaces: [{ id: '55555555-eeee-4eee-8eee-000000000005', network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:02', admin_state_up: true }],
    routes: [{ destination: '192.0.2.0/24', nexthop: '198.51.100.254' }],
  });
  s.floatingips.push({ id: '66666666-ffff-4fff-8fff-000000000020', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R });
  return s;
}

const desired = (s: State = state()) => desiredRouter(s, effectiveConfig(s.config), s.routers[0]!);

/** iptables-save text with our section exactly as desired. */
const saveOf = (d: DesiredRouter): string => saveText(desiredSection(d.nat));

const link = (name: string, mac: string, addrs: [string, number][] = [], master: string | null = null): ObservedLink => ({
  name, mac, up: true, master, addrs: addrs.map(([local, prefixlen]) => ({ local, prefixlen, scope: 'global' })),
});

/** A kernel in which r1 is exactly as stored. */
function converged(): { obs: ObservedRouterNs; host: HostView } {
  const d = desired();
  const obs: ObservedRouterNs = {
    ns: NS, exists: true, ipForward: true, iptablesSave: saveOf(d),
    links: new Map([
      ['lo', { name: 'lo', mac: '00:00:00:00:00:00', up: true, master: null, addrs: [{ local: '127.0.0.1', prefixlen: 8, scope: 'host' }] }],
      [QR, link(QR, 'fa:16:3e:00:00:02', [['198.51.100.1', 24]])],
      [QG, link(QG, 'fa:16:3e:00:00:01', [['203.0.113.10', 24], ['203.0.113.20', 32]])],
    ]),
    routes: [
      { dst: 'default', gateway: '203.0.113.1', dev: QG, protocol: 'boot' },
      { dst: '192.0.2.0/24', gateway: '198.51.100.254', dev: QR, protocol: 'boot' },
      { dst: '198.51.100.0/24', gateway: null, dev: QR, protocol: 'kernel' },
      { dst: '203.0.113.0/24', gateway: null, dev: QG, protocol: 'kernel' },
    ],
  };
  const host: HostView = {
    ns: 'hostns', exists: true,
    links: new Map([
      [BRX, link(BRX, 'aa:00:00:00:00:01')], [BRP, link(BRP, 'aa:00:00:00:00:02')],
      [TAPG, link(TAPG, 'aa:00:00:00:00:03', [], BRX)], [TAPR, link(TAPR, 'aa:00:00:00:00:04', [], BRP)],
    ]),
  };
  return { obs, host };
}

type Damage = [string, (k: { obs: ObservedRouterNs; host: HostView }) => void];

const DAMAGES: Damage[] = [
  ['qr- device deleted', (k) => k.obs.links.delete(QR)],
  ['qg- device deleted', (k) => k.obs.links.delete(QG)],
  ['FIP /32 deleted', (k) => (k.obs.links.get(QG)!.addrs = k.obs.links.get(QG)!.addrs.filter((a) => a.prefixlen !== 32))],
  ['extra address on qr-', (k) => k.obs.links.get(QR)!.addrs.push({ local: '198.51.100.9', prefixlen: 24, scope: 'global' })],
  ['link-scope address only (ignored)', (k) => k.obs.links.get(QR)!.addrs.push({ local: '169.254.0.9', prefixlen: 16, scope: 'link' })],
  ['wrong MAC', (k) => (k.obs.links.get(QR)!.mac = 'fa:16:3e:00:00:99')],
  ['qg- down', (k) => (k.obs.links.get(QG)!.up = false)],
  ['lo down', (k) => (k.obs.links.get('lo')!.up = false)],
  ['extra route deleted', (k) => (k.obs.routes = k.obs.routes.filter((r) => r.dst !== '192.0.2.0/24'))],
  ['default route deleted', (k) => (k.obs.routes = k.obs.routes.filter((r) => r.dst !== 'default'))],
  ['extra route via another nexthop', (k) => (k.obs.routes.find((r) => r.dst === '192.0.2.0/24')!.gateway = '198.51.100.253')],
  ['unknown route with a gateway', (k) => k.obs.routes.push({ dst: '192.0.2.128/25', gateway: '198.51.100.250', dev: QR, protocol: 'boot' })],
  ['float-snat flushed', (k) => (k.obs.iptablesSave = k.obs.iptablesSave.split('\n').filter((l) => !l.startsWith('-A l3ctl-float-snat')).join('\n'))],
  ['a jump from a built-in chain deleted', (k) => (k.obs.iptablesSave = k.obs.iptablesSave.replace('-A POSTROUTING -j l3ctl-POSTROUTING\n', ''))],
  ['an extra chain of ours', (k) => (k.obs.iptablesSave = k.obs.iptablesSave.replace(':l3ctl-snat - [0:0]', ':l3ctl-snat - [0:0]\n:l3ctl-stale - [0:0]'))],
  ['a foreign rule (not ours, ignored)', (k) => (k.obs.iptablesSave = k.obs.iptablesSave.replace('-A POSTROUTING -j l3ctl-postrouting-bottom', '-A POSTROUTING -j l3ctl-postrouting-bottom\n-A POSTROUTING -o eth9 -j MASQUERADE'))],
  ['ip_forward off', (k) => (k.obs.ipForward = false)],
  ['stale qg- device', (k) => k.obs.links.set('qg-deadbeef-00', link('qg-deadbeef-00', 'fa:16:3e:00:00:77', [['203.0.113.77', 32]]))],
  ['tap on the wrong bridge', (k) => (k.host.links.get(TAPR)!.master = BRX)],
  ['tap down', (k) => (k.host.links.get(TAPG)!.up = false)],
  ['tap missing while the device is there (nothing to do)', (k) => k.host.links.delete(TAPR)],
  ['bridge deleted', (k) => k.host.links.delete(BRP)],
  ['bridge down', (k) => (k.host.links.get(BRX)!.up = false)],
  ['host namespace gone', (k) => ((k.host.exists = false), (k.host.links = new Map()))],
  ['router namespace gone', (k) => Object.assign(k.obs, { exists: false, links: new Map(), routes: [], iptablesSave: '', ipForward: false })],
];

function planIsEmpty(d: DesiredRouter | null, k: { obs: ObservedRouterNs; host: HostView }): boolean {
  try {
    return isEmptyPlan(d === null ? planTeardown(NS, k.obs) : planRouter(d, k.obs, k.host, { sendArp: true }));
  } catch {
    return false; // the plan refuses (operator bridge missing): there is drift to report
  }
}

const kinds = (f: Drift[]) => f.map((x) => x.kind);

describe('routerDrift', () => {
  it('a converged router: no finding, empty plan', () => {
    const k = converged();
    assert.deepEqual(routerDrift(desired(), k.obs, k.host), []);
    assert.ok(planIsEmpty(desired(), k));
  });

  for (const [name, damage] of DAMAGES) {
    it(`agrees with the planner: ${name}`, () => {
      const k = converged();
      damage(k);
      const f = routerDrift(desired(), k.obs, k.host);
      assert.equal(f.length === 0, planIsEmpty(desired(), k), `findings ${JSON.stringify(f)}`);
    });
  }

  it('agrees with the planner for pairs of damages', () => {
    for (const [a, da] of DAMAGES) {
      for (const [b, db] of DAMAGES) {
        const k = converged();
        da(k);
        try {
          db(k);
        } catch {
          continue; // b needs what a removed
        }
        const f = routerDrift(desired(), k.obs, k.host);
        assert.equal(f.length === 0, planIsEmpty(desired(), k), `${a} + ${b}: ${JSON.stringify(f)}`);
      }
    }
  });

  it('names the object of each damage', () => {
    const one = (i: number) => {
      const k = converged();
      DAMAGES[i]![1](k);
      return routerDrift(desired(), k.obs, k.host);
    };
    assert.deepEqual(one(0), [{ kind: 'missing-device', object: QR, expected: `internal port 55555555-eeee-4eee-8eee-000000000005 198.51.100.1/24 on ${BRP}`, live: null }]);
    assert.deepEqual(one(2), [{ kind: 'missing-address', object: `203.0.113.20/32 on ${QG}`, expected: '203.0.113.20/32', live: null }]);
    assert.deepEqual(one(3), [{ kind: 'extra-address', object: `198.51.100.9/24 on ${QR}`, expected: null, live: '198.51.100.9/24' }]);
    assert.deepEqual(one(5), [{ kind: 'wrong-mac', object: QR, expected: 'fa:16:3e:00:00:02', live: 'fa:16:3e:00:00:99' }]);
    assert.deepEqual(one(8), [{ kind: 'missing-route', object: '192.0.2.0/24', expected: '192.0.2.0/24 via 198.51.100.254', live: null }]);
    assert.deepEqual(one(10), [{ kind: 'missing-route', object: '192.0.2.0/24', expected: '192.0.2.0/24 via 198.51.100.254', live: `192.0.2.0/24 via 198.51.100.253 dev ${QR}` }]);
    assert.deepEqual(one(11), [{ kind: 'extra-route', object: '192.0.2.128/25', expected: null, live: `192.0.2.128/25 via 198.51.100.250 dev ${QR}` }]);
    assert.deepEqual(kinds(one(12)), ['missing-nat-rule']);
    assert.equal(one(12)[0]!.object, '-t nat -A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20');
    assert.deepEqual(one(14).map((x) => [x.kind, x.object]), [['extra-nat-chain', '-t nat -N l3ctl-stale']]);
    assert.deepEqual(kinds(one(16)), ['ip_forward-off']);
    assert.deepEqual(one(17).map((x) => [x.kind, x.object]), [['extra-device', 'qg-deadbeef-00']]);
    assert.deepEqual(one(18), [{ kind: 'wrong-bridge', object: TAPR, expected: BRP, live: BRX }]);
    assert.deepEqual(one(21).map((x) => [x.kind, x.object]), [['missing-bridge', BRP]]);
    assert.deepEqual(one(23).map((x) => x.kind).slice(0, 1), ['missing-host-namespace']);
    assert.deepEqual(one(24), [{ kind: 'missing-namespace', object: NS, expected: 'present', live: null }]);
  });

  it("a missing operator bridge is drift (sync refuses, check reports it)", () => {
    const s = state();
    s.config.external_network_bridge = 'br-ex';
    const k = converged();
    const f = routerDrift(desired(s), k.obs, k.host);
    assert.deepEqual(f.filter((x) => x.kind === 'missing-bridge').map((x) => x.object), ['br-ex']);
    assert.equal(planIsEmpty(desired(s), k), false);
  });

  it('a router that must not be here: its namespace is unwanted; none when it is gone', () => {
    const k = converged();
    assert.deepEqual(routerDrift(null, k.obs, k.host), [{ kind: 'unwanted-namespace', object: NS, expected: null, live: `present with ${QG}, ${QR}` }]);
    assert.equal(planIsEmpty(null, k), false);
    DAMAGES.find(([n]) => n === 'router namespace gone')![1](k);
    assert.deepEqual(routerDrift(null, k.obs, k.host), []);
    assert.equal(planIsEmpty(null, k), true);
  });
});
