// Drift: what `agent check` reports. Nothing is compared here: the findings
// are those of the plans `agent sync` would run, so "no finding" and "sync
// would change nothing" are the same statement.
import type { Config } from '../model/config.js';
import type { Router, State } from '../model/types.js';
import type { Runner } from '../linux/runner.js';
import { planHostLeftovers, planRouterPass } from './pass.js';
import { findingsOf, type Finding } from './steps.js';

export type { Finding, FindingKind } from './steps.js';

/** Drift of one stored router id (deleted, disabled and filtered routers must be absent). */
export async function routerFindings(runner: Runner, state: State, config: Config, routerId: string): Promise<Finding[]> {
  return (await planRouterPass(runner, state, config, routerId)).flatMap(findingsOf);
}

export interface RouterFindings {
  router: Router | null;
  findings: Finding[];
  error?: Error;
}

/**
 * Drift of `routers`, each checked on its own (one that cannot be read is
 * reported, the others still checked); with `host`, also what of ours no
 * router owns in the host namespace.
 */
export async function checkRouters(runner: Runner, state: State, config: Config, routers: Router[], opts: { host?: boolean } = {}): Promise<RouterFindings[]> {
  const out: RouterFindings[] = [];
  for (const r of routers) {
    try {
      out.push({ router: r, findings: await routerFindings(runner, state, config, r.id) });
    } catch (err) {
      out.push({ router: r, findings: [], error: err as Error });
    }
  }
  if (opts.host) {
    try {
      out.push({ router: null, findings: (await planHostLeftovers(runner, state, config)).flatMap(findingsOf) });
    } catch (err) {
      out.push({ router: null, findings: [], error: err as Error });
    }
  }
  return out;
}
