// One pass of process_router for the objects a command or a full sync
// touches: observe the kernel now, plan. The plans are what apply runs, what
// --dry-run prints, what `agent check` and `router show` report.
import type { Config } from '../model/config.js';
import { BRIDGE_PREFIX, INTERNAL_DEV_PREFIX, TAP_PREFIX, isRouterDevice, namespaceName, networkBridge } from '../model/names.js';
import type { Network, State } from '../model/types.js';
import { applyActions } from '../linux/apply.js';
import { iptablesVersion, observeHost, observeNs, type ObservedHost, type ObservedNs } from '../linux/observe.js';
import type { Files } from '../linux/files.js';
import type { ObservedOvs } from '../linux/ovs.js';
import type { Runner } from '../linux/runner.js';
import { afterStop, observeDaemons, type ObservedDaemon } from './daemons.js';
import { desiredRouter, ipv6Devices, placement } from './desired.js';
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

/** What every router of a pass shares: the bridges' namespace and the switch, read once. */
export interface SharedView {
  host: ObservedHost;
  ovs: ObservedOvs | null;
}

export async function observeShared(runner: Runner, config: Config): Promise<SharedView> {
  const [host, ovs] = await Promise.all([observeHost(runner, config.host_namespace), driverFor(config.interface_driver).observe(runner)]);
  return { host, ovs };
}

/** `shared`: the host side as a pass already read it (each router's taps are its own, so one read serves them all). */
export async function observeRouter(sys: System, state: State, config: Config, routerId: string, shared?: SharedView): Promise<RouterObservation> {
  const { runner } = sys;
  const place = placement(config, routerId);
  const router = handled(state, config, routerId);
  const devices = router ? ipv6Devices(state, router) : null;
  const [obs, view, leftover, daemons] = await Promise.all([
    observeNs(runner, place.ns, { shared: place.shared, ...(devices ? { ipv6: { devices } } : {}) }),
    shared ?? observeShared(runner, config),
    place.shared ? observeNs(runner, namespaceName(routerId)) : null,
    observeDaemons(sys.files, sys.storePath, routerId, place.ns),
  ]);
  const { host, ovs } = view;
  // A namespace yet to be built has no save to tell the version by.
  const version = obs.iptables.version === null && router ? await iptablesVersion(runner) : null;
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
  let hs = side;
  let daemons = o.daemons;
  if (o.leftover?.exists) {
    // A daemon of ours outside the router's place runs in the leftover namespace (or in a
    // deleted one): stopped before that namespace goes, then started where the router lives.
    const strays = o.daemons.filter((d) => d.seen.stray);
    plans.push(planTeardown(o.leftover.ns, o.leftover, side, driver, false, strays));
    hs = { ...side, host: withoutHostEnds(side.host, o.leftover) };
    daemons = o.daemons.map((d) => (d.seen.stray ? afterStop(d) : d));
  }
  if (!router) plans.push(planTeardown(place.ns, o.obs, hs, driver, place.shared, daemons));
  else plans.push(planRouter(desiredRouter(state, config, router), o.obs, hs, { sendArp: config.send_arp_for_ha > 0, iptablesVersion: o.iptablesVersion }, daemons));
  return plans;
}

export async function planRouterPass(sys: System, state: State, config: Config, routerId: string, shared?: SharedView): Promise<Plan[]> {
  return planRouterFrom(state, config, routerId, await observeRouter(sys, state, config, routerId, shared));
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
export async function convergeRouter(ctx: ApplyContext, state: State, routerId: string, shared?: SharedView): Promise<Plan[]> {
  const plans = await planRouterPass(ctx, state, ctx.config, routerId, shared);
  await applyPlans(ctx, plans);
  return plans;
}
