// `agent sync | check | cleanup | status | run`: the L3 agent fed from the store.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { checkRouters, type Finding as Drift } from '../agent/check.js';
import { describeChanges } from '../agent/describe.js';
import { describeStale, planCleanup, removeStale, type CleanupPlan } from '../agent/cleanup.js';
import { observeHostSettings, wantedHostSettings, type ObservedHostSetting } from '../agent/host-settings.js';
import { isHandled, stateReport, type StateReport } from '../agent/report.js';
import { formatEntry, runLoop, systemClock, type LogFormat, type PassResult } from '../agent/runloop.js';
import { checkPass, syncPass, type SyncHooks, type SyncResult } from '../agent/sync.js';
import { ensureRegistered } from '../agent/transaction.js';
import { effectiveConfig } from '../model/config.js';
import { EXIT, L3ctlError, UsageError } from '../model/errors.js';
import type { Router, State } from '../model/types.js';
import { keepDigest, loadState } from '../store/store.js';
import { FINDING_COLUMNS, REPORT_COLUMNS } from './columns.js';
import type { IO } from './io.js';
import { underLock } from './mutate.js';
import { printList, printObject } from './output.js';
import { confirm } from './prompt.js';
import { findRouter } from './resolve.js';

/** Progress is drawn only for at least this many routers (and only on a TTY). */
const PROGRESS_MIN_ROUTERS = 10;

const routerName = (r: Router | null) => (r === null ? 'network bridges' : `router ${r.name}`);

const selectRouters = (s: State, refs: string[]): Router[] => (refs.length ? [...new Map(refs.map((r) => findRouter(s, r)).map((r) => [r.id, r])).values()] : s.routers);

/** One sync pass over the routers named by `refs` (all when empty), reading the store under the lock. */
async function syncOnce(io: IO, refs: string[], hooks?: Pick<SyncHooks, 'onError' | 'warn'>, announce = true): Promise<SyncResult> {
  const s = await loadState(io.storePath);
  // Under the lock: a store that was just checked whole keeps its digest, so the next pass trusts it.
  if (!io.dryRun) keepDigest(io.storePath, s);
  // A store from before the registry, never changed since, joins it here.
  if (!io.dryRun && existsSync(io.storePath)) await ensureRegistered({ storePath: io.storePath, warn: hooks?.warn ?? io.warn });
  const config = effectiveConfig(s.config);
  const routers = selectRouters(s, refs);
  const progress = !io.quiet && !io.dryRun && io.stderr.isTTY && routers.length >= PROGRESS_MIN_ROUTERS;
  const clear = () => progress && io.stderr.write('\r\x1b[K');
  try {
    return await syncPass(io, s, config, {
      onError: (r, err) => {
        clear();
        (hooks?.onError ?? ((x, e) => io.report(e, routerName(x))))(r, err);
      },
      onProgress: progress ? (i, n, r) => void io.stderr.write(`\r\x1b[Ksyncing ${i + 1}/${n}: ${r.name}`) : undefined,
      // What changed, router by router, in words: `r1: +fip 203.0.113.20, route 192.0.2.0/24 replaced`.
      onChanged: announce ? (r, f) => {
        clear();
        io.status(`${r?.name ?? 'host'}: ${describeChanges(f)}`);
      } : undefined,
      warn: hooks?.warn ?? io.warn,
    }, routers, { all: refs.length === 0 });
  } finally {
    clear();
  }
}

export async function agentSync(o: { router: string[] }, io: IO): Promise<void> {
  const res = await underLock(io, () => syncOnce(io, o.router));
  if (res.failed.length) {
    throw new L3ctlError(`${res.failed.length} router(s) failed to converge: ${res.failed.map((r) => r.name).join(', ')}`, EXIT.apply, 'fix the cause above, then run l3ctl agent sync again');
  }
  const skipped = res.skipped.length ? `, ${res.skipped.length} not handled here (${res.skipped.map((x) => `${x.router.name}: ${x.reason}`).join(', ')})` : '';
  io.status(`synced ${res.converged.length} router(s), ${res.changed.length} changed${skipped}`);
}

export interface Finding extends Drift {
  router: string;
  router_id: string;
}

/** Exit 3 when the kernel and the store differ. */
export async function agentCheck(o: { router: string[] }, io: IO): Promise<number> {
  const s = await loadState(io.storePath);
  const config = effectiveConfig(s.config);
  const routers = selectRouters(s, o.router);
  checkPass(s, config, routers);
  const findings: Finding[] = [];
  const failed: string[] = [];
  const notices = new Set<string>();
  for (const res of await checkRouters(io, s, config, routers, { host: !o.router.length })) {
    for (const n of res.notices) notices.add(n);
    const name = res.router?.name ?? '(host namespace)';
    // A namespace that cannot be read is reported; the other routers are still checked.
    if (res.error) {
      failed.push(name);
      io.report(res.error, `router ${name}`);
    }
    for (const d of res.findings) findings.push({ router: name, router_id: res.router?.id ?? '', ...d });
  }
  if (findings.length || io.format !== 'table') await printList(io, FINDING_COLUMNS, findings as unknown as Record<string, unknown>[]);
  // Not drift (no exit 3), and not in the findings list: one line on stderr in every format.
  if (!io.quiet) for (const n of notices) io.stderr.write(`l3ctl: notice: ${n}\n`);
  if (failed.length) throw new L3ctlError(`could not check ${failed.length} router(s): ${failed.join(', ')}`, EXIT.apply);
  if (!findings.length) {
    io.status(`no drift: ${routers.length} router(s) match the store`);
    return EXIT.ok;
  }
  // The host namespace's findings (stranded ports, bridges) are said apart: it is no router.
  const names = [...new Set(findings.filter((f) => f.router_id).map((f) => f.router))];
  const where = [...(names.length ? [`${names.length} router(s) (${names.join(', ')})`] : []), ...(findings.some((f) => !f.router_id) ? ['the host namespace'] : [])].join(' and ');
  io.stderr.write(`l3ctl: drift in ${where}: ${findings.length} finding(s)\nhint: l3ctl agent sync${o.router.length ? ' ' + names.join(' ') : ''}\n`);
  return EXIT.drift;
}

/** What cleanup found besides what it removes: other stores' routers, unknown namespaces still in use. */
function reportCleanup(io: IO, p: CleanupPlan): void {
  for (const u of p.registry.unreadable) io.warn(`registered store ${u.store} cannot be read (${u.error}): its routers count as unknown`);
  if (io.quiet) return;
  const byStore = new Map<string, number>();
  for (const o of p.otherStores) byStore.set(o.store, (byStore.get(o.store) ?? 0) + 1);
  for (const [store, n] of byStore) io.stderr.write(`keeping ${n} router namespace(s) of store ${store}\n`);
  if (p.keep.length) {
    io.stderr.write(`keeping ${p.keep.length} router namespace(s) no store on this host owns, still in use (--force removes them):\n${p.keep.map((x) => `  ${describeStale(x)}\n`).join('')}`);
  }
}

export async function agentCleanup(o: { force?: boolean }, io: IO): Promise<void> {
  const force = !!o.force;
  const first = await planCleanup(io, { force, dryRun: io.dryRun });
  reportCleanup(io, first);
  if (!first.remove.length) return io.status('no stale router namespaces');
  if (!io.quiet) io.stderr.write(`will remove ${first.remove.length} stale router namespace(s):\n${first.remove.map((x) => `  ${describeStale(x)}\n`).join('')}`);
  await confirm(io, `Remove ${first.remove.length} stale router namespace(s)?`);
  const failed: string[] = [];
  await underLock(io, async () => {
    // Decided again under the lock: a router added meanwhile owns its namespace now.
    const listed = new Set(first.remove.map((x) => x.ns));
    const now = io.dryRun ? first : await planCleanup(io, { force });
    for (const x of now.remove.filter((y) => listed.has(y.ns))) {
      try {
        await removeStale(io, x, { dryRun: io.dryRun });
        io.status(`removed ${x.ns}`);
      } catch (err) {
        failed.push(x.ns);
        io.report(err, x.ns);
      }
    }
  });
  if (failed.length) throw new L3ctlError(`${failed.length} namespace(s) could not be removed: ${failed.join(', ')}`, EXIT.apply);
}

const flatReport = (r: StateReport) => {
  const { configurations, ...top } = r;
  return { ...top, ...configurations };
};

const HOST_SETTING_COLUMNS = ['namespace', 'setting', 'wanted', 'live', 'ok', 'set_by', 'why'];

/**
 * The report, then the host settings: in json a `host_settings` list; in a
 * table a second table under it. -c picks report fields (host_settings too).
 */
const HA_COLUMNS = ['router', 'id', 'ha_vr_id', 'ha_state'];

async function printStatus(io: IO, r: StateReport, settings: ObservedHostSetting[], ha: Record<string, unknown>[] = []): Promise<void> {
  const json = settings.map((x) => Object.fromEntries(HOST_SETTING_COLUMNS.map((c) => [c, x[c as keyof ObservedHostSetting]])));
  // json keeps the agent's nesting (configurations{…}) and null for the host's own namespace; table and value are flat.
  if (io.format === 'json' || io.format === 'yaml') return printObject(io, [...Object.keys(r), 'host_settings', 'ha_routers'], { ...r, host_settings: json, ha_routers: ha });
  const rows = json.map((x) => ({ ...x, namespace: x.namespace ?? '(host)' }));
  if (io.columns.length) return printObject(io, [...REPORT_COLUMNS, 'host_settings', 'ha_routers'], { ...flatReport(r), host_settings: rows, ha_routers: ha });
  await printObject(io, REPORT_COLUMNS, flatReport(r));
  if (io.format === 'table' && rows.length) {
    io.out('\nhost settings l3ctl would want:');
    await printList(io, HOST_SETTING_COLUMNS, rows);
  }
  if (io.format === 'table' && ha.length) {
    io.out('\nHA routers on this node (keepalived says):');
    await printList(io, HA_COLUMNS, ha);
  }
}

const now = (io: IO) => new Date((io.clock ?? systemClock).now());

export async function agentStatus(_o: object, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  const config = effectiveConfig(s.config);
  const settings = await observeHostSettings(io.runner, wantedHostSettings(config));
  const haRouters = s.routers.filter((r) => r.ha && isHandled(s, config, r));
  const ha = haRouters.length ? await (await import('../agent/ha.js')).haReports(io, config, haRouters) : new Map();
  const haRows = haRouters.map((r) => ({ router: r.name, id: r.id, ...ha.get(r.id) }));
  await printStatus(io, stateReport(s, config, { host: io.hostname ?? hostname(), now: now(io) }), settings, haRows);
}

export interface AgentRunOptions {
  /** Seconds; default: config periodic_interval. */
  interval?: string;
  logFormat?: LogFormat;
}

export async function agentRun(o: AgentRunOptions, io: IO): Promise<number> {
  let interval: number | null = null;
  if (o.interval !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(o.interval) || Number(o.interval) <= 0) throw new UsageError(`invalid --interval '${o.interval}': expected a number of seconds above 0`);
    interval = Number(o.interval);
  }
  const format = o.logFormat ?? 'text';
  // text: pass lines on stdout, errors and warnings on stderr; json: every line on stdout.
  const log = (level: string, line: string) => {
    if (level === 'info' && io.quiet) return;
    (format === 'text' && level !== 'info' ? io.stderr : io.stdout).write(line + '\n');
  };
  // Ctrl-C stops the loop as SIGTERM does (after the pass under way), but is
  // said at once and is exit 130, as everywhere. SIGTERM (systemd) is exit 0.
  const signals = io.signals ?? process;
  let interrupted = false;
  let inPass = false;
  const onInt = () => {
    if (!interrupted && inPass) io.stderr.write('\nl3ctl: interrupted: stopping after this pass…\n');
    interrupted = true;
  };
  signals.on('SIGINT', onInt);
  let passes: number;
  try {
    // Under --dry-run one pass shows what the loop would do; repeating it would change nothing.
    passes = await runLoop(
      {
        pass: async (n) => {
          inPass = true;
          try {
            return await loopPass(io, n);
          } finally {
            inPass = false;
          }
        },
        clock: io.clock ?? systemClock,
        signals,
        log,
      },
      { format, fixedInterval: interval, once: io.dryRun },
    );
  } finally {
    signals.off('SIGINT', onInt);
  }
  if (!interrupted) return EXIT.ok;
  const said = `agent run stopped (Ctrl-C) after ${passes} pass${passes === 1 ? '' : 'es'}`;
  if (format === 'json') io.stdout.write(formatEntry('json', { level: 'info', msg: said, fields: { signal: 'SIGINT', passes } }, (io.clock ?? systemClock).now()) + '\n');
  else io.stderr.write(`l3ctl: ${said}\n`);
  return EXIT.interrupted;
}

/** One pass of `agent run`: sync everything under the lock, then the state report. Router errors are collected for the loop's log. */
async function loopPass(io: IO, n: number): Promise<PassResult> {
  const errors: PassResult['errors'] = [];
  const warnings: string[] = [];
  const { res, state } = await underLock(io, async () => {
    const res = await syncOnce(io, [], {
      onError: (r, err) => void errors.push({ router: r?.name ?? null, message: err.message, ...((err as L3ctlError).hint ? { hint: (err as L3ctlError).hint } : {}) }),
      warn: (t) => void warnings.push(t),
    }, false);
    return { res, state: await loadState(io.storePath) };
  });
  const config = effectiveConfig(state.config);
  const name = (r: Router) => r.name;
  return {
    routers: res.converged.length + res.skipped.length + res.failed.length,
    changed: res.changed.map(name),
    failed: res.failed.map(name),
    skipped: res.skipped.length,
    interval: config.periodic_interval,
    errors,
    warnings,
    report: stateReport(state, config, { host: io.hostname ?? hostname(), now: now(io), startFlag: n === 1 }),
  };
}
