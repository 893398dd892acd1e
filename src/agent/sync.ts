// A full pass of the agent (_process_routers + process_router for each): the
// filters decide which stored routers this host handles; handled ones are
// converged, the others torn down. One router's failure is reported and the
// others still converge (Grizzly aborted the whole batch).
import type { Config } from '../model/config.js';
import type { Router, State } from '../model/types.js';
import { agentExternalNetwork, checkConfig, skipReason, type SkipReason } from './filters.js';
import { applyPlans, observeRouter, observeShared, planHostLeftovers, planNetworkBridges, planRouterFrom, readHostLeftovers, type SharedView, type System } from './pass.js';
import { mapStaged, ROUTER_CONCURRENCY } from './pool.js';
import { findingsOf, isEmptyPlan, type Finding } from './steps.js';

export interface SyncHooks {
  /** A router (null: the network bridges or the host namespace) failed; the pass goes on. */
  onError(router: Router | null, err: Error): void;
  /** Before each router: 0-based index of `total`. */
  onProgress?(index: number, total: number, router: Router): void;
  /** After each router: what was (under --dry-run: would be) changed. */
  onChanged?(router: Router | null, findings: Finding[]): void;
  warn?(text: string): void;
}

export interface SyncResult {
  /** Routers converged (handled here). */
  converged: Router[];
  /** Stored routers this host must not handle, with the reason. */
  skipped: { router: Router; reason: Exclude<SkipReason, null> }[];
  /** Routers whose plan was not empty (something was, or under --dry-run would be, changed). */
  changed: Router[];
  failed: Router[];
  /** Mutating steps taken, router by router. */
  findings: Map<string, Finding[]>;
}

/**
 * Errors that fail the whole pass before anything is touched (exit 2):
 * use_namespaces false without router_id; a gateway router to process while
 * several external networks exist and none is configured.
 */
export function checkPass(state: State, config: Config, routers: Router[]): void {
  checkConfig(config);
  if (routers.some((r) => r.admin_state_up && r.gateway)) agentExternalNetwork(state, config);
}

/** Converge `routers` (default: every stored router, and the host namespace) with the kernel. */
export async function syncPass(sys: System, state: State, config: Config, hooks: SyncHooks, routers: Router[] = state.routers, opts: { all?: boolean } = {}): Promise<SyncResult> {
  checkPass(state, config, routers);
  const res: SyncResult = { converged: [], skipped: [], changed: [], failed: [], findings: new Map() };
  const { runner } = sys;
  const ctx = { runner, files: sys.files, storePath: sys.storePath, config, warn: hooks.warn };
  // What of ours no router owns in the host namespace is planned last; its
  // read starts now, with the first reads, and is taken again only if the
  // pass changed something.
  const early = opts.all ? readHostLeftovers(runner, config) : null;
  early?.catch(() => {});
  let quiet = true;
  // The bridges pass, then one read of the bridges' side for every router
  // (again only if the pass changed it). A whole pass has read the host
  // namespace already, for its leftovers: its links are the bridges' side.
  const bridgesPass = async (): Promise<SharedView | undefined> => {
    let view = await observeShared(runner, config, early).catch(() => undefined);
    try {
      const bridges = await planNetworkBridges(runner, state, config, [], view?.host);
      await applyPlans(ctx, [bridges]);
      if (!isEmptyPlan(bridges)) {
        hooks.onChanged?.(null, findingsOf(bridges));
        view = undefined;
        quiet = false;
      }
    } catch (err) {
      // The routers that need a missing bridge fail below with their own error.
      hooks.onError(null, err as Error);
      view = undefined;
      quiet = false;
    }
    if (!config.use_namespaces && config.router_id && routers.some((r) => r.id === config.router_id)) {
      // The agent warns too: forwarding is switched on for the whole host namespace.
      hooks.warn?.(`use_namespaces=false: the router_id router lives in the host namespace ${config.host_namespace ?? '(the one l3ctl runs in)'}, with net.ipv4.ip_forward=1 there`);
    }
    // Undefined: each router reads it again, and fails with its own error.
    return view ?? (await observeShared(runner, config).catch(() => undefined));
  };
  // A router in a namespace of its own reads nothing the bridges pass
  // changes: its reads start with the pass's, in the same shells; its plan
  // waits for the pass. A router in the host namespace waits to read.
  const passed = bridgesPass();
  const view = config.use_namespaces ? passed : await passed;
  let started = 0;
  const observe = (r: Router) => observeRouter(ctx, state, config, r.id, view);
  const outcomes = await mapStaged(routers, ROUTER_CONCURRENCY, observe, async (r, seen) => {
    hooks.onProgress?.(started++, routers.length, r);
    try {
      const plans = planRouterFrom(state, config, r.id, await seen);
      await applyPlans(ctx, plans);
      return { r, plans };
    } catch (err) {
      return { r, err: err as Error };
    }
  });
  await passed; // with no router to wait for it, the bridges pass still ends before the host's leftovers
  // Reported in store order, whatever order the passes finished in.
  for (const o of outcomes) {
    const r = o.r;
    if ('err' in o) {
      res.failed.push(r);
      hooks.onError(r, o.err!);
      continue;
    }
    const reason = skipReason(state, config, r);
    if (reason === null) res.converged.push(r);
    else res.skipped.push({ router: r, reason });
    const findings = o.plans.flatMap(findingsOf);
    if (findings.length) {
      res.changed.push(r);
      res.findings.set(r.id, findings);
      hooks.onChanged?.(r, findings);
    }
  }
  if (opts.all) {
    try {
      const unchanged = quiet && !res.changed.length && !res.failed.length;
      const plans = await planHostLeftovers(runner, state, config, unchanged ? await early!.catch(() => undefined) : undefined);
      await applyPlans(ctx, plans);
      const findings = plans.flatMap(findingsOf);
      if (findings.length) hooks.onChanged?.(null, findings);
    } catch (err) {
      hooks.onError(null, err as Error);
    }
  }
  return res;
}
