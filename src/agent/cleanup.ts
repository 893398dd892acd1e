// Stale router namespaces (`agent cleanup`). A `qrouter-<uuid>` namespace is
// one of:
//  - a router of this store handled here: managed, never touched (Grizzly's
//    restart cut every router off);
//  - a router of another registered store (the lab's, a second store):
//    theirs, never touched (src/store/registry.ts);
//  - a router of this store not handled here (disabled, another router_id…):
//    stale, removed;
//  - nobody's we know of: removed when empty; kept and listed while it still
//    has devices or processes, unless --force (as Neutron's netns-cleanup).
// Removal: its daemons first (metadata proxy…, found by the pid files of the
// router id beside this store, whether or not the store still has the
// router), then qr-/qg- devices (deleting a veth end in the namespace removes
// its host end too; an Open vSwitch port is deleted from its bridge, since
// deleting the namespace would leave its record), then, with --force, its
// other processes, then the namespace.
import { effectiveConfig, type Config } from '../model/config.js';
import { EXTERNAL_DEV_PREFIX, HA_DEV_PREFIX, INTERNAL_DEV_PREFIX, isRouterDevice, namespaceName, routerIdOfNamespace } from '../model/names.js';
import type { State } from '../model/types.js';
import { observeLinks } from '../linux/observe.js';
import { ovsPortsOfDevices, ovsUnplugArgv } from '../linux/ovs.js';
import { stopDaemon } from '../linux/daemon.js';
import { loadState } from '../store/store.js';
import { pruneRegistry, readRegistry, registryPath, storeKey } from '../store/registry.js';
import { isPresent, observeDaemons, type ObservedDaemon } from './daemons.js';
import { driverFor, type DriverName } from './drivers/index.js';
import { skipReason } from './filters.js';
import type { System } from './pass.js';

/** Who a router namespace belongs to, as far as this host's stores tell. */
export type Owner =
  | { kind: 'handled' }
  | { kind: 'other-store'; store: string }
  | { kind: 'not-handled'; router: string; reason: string }
  | { kind: 'unknown' };

export interface StaleNamespace {
  ns: string;
  routerId: string;
  owner: Extract<Owner, { kind: 'not-handled' | 'unknown' }>;
  /** Every device in it but lo. */
  devices: string[];
  /** `ip netns pids`: processes running in it, but for our daemons'. */
  pids: string[];
  /** Those devices that are Open vSwitch ports (interface_driver ovs): deleted from their bridges. */
  ports: { bridge: string; device: string }[];
  /** Daemons of this router id with a process or files left: stopped first, their files removed. */
  daemons: ObservedDaemon[];
}

/** Routers of other stores: router id → the store that has it. */
export type OtherRouters = Map<string, string>;

/** Why this stored router is not handled here, or null when it is. Unsure (a config error) counts as handled: never remove what might be managed. */
function notHandled(state: State, config: Config, routerId: string): string | null {
  const r = state.routers.find((x) => x.id === routerId);
  if (!r) return null;
  try {
    return skipReason(state, config, r);
  } catch {
    return null;
  }
}

/** Pure: who owns the namespace of router `id`. */
export function ownerOf(id: string, state: State, config: Config, others: OtherRouters): Owner {
  const r = state.routers.find((x) => x.id === id);
  if (r) {
    const why = notHandled(state, config, id);
    if (why === null) return { kind: 'handled' };
    // The same router id in another store that may handle it: theirs.
    if (others.has(id)) return { kind: 'other-store', store: others.get(id)! };
    return { kind: 'not-handled', router: r.name, reason: why };
  }
  if (others.has(id)) return { kind: 'other-store', store: others.get(id)! };
  return { kind: 'unknown' };
}

export interface Classified {
  /** Candidates for removal (to be observed), sorted. */
  candidates: { ns: string; routerId: string; owner: StaleNamespace['owner'] }[];
  /** Namespaces of other stores' routers: left alone. */
  otherStores: { ns: string; store: string }[];
}

/**
 * Pure: the router namespaces among `namespaces`, sorted into candidates and
 * other stores'. With router_id set only `qrouter-<router_id>` can be a candidate.
 */
export function classifyNamespaces(namespaces: Iterable<string>, state: State, config: Config, others: OtherRouters): Classified {
  const out: Classified = { candidates: [], otherStores: [] };
  for (const ns of [...namespaces].sort()) {
    const id = routerIdOfNamespace(ns);
    if (id === null) continue;
    if (config.router_id && ns !== namespaceName(config.router_id)) continue;
    const owner = ownerOf(id, state, config, others);
    if (owner.kind === 'handled') continue;
    if (owner.kind === 'other-store') out.otherStores.push({ ns, store: owner.store });
    else out.candidates.push({ ns, routerId: id, owner });
  }
  return out;
}

/** Pure: is it removed? Ours-not-handled and empty unknown ones are; an unknown one with devices or processes only with --force. */
export function removable(s: StaleNamespace, force: boolean): boolean {
  return force || s.owner.kind === 'not-handled' || (s.devices.length === 0 && s.pids.length === 0);
}

export interface RegisteredRouters {
  others: OtherRouters;
  /** Registered stores that could not be read: their routers are unknown. */
  unreadable: { store: string; error: string }[];
  /** Registered stores whose file is gone: they left the registry. */
  pruned: string[];
}

/** The routers of every registered store but `ownStore`, loaded now. `prune: false` (--dry-run): the registry is only read. */
export async function registeredRouters(ownStore: string, opts: { prune: boolean }, registry = registryPath()): Promise<RegisteredRouters> {
  // A store whose file is gone has no routers (loadState: a missing file is an empty store).
  const { entries, pruned } = opts.prune ? await pruneRegistry(registry) : { entries: await readRegistry(registry), pruned: [] };
  const own = storeKey(ownStore);
  const others: OtherRouters = new Map();
  const unreadable: RegisteredRouters['unreadable'] = [];
  for (const e of entries) {
    if (e.path === own) continue;
    try {
      for (const r of (await loadState(e.path)).routers) if (!others.has(r.id)) others.set(r.id, e.path);
    } catch (err) {
      unreadable.push({ store: e.path, error: (err as Error).message });
    }
  }
  return { others, unreadable, pruned };
}

export async function observeStale(sys: System, c: Classified['candidates'][number], driver: DriverName = 'linuxbridge'): Promise<StaleNamespace> {
  const { runner } = sys;
  const [ovs, daemons] = await Promise.all([driverFor(driver).observe(runner), observeDaemons(sys.files, sys.storePath, c.routerId, c.ns)]);
  // One after the other: `ip -n NS` runs inside NS, and `ip netns pids` would count it.
  const links = await observeLinks(runner, c.ns);
  const pids = await runner.run(['ip', 'netns', 'pids', c.ns], { read: true });
  const devices = [...links.keys()].filter((d) => d !== 'lo').sort();
  const present = daemons.filter((d) => isPresent(d.seen));
  const known = new Set(present.map((d) => String(d.seen.pid)));
  // Its daemons' files are beside this store: a router of this store once, gone from it since.
  const owner: StaleNamespace['owner'] = c.owner.kind === 'unknown' && present.length ? { kind: 'not-handled', router: c.routerId, reason: 'it left the store, its daemon files did not' } : c.owner;
  return {
    ...c,
    owner,
    devices,
    pids: pids.stdout.split('\n').map((x) => x.trim()).filter((p) => p && !known.has(p)),
    ports: ovs ? ovsPortsOfDevices(ovs, devices.filter(isRouterDevice)) : [],
    daemons: present,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long processes get to end on SIGTERM before SIGKILL (--force). */
const TERM_GRACE_MS = 1000;

/** Remove one stale namespace. `dryRun`: the runner only prints, so nothing is waited for. */
export async function removeStale(sys: System, s: StaleNamespace, opts: { dryRun?: boolean } = {}): Promise<void> {
  const { runner } = sys;
  // A daemon keeps a deleted namespace alive and holds its port: stopped while it can still be found.
  for (const d of s.daemons) await stopDaemon(sys, d.paths, d.seen);
  // Internal ports first, then the gateway, then an HA router's HA port, as the agent unplugs them.
  const ours = s.devices.filter(isRouterDevice);
  const order = [INTERNAL_DEV_PREFIX, EXTERNAL_DEV_PREFIX, HA_DEV_PREFIX].flatMap((prefix) => ours.filter((d) => d.startsWith(prefix)));
  const onSwitch = new Map(s.ports.map((p) => [p.device, p.bridge]));
  // del-port takes the device with it, wherever it is.
  for (const d of order.filter((x) => onSwitch.has(x))) await runner.run(ovsUnplugArgv(onSwitch.get(d)!, d, { timeout: 10 }));
  const rest = order.filter((d) => !onSwitch.has(d));
  if (rest.length) {
    // -force: both ends of a veth may be in the list, and the first del takes the second.
    await runner.run(['ip', '-n', s.ns, '-force', '-batch', '-'], { input: rest.map((d) => `link del ${d}`).join('\n') + '\n', okCodes: [1] });
    const left = opts.dryRun ? [] : [...(await observeLinks(runner, s.ns)).keys()].filter((d) => rest.includes(d));
    if (left.length) throw new Error(`could not delete ${left.join(', ')} in ${s.ns}`);
  }
  if (s.pids.length) {
    // Only with --force (removable): a process would keep the namespace, and its devices, alive unnamed.
    await runner.run(['kill', '-TERM', ...s.pids], { okCodes: [1] });
    let left = s.pids;
    for (let waited = 0; !opts.dryRun && left.length && waited < TERM_GRACE_MS; waited += 100) {
      await sleep(100);
      const now = new Set((await runner.run(['ip', 'netns', 'pids', s.ns], { read: true })).stdout.split('\n').map((x) => x.trim()));
      left = left.filter((p) => now.has(p));
    }
    if (left.length && !opts.dryRun) await runner.run(['kill', '-KILL', ...left], { okCodes: [1] });
  }
  await runner.run(['ip', 'netns', 'del', s.ns]);
}

/** One line about a namespace for the listing. */
export function describeStale(s: StaleNamespace): string {
  const what = [
    s.devices.length ? `devices ${s.devices.join(', ')}` : 'no devices',
    ...(s.pids.length ? [`processes ${s.pids.join(', ')}`] : []),
    ...s.daemons.map((d) => `${d.paths.kind}${d.seen.pid ? ` pid ${d.seen.pid}` : ''}`),
    ...(s.owner.kind === 'not-handled' ? [`router '${s.owner.router}' of this store, not handled here: ${s.owner.reason}`] : []),
  ];
  return `${s.ns} (${what.join('; ')})`;
}

export interface CleanupPlan {
  remove: StaleNamespace[];
  /** Unknown owner, still in use: listed, kept (--force removes them). */
  keep: StaleNamespace[];
  otherStores: Classified['otherStores'];
  registry: RegisteredRouters;
}

/** Observe this host's router namespaces and decide. Reads only, but for dropping stores that are gone from the registry (not under `dryRun`). */
export async function planCleanup(sys: System, opts: { force: boolean; dryRun?: boolean }): Promise<CleanupPlan> {
  const state = await loadState(sys.storePath);
  const config = effectiveConfig(state.config);
  const registry = await registeredRouters(sys.storePath, { prune: !opts.dryRun });
  const cls = classifyNamespaces(await sys.runner.namespaces(), state, config, registry.others);
  const seen = await Promise.all(cls.candidates.map((c) => observeStale(sys, c, config.interface_driver)));
  return {
    remove: seen.filter((s) => removable(s, opts.force)),
    keep: seen.filter((s) => !removable(s, opts.force)),
    otherStores: cls.otherStores,
    registry,
  };
}
