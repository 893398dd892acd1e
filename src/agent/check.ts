// Drift: what `agent check` reports. Nothing is compared here: the findings
// are those of the plans `agent sync` would run, so "no finding" and "sync
// would change nothing" are the same statement.
import type { Config } from '../model/config.js';
import type { Router, State } from '../model/types.js';
import { observeRouter, observeShared, planHostLeftovers, planRouterFrom, planRouterPass, readHostLeftovers, type System } from './pass.js';
import { mapStaged, ROUTER_CONCURRENCY } from './pool.js';
import { findingsOf, noticesOf, type Finding } from './steps.js';

export type { Finding, FindingKind } from './steps.js';

/** Drift of one stored router id (deleted, disabled and filtered routers must be absent). */
export async function routerFindings(sys: System, state: State, config: Config, routerId: string): Promise<Finding[]> {
  return (await planRouterPass(sys, state, config, routerId)).flatMap(findingsOf);
}

export interface RouterFindings {
  router: Router | null;
  findings: Finding[];
  /** Not drift: what the operator should know (a metadata proxy without upstream). */
  notices: string[];
  error?: Error;
}

/**
 * Drift of `routers`, each checked on its own (one that cannot be read is
 * reported, the others still checked); with `host`, also what of ours no
 * router owns in the host namespace.
 */
export async function checkRouters(sys: System, state: State, config: Config, routers: Router[], opts: { host?: boolean } = {}): Promise<RouterFindings[]> {
  // With the host: one read of the host namespace serves its leftovers and
  // the bridges' side. Either way it starts with the routers' reads (in the
  // same shells); a router waits for it only to plan.
  const early = opts.host ? readHostLeftovers(sys.runner, config) : null;
  early?.catch(() => {});
  const view = observeShared(sys.runner, config, early).catch(() => undefined);
  const observe = (r: Router) => observeRouter(sys, state, config, r.id, view);
  const out: RouterFindings[] = await mapStaged(routers, ROUTER_CONCURRENCY, observe, async (r, seen) => {
    try {
      const plans = planRouterFrom(state, config, r.id, await seen);
      return { router: r, findings: plans.flatMap(findingsOf), notices: plans.flatMap(noticesOf) };
    } catch (err) {
      return { router: r, findings: [], notices: [], error: err as Error };
    }
  });
  if (opts.host) {
    try {
      out.push({ router: null, findings: (await planHostLeftovers(sys.runner, state, config, await early!)).flatMap(findingsOf), notices: [] });
    } catch (err) {
      out.push({ router: null, findings: [], notices: [], error: err as Error });
    }
  }
  return out;
}
