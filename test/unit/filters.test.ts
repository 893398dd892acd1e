// Which routers this host handles, the state report counts and the cleanup
// candidates derived from the filters. Pure, no root.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyNamespaces } from '../../src/agent/cleanup.js';
import { agentExternalNetwork, checkConfig, skipReason } from '../../src/agent/filters.js';
import { stateReport } from '../../src/agent/report.js';
import { checkPass } from '../../src/agent/sync.js';
import { effectiveConfig } from '../../src/model/config.js';
import { emptyState, type Router, type State } from '../../src/model/types.js';
import { net, port as v2port } from '../helpers/one-subnet.js';

const EXT = '11111111-aaaa-4aaa-8aaa-000000000001';
const EXT2 = '11111111-aaaa-4aaa-8aaa-000000000002';
const PRIV = '22222222-bbbb-4bbb-8bbb-000000000002';
const id = (n: number) => `33333333-cccc-4ccc-8ccc-${String(n).padStart(12, '0')}`;
const port = (n: number, net: string, ip: string) => v2port({ id: `44444444-dddd-4ddd-8ddd-${String(n).padStart(12, '0')}`, network_id: net, ip_address: ip, mac_address: 'fa:16:3e:00:00:01', admin_state_up: true });

/** r1: gateway on ext + one port + 2 FIPs (one unassociated); r2: internal only; r3: disabled, gateway. */
function state(config: Record<string, string> = {}): State {
  const s = emptyState();
  s.config = config;
  s.networks.push(
    net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
    net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
  );
  const r = (n: number, o: Partial<Router>): Router => ({ id: id(n), name: `r${n}`, admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null, ...o });
  s.routers.push(
    r(1, { gateway: port(1, EXT, '203.0.113.10'), interfaces: [port(2, PRIV, '198.51.100.1')] }),
    r(2, { interfaces: [port(3, PRIV, '198.51.100.2'), port(4, PRIV, '198.51.100.3')] }),
    r(3, { admin_state_up: false, gateway: port(5, EXT, '203.0.113.11') }),
  );
  s.floatingips.push(
    { id: '66666666-ffff-4fff-8fff-000000000001', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: id(1) },
    { id: '66666666-ffff-4fff-8fff-000000000002', floating_ip_address: '203.0.113.21', floating_network_id: EXT, fixed_ip_address: null, router_id: null },
  );
  return s;
}

const reasons = (s: State) => s.routers.map((r) => skipReason(s, effectiveConfig(s.config), r));

describe('skipReason', () => {
  it('defaults: admin state down is skipped, the rest handled', () => {
    assert.deepEqual(reasons(state()), [null, null, 'admin-down']);
  });

  it('admin state down comes first, whatever else applies', () => {
    assert.deepEqual(reasons(state({ use_namespaces: 'false', router_id: id(1), handle_internal_only_routers: 'false' })), [null, 'not-router_id', 'admin-down']);
  });

  it('use_namespaces false: only router_id is handled', () => {
    assert.deepEqual(reasons(state({ use_namespaces: 'false', router_id: id(2) })), ['not-router_id', null, 'admin-down']);
  });

  it('use_namespaces true: router_id does not filter (the agent filters on it only without namespaces)', () => {
    assert.deepEqual(reasons(state({ router_id: id(2) })), [null, null, 'admin-down']);
  });

  it('handle_internal_only_routers false: routers without a gateway are skipped', () => {
    assert.deepEqual(reasons(state({ handle_internal_only_routers: 'false' })), [null, 'internal-only', 'admin-down']);
  });

  it('a gateway on another external network than gateway_external_network_id is skipped', () => {
    assert.deepEqual(reasons(state({ gateway_external_network_id: EXT2 })), ['other-external-network', null, 'admin-down']);
    assert.deepEqual(reasons(state({ gateway_external_network_id: EXT })), [null, null, 'admin-down']);
  });

  it("several external networks and none configured: the agent's error, only for gateway routers", () => {
    const s = state();
    s.networks.push(net({ id: EXT2, name: 'ext2', cidr: '192.0.2.0/24', gateway_ip: null, external: true, bridge: null }));
    const c = effectiveConfig(s.config);
    const msg = "The 'gateway_external_network_id' option must be configured for this agent as l3ctl has more than one external network.";
    assert.throws(() => agentExternalNetwork(s, c), (e: Error & { exitCode: number }) => e.message === msg && e.exitCode === 2);
    assert.throws(() => skipReason(s, c, s.routers[0]!), { message: msg });
    assert.equal(skipReason(s, c, s.routers[1]!), null);
    assert.throws(() => checkPass(s, c, s.routers), { message: msg });
    // A pass over internal-only routers does not need the external network.
    checkPass(s, c, [s.routers[1]!]);
    s.config.gateway_external_network_id = EXT2;
    assert.deepEqual(reasons(s), ['other-external-network', null, 'admin-down']);
  });

  it('use_namespaces false without router_id is a clear error (exit 2)', () => {
    assert.throws(() => checkConfig(effectiveConfig({ use_namespaces: 'false' })), (e: Error & { exitCode: number; hint?: string }) => {
      assert.match(e.message, /router_id is required when use_namespaces is false/);
      assert.equal(e.exitCode, 2);
      assert.match(e.hint ?? '', /config set router_id/);
      return true;
    });
    checkConfig(effectiveConfig({ use_namespaces: 'false', router_id: id(1) }));
  });
});

describe('stateReport', () => {
  const now = new Date('2024-01-02T03:04:05.678Z');

  it('counts only handled routers: routers, gateways, interfaces, associated FIPs', () => {
    const r = stateReport(state(), effectiveConfig({}), { host: 'h1', now, startFlag: true });
    assert.deepEqual(r, {
      binary: 'l3ctl', host: 'h1', topic: 'l3_agent', agent_type: 'L3 agent', start_flag: true,
      configurations: {
        use_namespaces: true, router_id: null, handle_internal_only_routers: true, gateway_external_network_id: null,
        interface_driver: 'linuxbridge', routers: 2, ex_gw_ports: 1, interfaces: 3, floating_ips: 1,
      },
      time: '2024-01-02T03:04:05.678Z',
    });
  });

  it('start_flag only when asked; counts follow the filters', () => {
    const s = state({ handle_internal_only_routers: 'false' });
    const r = stateReport(s, effectiveConfig(s.config), { host: 'h1', now });
    assert.equal('start_flag' in r, false);
    assert.deepEqual([r.configurations.routers, r.configurations.ex_gw_ports, r.configurations.interfaces, r.configurations.floating_ips], [1, 1, 1, 1]);
  });
});

const staleNamespaces = (all: string[], s: State, c: ReturnType<typeof effectiveConfig>) => classifyNamespaces(all, s, c, new Map()).candidates.map((x) => x.ns);

describe('cleanup candidates (no other store)', () => {
  const stray = '77777777-0000-4000-8000-000000000007';
  const all = [`qrouter-${id(1)}`, `qrouter-${id(2)}`, `qrouter-${id(3)}`, `qrouter-${stray}`, 'qrouter-not-a-uuid', 'l3ctl-t-host', 'qdhcp-x'];

  it('qrouter-<uuid> namespaces no handled router owns; managed ones never', () => {
    const s = state();
    assert.deepEqual(staleNamespaces(all, s, effectiveConfig(s.config)), [`qrouter-${id(3)}`, `qrouter-${stray}`].sort());
  });

  it('with router_id set: only qrouter-<router_id>, and only when that router is not handled', () => {
    let s = state({ router_id: stray });
    assert.deepEqual(staleNamespaces(all, s, effectiveConfig(s.config)), [`qrouter-${stray}`]);
    s = state({ router_id: id(1) });
    assert.deepEqual(staleNamespaces(all, s, effectiveConfig(s.config)), []);
    s = state({ router_id: id(3) });
    assert.deepEqual(staleNamespaces(all, s, effectiveConfig(s.config)), [`qrouter-${id(3)}`]);
  });

  it('a stored router whose filter cannot be decided is kept (never remove what may be managed)', () => {
    const s = state();
    s.networks.push(net({ id: EXT2, name: 'ext2', cidr: '192.0.2.0/24', gateway_ip: null, external: true, bridge: null }));
    assert.deepEqual(staleNamespaces(all, s, effectiveConfig(s.config)), [`qrouter-${id(3)}`, `qrouter-${stray}`].sort());
  });
});
