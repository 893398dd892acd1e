// One pass of process_router for the routers a command touched: observe the
// kernel now, plan, apply. Also the bridges of networks.
import type { Config } from '../model/config.js';
import { namespaceName } from '../model/names.js';
import type { Network, State } from '../model/types.js';
import { listNamespaces, observeLinks, observeRouterNs } from '../linux/observe.js';
import { applyPlan } from '../linux/apply.js';
import type { Runner } from '../linux/runner.js';
import { networkBridge, BRIDGE_PREFIX } from '../model/names.js';
import { desiredRouter } from './desired.js';
import { skipReason } from './filters.js';
import { emptyPlan, isEmptyPlan, planHost, planRouter, planTeardown, type HostView, type Plan } from './plan.js';

export async function observeHost(runner: Runner, hostNs: string | null): Promise<HostView> {
  if (hostNs && !listNamespaces().has(hostNs)) return { ns: hostNs, exists: false, links: new Map() };
  return { ns: hostNs, exists: true, links: await observeLinks(runner, hostNs) };
}

/** The plan that brings one router's namespace in line with `state` (torn down when absent or not handled). */
export async function planRouterPass(runner: Runner, state: State, config: Config, routerId: string): Promise<Plan> {
  const ns = namespaceName(routerId);
  const [obs, host] = await Promise.all([observeRouterNs(runner, ns), observeHost(runner, config.host_namespace)]);
  const router = state.routers.find((r) => r.id === routerId);
  if (!router || skipReason(state, config, router) !== null) return planTeardown(ns, obs);
  return planRouter(desiredRouter(state, config, router), obs, host, { sendArp: config.send_arp_for_ha > 0 });
}

export async function convergeRouter(runner: Runner, state: State, config: Config, routerId: string): Promise<Plan> {
  const plan = await planRouterPass(runner, state, config, routerId);
  if (!isEmptyPlan(plan)) await applyPlan(runner, plan, { hostNs: config.host_namespace, sendArpForHa: config.send_arp_for_ha });
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
