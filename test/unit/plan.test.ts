// Planning: desired + observed -> steps. Pure, no root.
import { saveText } from '../helpers/save.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desiredRouter } from '../../src/agent/desired.js';
import { desiredSection } from '../../src/agent/nat.js';
import { isEmptyPlan, planRouter, planTeardown, type HostView, type Plan } from '../../src/agent/plan.js';
import { effectiveConfig } from '../../src/model/config.js';
import type { ObservedLink, ObservedRouterNs } from '../../src/linux/observe.js';
import { emptyState, type State } from '../../src/model/types.js';
import { contains } from '../../src/model/addr.js';

const EXT = '11111111-aaaa-4aaa-8aaa-000000000001';
const PRIV = '22222222-bbbb-4bbb-8bbb-000000000002';
const PRIV2 = '23232323-bbbb-4bbb-8bbb-000000000003';
const R = '33333333-cccc-4ccc-8ccc-000000000003';
const GWP = '44444444-dddd-4ddd-8ddd-000000000004';
const QRP = '55555555-eeee-4eee-8eee-000000000005';
const NS = `qrouter-${R}`;
const QG = 'qg-44444444-dd';
const QR = 'qr-55555555-ee';

function state(opts: { gateway?: boolean; port?: boolean; fips?: [string, string][]; routes?: [string, string][] } = {}): State {
  const s = emptyState();
  s.config = { host_namespace: 'hostns', external_network_bridge: '', send_arp_for_ha: '3' };
  s.networks.push(
    { id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null },
    { id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null },
    { id: PRIV2, name: 'priv2', cidr: '192.0.2.0/25', gateway_ip: '192.0.2.1', external: false, bridge: null },
  );
  s.routers.push({
    id: R, name: 'r1', admin_state_up: true,
    gateway: opts.gateway ? { id: GWP, network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true } : null,
    interfaces: opts.port ? [{ id: QRP, network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:02', admin_state_up: true }] : [],
    routes: (opts.routes ?? []).map(([destination, nexthop]) => ({ destination, nexthop })),
  });
  for (const [fip, fixed] of opts.fips ?? []) {
    s.floatingips.push({ id: `66666666-ffff-4fff-8fff-${fip.split('.')[3]!.padStart(12, '0')}`, floating_ip_address: fip, floating_network_id: EXT, fixed_ip_address: fixed, router_id: R });
  }
  return s;
}

const desired = (s: State) => desiredRouter(s, effectiveConfig(s.config), s.routers[0]!);

/** A tiny kernel: interprets the `ip -batch` lines a plan produces. */
class FakeKernel {
  router: ObservedRouterNs = { ns: NS, exists: false, links: new Map(), routes: [], iptablesSave: '', ipForward: false };
  host: HostView = { ns: 'hostns', exists: true, links: new Map() };

  private link(where: Map<string, ObservedLink>, name: string): ObservedLink {
    const l = where.get(name);
    if (!l) throw new Error(`Cannot find device "${name}"`);
    return l;
  }

  private ip(where: Map<string, ObservedLink>, line: string) {
    const w = line.split(' ');
    const add = (m: Map<string, ObservedLink>, name: string) => {
      if (m.has(name)) throw new Error(`RTNETLINK answers: File exists (${name})`);
      m.set(name, { name, mac: 'random', up: false, master: null, addrs: [] });
    };
    if (w[0] === 'link' && w[1] === 'add' && w[3] === 'type' && w[4] === 'veth') {
      add(where, w[2]!);
      add(this.router.links, w[7]!);
    } else if (w[0] === 'link' && w[1] === 'add') add(where, w[2]!);
    else if (w[0] === 'link' && w[1] === 'set') {
      const l = this.link(where, w[2]!);
      if (w[3] === 'up') l.up = true;
      if (w[3] === 'address') l.mac = w[4]!;
      if (w[3] === 'master') l.master = w[4]!;
    } else if (w[0] === 'link' && w[1] === 'del') {
      this.link(where, w[2]!);
      where.delete(w[2]!);
    } else if (w[0] === 'addr') {
      const [local, len] = w[2]!.split('/');
      const l = this.link(where, w[w.indexOf('dev') + 1]!);
      const has = l.addrs.findIndex((a) => a.local === local && a.prefixlen === Number(len));
      if (w[1] === 'add') {
        if (has >= 0) throw new Error('RTNETLINK answers: File exists');
        l.addrs.push({ local: local!, prefixlen: Number(len), scope: 'global' });
      } else {
        if (has < 0) throw new Error('RTNETLINK answers: Cannot assign requested address');
        l.addrs.splice(has, 1);
      }
    } else if (w[0] === 'route') {
      const dst = w[2] === 'to' ? w[3]! : w[2]!;
      const via = w[w.indexOf('via') + 1]!;
      // Without `dev` the kernel picks the device whose subnet holds the nexthop.
      const dev = w.includes('dev') ? w[w.indexOf('dev') + 1]! : this.deviceFor(via);
      const i = this.router.routes.findIndex((r) => r.dst === dst);
      if (w[1] === 'replace') {
        const r = { dst, gateway: via, dev, protocol: 'boot' };
        if (i >= 0) this.router.routes[i] = r;
        else this.router.routes.push(r);
      } else {
        if (i < 0) throw new Error('RTNETLINK answers: No such process');
        this.router.routes.splice(i, 1);
      }
    } else throw new Error(`fake kernel: unknown line ${line}`);
  }

  private deviceFor(ip: string): string | null {
    for (const l of this.router.links.values()) {
      if (l.addrs.some((a) => a.scope === 'global' && a.prefixlen < 32 && contains(`${a.local}/${a.prefixlen}`, ip))) return l.name;
    }
    return null;
  }

  apply(p: Plan, restoredSave: string) {
    for (const n of p.createNamespaces) {
      if (n !== NS) continue;
      this.router.exists = true;
      this.router.links.set('lo', { name: 'lo', mac: '00:00:00:00:00:00', up: false, master: null, addrs: [{ local: '127.0.0.1', prefixlen: 8, scope: 'host' }] });
    }
    for (const l of p.hostBatch) this.ip(this.host.links, l);
    for (const l of p.routerBatch) this.ip(this.router.links, l);
    for (const l of p.fipBatch) this.ip(this.router.links, l);
    if (p.restore !== null) this.router.iptablesSave = restoredSave;
    if (p.setForwarding) this.router.ipForward = true;
    if (p.hostSysctls.includes('net.ipv4.conf.all.arp_ignore=1')) this.router.arpIgnore = '1';
    if (p.hostSysctls.includes('net.bridge.bridge-nf-call-iptables=0')) this.router.bridgeNfCall = false;
    if (p.deleteNamespace) this.router = { ns: NS, exists: false, links: new Map(), routes: [], iptablesSave: '', ipForward: false };
  }
}

/** What iptables-save prints once our section is in place. */
const saveOf = (s: State): string => saveText(desiredSection(desired(s).nat));

function converge(k: FakeKernel, s: State): Plan {
  const p = planRouter(desired(s), k.router, k.host, { sendArp: true });
  k.apply(p, saveOf(s));
  return p;
}


describe('planRouter', () => {
  it('new router: namespace, lo up, forwarding, our chains; nothing in the host', () => {
    const k = new FakeKernel();
    const p = converge(k, state());
    assert.deepEqual(p.createNamespaces, [NS]);
    assert.deepEqual(p.routerBatch, ['link set lo up']);
    assert.equal(p.setForwarding, true);
    assert.ok(p.restore?.includes('-A l3ctl-snat -j l3ctl-float-snat'));
    assert.deepEqual(p.hostBatch, []);
  });

  it('new port: bridge, veth with its peer in the namespace, MAC, address with brd, ARP', () => {
    const k = new FakeKernel();
    converge(k, state());
    const p = converge(k, state({ port: true }));
    const br = 'brq22222222-bb';
    assert.deepEqual(p.hostBatch, [
      `link add ${br} type bridge forward_delay 0`,
      `link set ${br} up`,
      `link add tap55555555-ee type veth peer name ${QR} netns ${NS}`,
      `link set tap55555555-ee master ${br}`,
      'link set tap55555555-ee up',
    ]);
    assert.deepEqual(p.routerBatch, [`link set ${QR} address fa:16:3e:00:00:02`, `link set ${QR} up`, `addr add 198.51.100.1/24 brd 198.51.100.255 scope global dev ${QR}`]);
    assert.deepEqual(p.garp, [{ dev: QR, ip: '198.51.100.1' }]);
    assert.equal(p.createNamespaces.length, 0);
  });

  it('new gateway: qg- on the external bridge, default route, SNAT of each internal CIDR', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true }));
    const p = converge(k, state({ port: true, gateway: true }));
    assert.ok(p.hostBatch.includes(`link add tap44444444-dd type veth peer name ${QG} netns ${NS}`));
    assert.ok(p.hostBatch.includes('link set tap44444444-dd master brq11111111-aa'));
    assert.ok(p.routerBatch.includes(`addr add 203.0.113.10/24 brd 203.0.113.255 scope global dev ${QG}`));
    assert.ok(p.routerBatch.includes(`route replace default via 203.0.113.1 dev ${QG}`));
    assert.ok(p.restore?.includes('-A l3ctl-snat -s 198.51.100.0/24 -j SNAT --to-source 203.0.113.10'));
    assert.ok(p.restore?.includes(`-A l3ctl-POSTROUTING ! -i ${QG} ! -o ${QG} -m conntrack ! --ctstate DNAT -j ACCEPT`));
  });

  it('FIP add: rules in the restore, the /32 only after it, ARP for it', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true, gateway: true }));
    const p = converge(k, state({ port: true, gateway: true, fips: [['203.0.113.20', '198.51.100.5']] }));
    assert.deepEqual(p.routerBatch, []);
    assert.deepEqual(p.fipBatch, [`addr add 203.0.113.20/32 brd 203.0.113.20 scope global dev ${QG}`]);
    assert.ok(p.restore?.includes('-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5'));
    assert.ok(p.restore?.includes('-A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20'));
    assert.deepEqual(p.garp, [{ dev: QG, ip: '203.0.113.20' }]);
    assert.deepEqual(p.conntrack, []);
  });

  it('FIP remap: rules rewritten, address kept, conntrack of the old mapping flushed', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true, gateway: true, fips: [['203.0.113.20', '198.51.100.5']] }));
    const p = converge(k, state({ port: true, gateway: true, fips: [['203.0.113.20', '198.51.100.6']] }));
    assert.deepEqual(p.routerBatch, []);
    assert.deepEqual(p.fipBatch, []);
    assert.ok(p.restore?.includes('--to-destination 198.51.100.6'));
    assert.ok(!p.restore?.includes('198.51.100.5'));
    assert.deepEqual(p.conntrack, [{ fip: '203.0.113.20', fixed: '198.51.100.5' }]);
  });

  it('FIP remove: address removed before the rules go, conntrack flushed', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true, gateway: true, fips: [['203.0.113.20', '198.51.100.5']] }));
    const p = converge(k, state({ port: true, gateway: true }));
    assert.deepEqual(p.routerBatch, [`addr del 203.0.113.20/32 dev ${QG}`]);
    assert.ok(p.restore !== null && !p.restore.includes('203.0.113.20'));
    assert.deepEqual(p.conntrack, [{ fip: '203.0.113.20', fixed: '198.51.100.5' }]);
  });

  it('routes: add, replace of the same destination (no delete), delete', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true }));
    let p = converge(k, state({ port: true, routes: [['192.0.2.0/24', '198.51.100.254']] }));
    assert.deepEqual(p.routerBatch, ['route replace to 192.0.2.0/24 via 198.51.100.254']);
    p = converge(k, state({ port: true, routes: [['192.0.2.0/24', '198.51.100.253']] }));
    assert.deepEqual(p.routerBatch, ['route replace to 192.0.2.0/24 via 198.51.100.253']);
    p = converge(k, state({ port: true }));
    assert.deepEqual(p.routerBatch, ['route del to 192.0.2.0/24 via 198.51.100.253']);
  });

  it('a port re-plumbed under the same id: new address added before the old goes, new MAC', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true }));
    const s = state({ port: true });
    s.routers[0]!.interfaces[0]!.ip_address = '198.51.100.2';
    s.routers[0]!.interfaces[0]!.mac_address = 'fa:16:3e:00:00:09';
    const p = converge(k, s);
    assert.deepEqual(p.routerBatch, [
      `link set ${QR} address fa:16:3e:00:00:09`,
      `addr add 198.51.100.2/24 brd 198.51.100.255 scope global dev ${QR}`,
      `addr del 198.51.100.1/24 dev ${QR}`,
    ]);
  });

  it('a port moved to another network is put on the other bridge', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true }));
    const s = state({ port: true });
    Object.assign(s.routers[0]!.interfaces[0]!, { network_id: PRIV2, ip_address: '192.0.2.1' });
    const p = converge(k, s);
    assert.ok(p.hostBatch.includes('link set tap55555555-ee master brq23232323-bb'));
    assert.ok(p.routerBatch.includes(`addr add 192.0.2.1/25 brd 192.0.2.127 scope global dev ${QR}`));
  });

  it('removed port: device deleted (both veth ends), SNAT rule gone', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true, gateway: true }));
    const p = converge(k, state({ gateway: true }));
    assert.deepEqual(p.routerBatch, [`link del ${QR}`]);
    assert.ok(p.restore !== null && !p.restore.includes('198.51.100.0/24'));
  });

  it('re-planning after apply gives an empty plan, for every step of a life', () => {
    const k = new FakeKernel();
    const steps = [
      state(), state({ port: true }), state({ port: true, gateway: true }),
      state({ port: true, gateway: true, fips: [['203.0.113.20', '198.51.100.5'], ['203.0.113.21', '198.51.100.6']] }),
      state({ port: true, gateway: true, fips: [['203.0.113.21', '198.51.100.5']], routes: [['192.0.2.128/25', '198.51.100.254']] }),
      state({ port: true }),
    ];
    for (const s of steps) {
      converge(k, s);
      const again = planRouter(desired(s), k.router, k.host, { sendArp: true });
      assert.ok(isEmptyPlan(again), `second plan not empty: ${JSON.stringify(again)}`);
    }
  });

  it('an operator bridge that is missing is a clear error before anything runs', () => {
    const s = state({ gateway: true });
    s.config.external_network_bridge = 'br-ex';
    const k = new FakeKernel();
    assert.throws(() => planRouter(desired(s), k.router, k.host, { sendArp: false }), (e: Error & { exitCode?: number }) => {
      assert.match(e.message, /external network bridge 'br-ex' does not exist/);
      assert.equal(e.exitCode, 1);
      return true;
    });
  });

  it('send_arp_for_ha 0: no gratuitous ARP planned', () => {
    const k = new FakeKernel();
    converge(k, state());
    const p = planRouter(desired(state({ port: true })), k.router, k.host, { sendArp: false });
    assert.deepEqual(p.garp, []);
  });
});

describe('planTeardown', () => {
  it('FIPs first, then internal ports, then the gateway, then the namespace', () => {
    const k = new FakeKernel();
    converge(k, state({ port: true, gateway: true, fips: [['203.0.113.20', '198.51.100.5']] }));
    const p = planTeardown(NS, k.router);
    assert.deepEqual(p.routerBatch, [`addr del 203.0.113.20/32 dev ${QG}`, `link del ${QR}`, `link del ${QG}`]);
    assert.equal(p.deleteNamespace, true);
  });

  it('nothing to do for a namespace that is not there', () => {
    const k = new FakeKernel();
    assert.ok(isEmptyPlan(planTeardown(NS, k.router)));
  });
});

describe('use_namespaces false: the router shares the host namespace', () => {
  const HOST = 'hostns';
  function sharedState(opts: Parameters<typeof state>[0] = {}): State {
    const s = state(opts);
    Object.assign(s.config, { use_namespaces: 'false', router_id: R });
    return s;
  }
  /** One namespace for bridges and router devices, with a foreign default route. */
  function sharedKernel(): FakeKernel {
    const k = new FakeKernel();
    k.router = { ns: HOST, exists: true, links: k.host.links, routes: [{ dst: 'default', gateway: '192.0.2.254', dev: 'eth0', protocol: 'boot' }], iptablesSave: '', ipForward: false, arpIgnore: '0', bridgeNfCall: true };
    k.host.links.set('eth0', { name: 'eth0', mac: '02:00:00:00:00:01', up: true, master: null, addrs: [{ local: '192.0.2.200', prefixlen: 25, scope: 'global' }] });
    k.host.links.set('lo', { name: 'lo', mac: '00:00:00:00:00:00', up: true, master: null, addrs: [] });
    return k;
  }

  it('places the router in host_namespace: no namespace of its own, veth peers stay there', () => {
    const s = sharedState({ port: true });
    const d = desired(s);
    assert.equal(d.ns, HOST);
    assert.equal(d.shared, true);
    const k = sharedKernel();
    const p = converge(k, s);
    assert.deepEqual(p.createNamespaces, []);
    assert.ok(p.hostBatch.includes(`link add tap55555555-ee type veth peer name ${QR}`), p.hostBatch.join('\n'));
    assert.ok(!p.routerBatch.includes('link set lo up'));
    assert.equal(p.setForwarding, true);
    assert.deepEqual(p.hostSysctls, ['net.ipv4.conf.all.arp_ignore=1', 'net.bridge.bridge-nf-call-iptables=0']);
    assert.equal(p.deleteNamespace, false);
    assert.ok(isEmptyPlan(planRouter(desired(s), k.router, k.host, { sendArp: true })), 'converged after one pass');
  });

  it('never deletes the host namespace\'s own routes or devices', () => {
    const k = sharedKernel();
    converge(k, sharedState({ port: true, routes: [['198.51.100.128/25', '198.51.100.254']] }));
    const p = converge(k, sharedState({ port: true }));
    assert.deepEqual(p.routerBatch, ['route del to 198.51.100.128/25 via 198.51.100.254']);
    assert.ok(k.router.routes.some((r) => r.dev === 'eth0'), 'the foreign default route survives');
    assert.ok(k.host.links.has('eth0'));
  });

  it('teardown removes our devices and chains, keeps the namespace', () => {
    const k = sharedKernel();
    const s = sharedState({ port: true, gateway: true });
    converge(k, s);
    const p = planTeardown(HOST, k.router, true);
    assert.deepEqual(p.routerBatch, [`link del ${QR}`, `link del ${QG}`]);
    assert.equal(p.deleteNamespace, false);
    assert.ok(p.restore?.includes('-X l3ctl-snat'), p.restore ?? 'no restore');
    assert.ok(!/^-A /m.test(p.restore ?? ''), 'no rule of ours is written back');
  });

  it('other routers keep their own qrouter- namespace (torn down, as they are not handled)', () => {
    const s = sharedState();
    s.routers.push({ ...s.routers[0]!, id: '77777777-aaaa-4aaa-8aaa-000000000007', name: 'r2' });
    const d = desiredRouter(s, effectiveConfig(s.config), s.routers[1]!);
    assert.equal(d.ns, 'qrouter-77777777-aaaa-4aaa-8aaa-000000000007');
    assert.equal(d.shared, false);
  });
});
