// A small world for the planner's unit tests: one external network, two
// internal ones, a router with a gateway and a port, built as a State; and
// the agent's pass (observe → plan → apply) run against a fake system with
// the real functions of src/agent/pass.ts.
import type { System } from '../../src/agent/pass.js';
import { effectiveConfig } from '../../src/model/config.js';
import { emptyState, type State } from '../../src/model/types.js';
import { net, port } from './one-subnet.js';
import { applyPlans, planHostLeftovers, planNetworkBridges, planRouterPass } from '../../src/agent/pass.js';
import { isEmptyPlan, type Plan } from '../../src/agent/steps.js';
import type { Runner } from '../../src/linux/runner.js';

export const HOST = 'l3ctl-t-unit-host';
export const EXT = '11111111-aaaa-4aaa-8aaa-000000000001';
export const PRIV = '22222222-bbbb-4bbb-8bbb-000000000002';
export const PRIV2 = '23232323-bbbb-4bbb-8bbb-000000000003';
export const R = '33333333-cccc-4ccc-8ccc-000000000003';
export const GWP = '44444444-dddd-4ddd-8ddd-000000000004';
export const QRP = '55555555-eeee-4eee-8eee-000000000005';
export const QRP2 = '56565656-eeee-4eee-8eee-000000000006';
export const NS = `qrouter-${R}`;
export const QG = 'qg-44444444-dd';
export const QR = 'qr-55555555-ee';
export const QR2 = 'qr-56565656-ee';
export const TAPG = 'tap44444444-dd';
export const TAPR = 'tap55555555-ee';
export const TAPR2 = 'tap56565656-ee';
export const BRX = 'brq11111111-aa';
export const BRP = 'brq22222222-bb';
export const BRP2 = 'brq23232323-bb';

export interface WorldOptions {
  gateway?: boolean;
  port?: boolean;
  port2?: boolean;
  fips?: [string, string][];
  routes?: [string, string][];
  config?: Record<string, string>;
}

/** The store: networks ext, priv, priv2; router r1 with what `opts` asks for. */
export function world(opts: WorldOptions = {}): State {
  const s = emptyState();
  s.config = { host_namespace: HOST, external_network_bridge: '', send_arp_for_ha: '3', ...opts.config };
  s.networks.push(
    net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
    net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
    net({ id: PRIV2, name: 'priv2', cidr: '192.0.2.0/25', gateway_ip: '192.0.2.1', external: false, bridge: null }),
  );
  s.routers.push({
    id: R,
    name: 'r1',
    admin_state_up: true,
    gateway: opts.gateway ? port({ id: GWP, network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true }) : null,
    interfaces: [
      ...(opts.port ? [port({ id: QRP, network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:02', admin_state_up: true })] : []),
      ...(opts.port2 ? [port({ id: QRP2, network_id: PRIV2, ip_address: '192.0.2.1', mac_address: 'fa:16:3e:00:00:03', admin_state_up: true })] : []),
    ],
    routes: (opts.routes ?? []).map(([destination, nexthop]) => ({ destination, nexthop })),
    ha: false,
    ha_vr_id: null,
  });
  for (const [fip, fixed] of opts.fips ?? []) {
    s.floatingips.push({ id: `66666666-ffff-4fff-8fff-${fip.split('.').map((x) => x.padStart(3, '0')).join('')}`, floating_ip_address: fip, floating_network_id: EXT, fixed_ip_address: fixed, router_id: R });
  }
  return s;
}

/** Every router id a test has seen: a removed router's namespace is planned (torn down) too. */
const seen = new WeakMap<object, Set<string>>();

/**
 * One pass of the agent over `state`, as `agent sync --all` runs it:
 * network bridges, then each router (stored ones, and any the runner has
 * seen before, which are torn down), then what of ours no router owns in
 * the host namespace. Returns every plan, empty ones included.
 */
export async function converge(sys: System, state: State, warn: (t: string) => void = () => {}): Promise<Plan[]> {
  const config = effectiveConfig(state.config);
  const { runner } = sys;
  const ctx = { runner, files: sys.files, storePath: sys.storePath, config, warn };
  const ids = seen.get(runner) ?? new Set<string>();
  seen.set(runner, ids);
  for (const r of state.routers) ids.add(r.id);
  const plans: Plan[] = [await planNetworkBridges(runner, state, config)];
  await applyPlans(ctx, plans);
  for (const id of ids) {
    const p = await planRouterPass(sys, state, config, id);
    await applyPlans(ctx, p);
    plans.push(...p);
  }
  const left = await planHostLeftovers(runner, state, config);
  await applyPlans(ctx, left);
  plans.push(...left);
  return plans;
}

/** The plans a second pass would run: [] when the kernel is as stored. */
export async function replan(sys: System, state: State): Promise<Plan[]> {
  const config = effectiveConfig(state.config);
  const { runner } = sys;
  const ids = seen.get(runner) ?? new Set(state.routers.map((r) => r.id));
  const plans: Plan[] = [await planNetworkBridges(runner, state, config)];
  for (const id of ids) plans.push(...(await planRouterPass(sys, state, config, id)));
  plans.push(...(await planHostLeftovers(runner, state, config)));
  return plans.filter((p) => !isEmptyPlan(p));
}
