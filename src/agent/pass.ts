// One pass of process_router for the objects a command or a full sync
// touches: observe the kernel now, plan. The plans are what apply runs, what
// --dry-run prints, what `agent check` and `router show` report.
import type { Config } from '../model/config.js';
import { BRIDGE_PREFIX, INTERNAL_DEV_PREFIX, TAP_PREFIX, isRouterDevice, namespaceName, networkBridge } from '../model/names.js';
import type { Network, State } from '../model/types.js';
import { applyActions } from '../linux/apply.js';
import { iptablesVersion, observeHost, observeNs, type ObservedHost, type ObservedNs } from '../linux/observe.js';
import type { Runner } from '../linux/runner.js';
import { desiredRouter, placement } from './desired.js';
import { skipReason } from './filters.js';
import { planBridges, planRouter, planTeardown } from './plan.js';
import { actionsOf, isEmptyPlan, type Plan } from './steps.js';

/** Is this stored router handled here? */
function handled(state: State, config: Config, routerId: string) {
  const router = state.routers.find((r) => r.id === routerId);
  return router && skipReason(state, config, router) === null ? router : null;
}

/** What the kernel has for one router id: its namespace, the bridges' namespace, a leftover `qrouter-` of a shared router. */
export interface RouterObservation {
  obs: ObservedNs;
  host: ObservedHost;
  leftover: ObservedNs | null;
  /** iptables' version when the namespace's save does not tell it. */
  iptablesVersion: string | null;
}

export async function observeRouter(runner: Runner, state: State, config: Config, routerId: string): Promise<RouterObservation> {
  const place = placement(config, routerId);
  const [obs, host, leftover] = await Promise.all([
    observeNs(runner, place.ns, { shared: place.shared }),
    observeHost(runner, config.host_namespace),
    place.shared ? observeNs(runner, namespaceName(routerId)) : null,
  ]);
  // A namespace yet to be built has no save to tell the version by.
  const version = obs.iptables.version === null && handled(state, config, routerId) ? await iptablesVersion(runner) : null;
  return { obs, host, leftover, iptablesVersion: version };
}

/**
 * The plans that bring one router id in line with `state`: its namespace
 * converged when it is stored and handled here, torn down otherwise. With
 * use_namespaces false the router_id router lives in the host namespace, and
 * a `qrouter-` namespace of its from before is torn down too. Pure.
 */
export function planRouterFrom(state: State, config: Config, routerId: string, o: RouterObservation): Plan[] {
  const place = placement(config, routerId);
  const router = handled(state, config, routerId);
  const plans: Plan[] = [];
  let host = o.host;
  if (o.leftover?.exists) {
    plans.push(planTeardown(o.leftover.ns, o.leftover, config.host_namespace));
    host = withoutHostEnds(host, o.leftover);
  }
  if (!router) plans.push(planTeardown(place.ns, o.obs, config.host_namespace, place.shared));
  else plans.push(planRouter(desiredRouter(state, config, router), o.obs, host, { sendArp: config.send_arp_for_ha > 0, iptablesVersion: o.iptablesVersion }));
  return plans;
}

/**
 * The host namespace once `gone`'s devices are deleted: a veth end takes its
 * host end (`tap` + the same port id) along, so a plan that runs after the
 * teardown must not delete those again.
 */
function withoutHostEnds(host: ObservedHost, gone: ObservedNs): ObservedHost {
  // qr- and qg- have the same length: the port id part starts at the same place.
  const taps = new Set([...gone.links.keys()].filter(isRouterDevice).map((d) => TAP_PREFIX + d.slice(INTERNAL_DEV_PREFIX.length)));
  return { ...host, links: new Map([...host.links].filter(([name]) => !taps.has(name))) };
}

export async function planRouterPass(runner: Runner, state: State, config: Config, routerId: string): Promise<Plan[]> {
  return planRouterFrom(state, config, routerId, await observeRouter(runner, state, config, routerId));
}

/**
 * What of ours is in the host namespace when no stored, handled router owns
 * it: devices and chains a shared router left there (use_namespaces was
 * false, or router_id named another router).
 */
export async function planHostLeftovers(runner: Runner, state: State, config: Config): Promise<Plan[]> {
  if (!config.use_namespaces && config.router_id && handled(state, config, config.router_id)) return [];
  const obs = await observeNs(runner, config.host_namespace);
  return [planTeardown(config.host_namespace, obs, config.host_namespace, true)];
}

/** Bridges of the networks in `state` exist; bridges l3ctl made for `removed` networks are gone. */
export async function planNetworkBridges(runner: Runner, state: State, config: Config, removed: Network[] = []): Promise<Plan> {
  const host = await observeHost(runner, config.host_namespace);
  const steps = planBridges(host, state.networks.map((n) => ({ name: networkBridge(n), mustExist: false })));
  for (const n of removed) {
    const b = networkBridge(n);
    if (!n.bridge && b.startsWith(BRIDGE_PREFIX) && host.links.has(b)) {
      steps.push({ findings: [{ kind: 'extra-bridge', object: b, expected: null, live: 'present' }], actions: [{ phase: 'host', line: `link del ${b}` }] });
    }
  }
  return { ns: null, hostNs: config.host_namespace, steps };
}

export interface ApplyContext {
  runner: Runner;
  config: Config;
  warn?: (text: string) => void;
}

export async function applyPlans(ctx: ApplyContext, plans: Plan[]): Promise<void> {
  for (const p of plans) {
    if (!isEmptyPlan(p)) await applyActions(ctx.runner, actionsOf(p), { sendArpForHa: ctx.config.send_arp_for_ha, warn: ctx.warn });
  }
}

/** Observe, plan and apply one router; the plans that ran. */
export async function convergeRouter(ctx: ApplyContext, state: State, routerId: string): Promise<Plan[]> {
  const plans = await planRouterPass(ctx.runner, state, ctx.config, routerId);
  await applyPlans(ctx, plans);
  return plans;
}
