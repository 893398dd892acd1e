// One pass of process_router for the routers a command touched: observe the
// kernel now, plan, apply. Also the bridges of networks.
import type { Config } from '../model/config.js';
import type { Network, State } from '../model/types.js';
import { listNamespaces, observeLinks, observeRouterNs } from '../linux/observe.js';
import { applyPlan } from '../linux/apply.js';
import type { Runner } from '../linux/runner.js';
import { networkBridge, BRIDGE_PREFIX } from '../model/names.js';
import { desiredRouter, placement } from './desired.js';
import { namespaceName } from '../model/names.js';
import { skipReason } from './filters.js';
import { emptyPlan, isEmptyPlan, planHost, planRouter, planTeardown, type HostView, type Plan } from './plan.js';

export async function observeHost(runner: Runner, hostNs: string | null): Promise<HostView> {
  if (hostNs && !listNamespaces().has(hostNs)) return { ns: hostNs, exists: false, links: new Map() };
  return { ns: hostNs, exists: true, links: await observeLinks(runner, hostNs) };
}

/** The plan that brings one router's namespace in line with `state` (torn down when absent or not handled). */
export async function planRouterPass(runner: Runner, state: State, config: Config, routerId: string): Promise<Plan> {
  const place = placement(config, routerId);
  const [obs, host] = await Promise.all([observeRouterNs(runner, place.ns, { shared: place.shared }), observeHost(runner, config.host_namespace)]);
  const router = state.routers.find((r) => r.id === routerId);
  if (!router || skipReason(state, config, router) !== null) return planTeardown(place.ns, obs, place.shared);
  return planRouter(desiredRouter(state, config, router), obs, host, { sendArp: config.send_arp_for_ha > 0 });
}

export async function convergeRouter(runner: Runner, state: State, config: Config, routerId: string): Promise<Plan> {
  const opts = { hostNs: config.host_namespace, sendArpForHa: config.send_arp_for_ha };
  const own = namespaceName(routerId);
  if (placement(config, routerId).shared && listNamespaces().has(own)) {
    // Its own namespace, from before use_namespaces was turned off.
    await applyPlan(runner, planTeardown(own, await observeRouterNs(runner, own)), opts);
  }
  const plan = await planRouterPass(runner, state, config, routerId);
  if (!isEmptyPlan(plan)) await applyPlan(runner, plan, opts);
  return plan;
}

/**
 * With namespaces on, nothing of ours belongs in the host namespace: devices
 * and chains a shared router left there (use_namespaces was false) go.
 */
export async function convergeSharedLeftovers(runner: Runner, config: Config): Promise<Plan> {
  if (!config.use_namespaces) return emptyPlan(null);
  const obs = await observeRouterNs(runner, config.host_namespace);
  const plan = planTeardown(config.host_namespace, obs, true);
  if (!isEmptyPlan(plan)) await applyPlan(runner, plan, { hostNs: config.host_namespace, sendArpForHa: 0 });
  return plan;
}

/** Bridges of the networks in `state` exist; bridges l3ctl made for `removed` networks are gone. */
export async function convergeBridges(runner: Runner, state: State, config: Config, removed: Network[] = []): Promise<Plan> {
  const host = await observeHost(runner, config.host_namespace);
  const plan = emptyPlan(null);
  planHost(host, state.networks.map((n) => ({ name: networkBridge(n), mustExist: false })), plan);
  for (const n of removed) {
    const b = networkBridge(n);
    if (!n.bridge && b.startsWith(BRIDGE_PREFIX) && host.links.has(b)) plan.hostBatch.push(`link del ${b}`);
  }
  if (!isEmptyPlan(plan)) await applyPlan(runner, plan, { hostNs: config.host_namespace, sendArpForHa: 0 });
  return plan;
}
