// One pass of process_router for the objects a command or a full sync
// touches: observe the kernel now, plan. The plans are what apply runs, what
// --dry-run prints, what `agent check` and `router show` report.
import path from 'node:path';
import type { Config } from '../model/config.js';
import { BRIDGE_PREFIX, INTERNAL_DEV_PREFIX, TAP_PREFIX, isRouterDevice, namespaceName, networkBridge } from '../model/names.js';
import type { Network, State } from '../model/types.js';
import { applyActions } from '../linux/apply.js';
import { iptablesVersion, observeHost, observeNs, type ObservedHost, type ObservedNs } from '../linux/observe.js';
import type { Files } from '../linux/files.js';
import type { ObservedOvs } from '../linux/ovs.js';
import type { Runner } from '../linux/runner.js';
import { afterStop, observeDaemons, routerFilesDir, type ObservedDaemon } from './daemons.js';
import { desiredRouter, ipv6Devices, placement, type NodeIdentity } from './desired.js';
import { keepalivedFiles, parseHaState } from '../linux/keepalived.js';
import { driverFor } from './drivers/index.js';
import { skipReason } from './filters.js';
import { planRouter, planTeardown } from './plan.js';
import { planDaemons } from './daemons.js';
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
  /** The VRRP state keepalived last notified (its state file), whatever the router is now. */
  haStateText: string | null;
  /** This node, for an HA router's HA port. */
  node: NodeIdentity;
}

/** How long a state file that disagrees with the addresses is given to catch up. */
export const HA_STATE_SETTLE_MS = 300;

/**
 * keepalived adds a new master's addresses first and runs the notify script
 * after: for a moment the addresses are there and the state file still says
 * backup. A live keepalived whose router ports hold addresses while its file
 * says otherwise is asked again a little later, so that a pass in that
 * moment does not take a new master's addresses away.
 */
async function settledHaState(sys: System, routerId: string, obs: ObservedNs, daemons: ObservedDaemon[], text: string | null): Promise<string | null> {
  if (parseHaState(text) === 'master') return text;
  if (!daemons.find((d) => d.paths.kind === 'keepalived')?.seen.alive) return text;
  const holding = [...obs.links.values()].some((l) => /^q[rg]-/.test(l.name) && l.addrs.some((a) => a.scope === 'global'));
  if (!holding) return text;
  await new Promise((r) => setTimeout(r, HA_STATE_SETTLE_MS));
  return sys.files.read(keepalivedFiles(routerFilesDir(sys.storePath, routerId)).state);
}

/** Where an unset ha_node_address is derived from. */
export const MACHINE_ID_PATH = '/etc/machine-id';

const machineIds = new WeakMap<Files, Promise<string | null>>();

/** This host's machine id, read once per Files face. */
export function machineId(files: Files): Promise<string | null> {
  let m = machineIds.get(files);
  if (!m) {
    m = files.read(MACHINE_ID_PATH);
    machineIds.set(files, m);
  }
  return m;
}

/** What every router of a pass shares: the bridges' namespace and the switch, read once. */
export interface SharedView {
  host: ObservedHost;
  ovs: ObservedOvs | null;
}

/**
 * Read now, or taken from `hostRead`, a whole read of the host namespace
 * (readHostLeftovers) that a pass makes anyway: its links are the bridges' side.
 */
export async function observeShared(runner: Runner, config: Config, hostRead?: Promise<HostLeftoversRead> | null): Promise<SharedView> {
  if (hostRead) {
    const [obs, ovs] = await hostRead;
    return { host: { ns: obs.ns, exists: obs.exists, links: obs.links }, ovs };
  }
  const [host, ovs] = await Promise.all([observeHost(runner, config.host_namespace), driverFor(config.interface_driver).observe(runner)]);
  return { host, ovs };
}

/** `shared`: the host side as a pass read it, or will (each router's taps are its own, so one read serves them all). */
export async function observeRouter(sys: System, state: State, config: Config, routerId: string, shared?: SharedView | Promise<SharedView | undefined>): Promise<RouterObservation> {
  const { runner } = sys;
  const place = placement(config, routerId);
  const router = handled(state, config, routerId);
  const devices = router ? ipv6Devices(state, router) : null;
  const ha = !!state.routers.find((r) => r.id === routerId)?.ha;
  const [obs, view, leftover, daemons, haStateText, id] = await Promise.all([
    observeNs(runner, place.ns, { shared: place.shared, ha, ...(devices ? { ipv6: { devices } } : {}) }),
    Promise.resolve(shared).then((v) => v ?? observeShared(runner, config)),
    place.shared ? observeNs(runner, namespaceName(routerId)) : null,
    observeDaemons(sys.files, sys.storePath, routerId, place.ns),
    ha ? sys.files.read(keepalivedFiles(routerFilesDir(sys.storePath, routerId)).state) : null,
    ha ? machineId(sys.files) : null,
  ]);
  const { host, ovs } = view;
  // A namespace yet to be built has no save to tell the version by.
  const version = obs.iptables.version === null && router ? await iptablesVersion(runner) : null;
  const settled = ha ? await settledHaState(sys, routerId, obs, daemons, haStateText) : haStateText;
  return { obs, host, leftover, ovs, iptablesVersion: version, daemons, haStateText: settled, node: nodeIdentity(id, sys.storePath) };
}

/** This node: its machine id and what tells it from another node (the machine id and the store's path). */
export function nodeIdentity(machineIdText: string | null, storePath: string): NodeIdentity {
  const machine = machineIdText?.trim() || null;
  return { machineId: machine, key: `${machine ?? ''}:${path.resolve(storePath)}` };
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
  if (!router) {
    // keepalived goes first, while its HA port is still there: a master hands
    // over at once (a priority-0 advert) instead of after the peer's timeout.
    const keepalived = daemons.filter((x) => x.paths.kind === 'keepalived');
    const stop = planDaemons([], keepalived);
    if (stop.length) plans.push({ ns: place.ns, hostNs: o.host.ns, steps: stop });
    // Its floating IPs are keepalived's, gone with it: the teardown leaves them to it (and to the devices' deletion).
    const obs = stop.length ? withoutSingleAddresses(o.obs) : o.obs;
    plans.push(planTeardown(place.ns, obs, hs, driver, place.shared, daemons.filter((x) => x.paths.kind !== 'keepalived')));
  } else {
    const opts = { sendArp: config.send_arp_for_ha > 0, iptablesVersion: o.iptablesVersion, haState: parseHaState(o.haStateText) };
    plans.push(planRouter(desiredRouter(state, config, router, o.node), o.obs, hs, opts, daemons));
  }
  return plans;
}

export async function planRouterPass(sys: System, state: State, config: Config, routerId: string, shared?: SharedView): Promise<Plan[]> {
  return planRouterFrom(state, config, routerId, await observeRouter(sys, state, config, routerId, shared));
}

/** The namespace without the /32 addresses of its devices (an HA router's floating IPs, keepalived's). */
function withoutSingleAddresses(obs: ObservedNs): ObservedNs {
  const links = new Map([...obs.links].map(([name, l]) => [name, { ...l, addrs: l.addrs.filter((a) => a.prefixlen !== 32) }]));
  return { ...obs, links };
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

export type HostLeftoversRead = [ObservedNs, ObservedOvs | null];

/** What planHostLeftovers reads: the host namespace, and the switch for the OVS driver. */
export function readHostLeftovers(runner: Runner, config: Config): Promise<HostLeftoversRead> {
  return Promise.all([observeNs(runner, config.host_namespace), driverFor(config.interface_driver).observe(runner)]);
}

/**
 * What of ours is in the host namespace when no stored, handled router owns
 * it: devices and chains a shared router left there (use_namespaces was
 * false, or router_id named another router).
 */
export async function planHostLeftovers(runner: Runner, state: State, config: Config, seen?: HostLeftoversRead): Promise<Plan[]> {
  if (!config.use_namespaces && config.router_id && handled(state, config, config.router_id)) return [];
  const driver = driverFor(config.interface_driver);
  const [obs, ovs] = seen ?? (await readHostLeftovers(runner, config));
  const host = { ns: config.host_namespace, exists: obs.exists, links: obs.links };
  return [planTeardown(config.host_namespace, obs, { host, ovs }, driver, true)];
}

/** Bridges of the networks in `state` exist; bridges l3ctl made for `removed` networks are gone. */
export async function planNetworkBridges(runner: Runner, state: State, config: Config, removed: Network[] = [], seen?: ObservedHost): Promise<Plan> {
  const host = seen ?? (await observeHost(runner, config.host_namespace));
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
