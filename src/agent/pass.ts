// One pass of process_router for the objects a command or a full sync
// touches: observe the kernel now, plan. The plans are what apply runs, what
// --dry-run prints, what `agent check` and `router show` report.
import type { Config } from '../model/config.js';
import { BRIDGE_PREFIX, namespaceName, networkBridge } from '../model/names.js';
import type { Network, State } from '../model/types.js';
import { applyActions } from '../linux/apply.js';
import { iptablesVersion, observeHost, observeNs, type ObservedHost, type ObservedNs } from '../linux/observe.js';
import type { Files } from '../linux/files.js';
import type { ObservedOvs } from '../linux/ovs.js';
import type { Runner } from '../linux/runner.js';
import { observeDaemons, type ObservedDaemon } from './daemons.js';
import { desiredRouter, placement } from './desired.js';
import { driverFor } from './drivers/index.js';
import { skipReason } from './filters.js';
import { planRouter, planTeardown } from './plan.js';
import { actionsOf, isEmptyPlan, type Plan } from './steps.js';

/**
 * What a pass reads and changes: programs through the runner, daemon files
 * through files (the same face: real, or printing under --dry-run), and the
 * store's path, beside which each router's daemon files live.
 */
export interface System {
  runner: Runner;
  files: Files;
  storePath: string;
}

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
  /** The switch (interface_driver ovs: one ovs-vsctl read); null otherwise. */
  ovs: ObservedOvs | null;
  /** iptables' version when the namespace's save does not tell it. */
  iptablesVersion: string | null;
  /** Every kind of per-router daemon, observed where the router's devices live. */
  daemons: ObservedDaemon[];
}

export async function observeRouter(sys: System, state: State, config: Config, routerId: string): Promise<RouterObservation> {
  const { runner } = sys;
  const place = placement(config, routerId);
  const [obs, host, leftover, ovs, daemons] = await Promise.all([
    observeNs(runner, place.ns, { shared: place.shared }),
    observeHost(runner, config.host_namespace),
    place.shared ? observeNs(runner, namespaceName(routerId)) : null,
    driverFor(config.interface_driver).observe(runner),
    observeDaemons(sys.files, sys.storePath, routerId, place.ns),
  ]);
  // A namespace yet to be built has no save to tell the version by.
  const version = obs.iptables.version === null && handled(state, config, routerId) ? await iptablesVersion(runner) : null;
  return { obs, host, leftover, ovs, iptablesVersion: version, daemons };
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
  const driver = driverFor(config.interface_driver);
  const side = { host: o.host, ovs: o.ovs };
  const plans: Plan[] = [];
  if (o.leftover?.exists) plans.push(planTeardown(o.leftover.ns, o.leftover, side, driver));
  if (!router) plans.push(planTeardown(place.ns, o.obs, side, driver, place.shared, o.daemons));
  else plans.push(planRouter(desiredRouter(state, config, router), o.obs, side, { sendArp: config.send_arp_for_ha > 0, iptablesVersion: o.iptablesVersion }, o.daemons));
  return plans;
}

export async function planRouterPass(sys: System, state: State, config: Config, routerId: string): Promise<Plan[]> {
  return planRouterFrom(state, config, routerId, await observeRouter(sys, state, config, routerId));
}

/**
 * What of ours is in the host namespace when no stored, handled router owns
 * it: devices and chains a shared router left there (use_namespaces was
 * false, or router_id named another router).
 */
export async function planHostLeftovers(runner: Runner, state: State, config: Config): Promise<Plan[]> {
  if (!config.use_namespaces && config.router_id && handled(state, config, config.router_id)) return [];
  const driver = driverFor(config.interface_driver);
  const [obs, ovs] = await Promise.all([observeNs(runner, config.host_namespace), driver.observe(runner)]);
  const host = { ns: config.host_namespace, exists: obs.exists, links: obs.links };
  return [planTeardown(config.host_namespace, obs, { host, ovs }, driver, true)];
}

/** Bridges of the networks in `state` exist; bridges l3ctl made for `removed` networks are gone. */
export async function planNetworkBridges(runner: Runner, state: State, config: Config, removed: Network[] = []): Promise<Plan> {
  const host = await observeHost(runner, config.host_namespace);
  const steps = driverFor(config.interface_driver).planNetworks(state.networks, host);
  for (const n of removed) {
    const b = networkBridge(n);
    if (!n.bridge && b.startsWith(BRIDGE_PREFIX) && host.links.has(b)) {
      steps.push({ findings: [{ kind: 'extra-bridge', object: b, expected: null, live: 'present' }], actions: [{ phase: 'host', line: `link del ${b}` }] });
    }
  }
  return { ns: null, hostNs: config.host_namespace, steps };
}

export interface ApplyContext extends System {
  config: Config;
  warn?: (text: string) => void;
}

export async function applyPlans(ctx: ApplyContext, plans: Plan[]): Promise<void> {
  for (const p of plans) {
    if (!isEmptyPlan(p)) await applyActions(ctx.runner, actionsOf(p), { sendArpForHa: ctx.config.send_arp_for_ha, files: ctx.files, warn: ctx.warn });
  }
}

/** Observe, plan and apply one router; the plans that ran. */
export async function convergeRouter(ctx: ApplyContext, state: State, routerId: string): Promise<Plan[]> {
  const plans = await planRouterPass(ctx, state, ctx.config, routerId);
  await applyPlans(ctx, plans);
  return plans;
}
