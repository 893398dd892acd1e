// `agent sync | check | cleanup | status | run`: the L3 agent fed from the store.
import { hostname } from 'node:os';
import { checkRouters, type Finding as Drift } from '../agent/check.js';
import { observeStale, removeStale, staleNamespaces, type StaleNamespace } from '../agent/cleanup.js';
import { stateReport, type StateReport } from '../agent/report.js';
import { runLoop, systemClock, type LogFormat, type PassResult } from '../agent/runloop.js';
import { checkPass, syncPass, type SyncHooks, type SyncResult } from '../agent/sync.js';
import { effectiveConfig, type Config } from '../model/config.js';
import { EXIT, L3ctlError, UsageError } from '../model/errors.js';
import type { Router, State } from '../model/types.js';
import { loadState } from '../store/store.js';
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
      // What changed, router by router (issue 15 shapes this line further).
      onChanged: announce ? (r, f) => {
        clear();
        io.status(`${r?.name ?? 'host'}: ${f.map((x) => `${x.kind} ${x.object}`).join(', ')}`);
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
  const names = [...new Set(findings.map((f) => f.router))];
  io.stderr.write(`l3ctl: drift in ${names.length} router(s) (${names.join(', ')}): ${findings.length} finding(s)\nhint: l3ctl agent sync${o.router.length ? ' ' + names.join(' ') : ''}\n`);
  return EXIT.drift;
}

function describeStale(s: StaleNamespace): string {
  const daemons = s.daemons.map((d) => (d.seen.alive ? `${d.paths.kind} pid ${d.seen.pid}` : `${d.paths.kind} files`));
  return `${s.ns}${s.devices.length ? ` (devices ${s.devices.join(', ')})` : ' (no devices)'}${daemons.length ? ` (${daemons.join(', ')})` : ''}`;
}

export async function agentCleanup(_o: object, io: IO): Promise<void> {
  let driver: Config['interface_driver'] = 'linuxbridge';
  const find = async () => {
    const s = await loadState(io.storePath);
    const config = effectiveConfig(s.config);
    driver = config.interface_driver;
    return staleNamespaces(await io.runner.namespaces(), s, config);
  };
  const first = await find();
  if (!first.length) return io.status('no stale router namespaces');
  const stale = await Promise.all(first.map((ns) => observeStale(io, ns, driver)));
  if (!io.quiet) io.stderr.write(`will remove ${stale.length} stale router namespace(s):\n${stale.map((x) => `  ${describeStale(x)}\n`).join('')}`);
  await confirm(io, `Remove ${stale.length} stale router namespace(s)?`);
  const failed: string[] = [];
  await underLock(io, async () => {
    // Re-read under the lock: a router added meanwhile owns its namespace now.
    const still = new Set(io.dryRun ? first : await find());
    for (const x of stale.filter((y) => still.has(y.ns))) {
      try {
        await removeStale(io, io.dryRun ? x : await observeStale(io, x.ns, driver));
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

async function printReport(io: IO, r: StateReport): Promise<void> {
  // json keeps the agent's nesting (configurations{…}); table and value are flat.
  if (io.format === 'json') return printObject(io, Object.keys(r), r as unknown as Record<string, unknown>);
  return printObject(io, REPORT_COLUMNS, flatReport(r));
}

const now = (io: IO) => new Date((io.clock ?? systemClock).now());

export async function agentStatus(_o: object, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  await printReport(io, stateReport(s, effectiveConfig(s.config), { host: io.hostname ?? hostname(), now: now(io) }));
}

export interface AgentRunOptions {
  /** Seconds; default: config periodic_interval. */
  interval?: string;
  logFormat?: LogFormat;
}

export async function agentRun(o: AgentRunOptions, io: IO): Promise<void> {
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
  // Under --dry-run one pass shows what the loop would do; repeating it would change nothing.
  await runLoop(
    { pass: (n) => loopPass(io, n), clock: io.clock ?? systemClock, signals: io.signals ?? process, log },
    { format, fixedInterval: interval, once: io.dryRun },
  );
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
