// HA routers at run time: the VRRP state each one is in on this node, as
// keepalived itself notified it (its notify script writes a state file), and
// the graceful hand-over of `router standby`. The rest of an HA router (its
// HA port, keepalived as a daemon, what the plan leaves to keepalived) is
// planned like everything else (desired.ts, plan.ts, daemons.ts).
import type { Config } from '../model/config.js';
import { L3ctlError, UsageError } from '../model/errors.js';
import type { Router, State } from '../model/types.js';
import { daemonPaths, observeDaemon } from '../linux/daemon.js';
import { haStatus, keepalivedFiles, parseHaState, type HaStatus } from '../linux/keepalived.js';
import { routerFilesDir } from './daemons.js';
import { placement } from './desired.js';
import type { System } from './pass.js';

/** What `router list -c ha_state`, `router show` and `agent status` say of an HA router. */
export interface HaReport {
  /** keepalived's last notification while it runs (master, backup, fault); unknown before its first; stopped when it does not run. */
  ha_state: HaStatus;
  ha_vr_id: number;
}

/** keepalived of ROUTER on this node: whether it runs, and its state file. Reads only. */
async function observeKeepalived(sys: System, config: Config, router: Router) {
  const dir = routerFilesDir(sys.storePath, router.id);
  const paths = daemonPaths('keepalived', placement(config, router.id).ns, dir);
  const files = keepalivedFiles(dir);
  const [seen, stateText] = await Promise.all([observeDaemon(sys.files, paths), sys.files.read(files.state)]);
  return { seen, stateText, files };
}

/** The HA state of ROUTER on this node; null for a legacy router. */
export async function haReport(sys: System, config: Config, router: Router): Promise<HaReport | null> {
  if (!router.ha || router.ha_vr_id === null) return null;
  const k = await observeKeepalived(sys, config, router);
  return { ha_state: haStatus(k.stateText, k.seen.alive), ha_vr_id: router.ha_vr_id };
}

/** haReport for each of ROUTERS, by router id (legacy routers: null). */
export async function haReports(sys: System, config: Config, routers: Router[]): Promise<Map<string, HaReport | null>> {
  const out = new Map<string, HaReport | null>();
  await Promise.all(routers.map(async (r) => void out.set(r.id, await haReport(sys, config, r))));
  return out;
}

export interface StandbyResult {
  /** The state before: only a master hands anything over. */
  before: HaStatus;
  /** The state once this node stepped back (backup; master again when no peer took over). */
  after: HaStatus;
  /** Milliseconds from the request to this node's fault notification (its addresses gone). */
  releasedMs: number | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `router standby`: a master hands ROUTER over to a peer without stopping
 * keepalived. 1 in the standby track file faults the instance: keepalived
 * sends a priority-0 advert and drops its addresses, and a peer takes over
 * at once (about its skew time, well under an advert interval). Once this
 * node has notified the fault, 0 lets it back in as backup; with nopreempt
 * it stays backup. Nothing of the store changes.
 */
export async function standbyRouter(sys: System, state: State, config: Config, router: Router, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<StandbyResult> {
  if (!router.ha) throw new UsageError(`router '${router.name}' is not an HA router: there is nothing to hand over`, `l3ctl router show ${router.name}`);
  const k = await observeKeepalived(sys, config, router);
  const before = haStatus(k.stateText, k.seen.alive);
  if (!k.seen.alive) {
    throw new L3ctlError(`keepalived of router '${router.name}' is not running on this node: ${k.seen.why}`, 1, `l3ctl agent check ${router.name}; l3ctl agent sync ${router.name} starts it`);
  }
  if (before !== 'master') return { before, after: before, releasedMs: null };
  const poll = opts.pollMs ?? 20;
  const timeout = opts.timeoutMs ?? 3000 * config.ha_vrrp_advert_int + 2000;
  const t0 = performance.now();
  const waitFor = async (want: (s: string | null) => boolean): Promise<string | null> => {
    for (;;) {
      const s = parseHaState(await sys.files.read(k.files.state));
      if (want(s) || performance.now() - t0 > timeout) return s;
      await sleep(poll);
    }
  };
  await sys.files.write(k.files.standby, '1\n');
  // Under --dry-run the write is printed, not made: nothing to wait for.
  if (!sys.files.live) return { before, after: before, releasedMs: null };
  const released = await waitFor((s) => s === 'fault');
  const releasedMs = released === 'fault' ? Math.round(performance.now() - t0) : null;
  // Back in as backup: the peer, master since the priority-0 advert, keeps it (nopreempt).
  await sys.files.write(k.files.standby, '0\n');
  if (releasedMs === null) {
    throw new L3ctlError(`router '${router.name}': keepalived did not give up master within ${timeout} ms (state ${released ?? 'unknown'})`, 1, `l3ctl router show ${router.name}`);
  }
  const after = await waitFor((s) => s === 'backup' || s === 'master');
  return { before, after: parseHaState(after) ?? 'unknown', releasedMs };
}
