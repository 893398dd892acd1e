// `agent sync | check | cleanup | status | run`: the L3 agent fed from the store.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { checkRouters, type Finding as Drift } from '../agent/check.js';
import { describeStale, planCleanup, removeStale, type CleanupPlan } from '../agent/cleanup.js';
import { observeHostSettings, wantedHostSettings, type ObservedHostSetting } from '../agent/host-settings.js';
import { isHandled, stateReport, type StateReport } from '../agent/report.js';
import { haReports } from '../agent/ha.js';
import { LOG_FORMATS, runLoop, systemClock, type LogFormat, type PassResult } from '../agent/runloop.js';
import { checkPass, syncPass, type SyncHooks, type SyncResult } from '../agent/sync.js';
import { ensureRegistered } from '../agent/transaction.js';
import { effectiveConfig } from '../model/config.js';
import { EXIT, L3ctlError, UsageError } from '../model/errors.js';
import type { Router, State } from '../model/types.js';
import { underLock } from './mutate.js';
import { loadState } from '../store/store.js';
import type { Context } from './context.js';
import { define, handler, noun } from './define.js';
import { printList, printObject } from './output.js';
import { confirm } from './prompt.js';
import { findRouter } from './resolve.js';

/** Progress is drawn only for at least this many routers (and only on a TTY). */
const PROGRESS_MIN_ROUTERS = 10;

function reportRouterError(name: string | null, err: Error): void {
  process.stderr.write(`l3ctl: error: ${name === null ? 'network bridges' : `router ${name}`}: ${err.message}\n`);
  const hint = (err as L3ctlError).hint;
  if (hint) process.stderr.write(`hint: ${hint}\n`);
}

const selectRouters = (s: State, refs: string[]): Router[] => (refs.length ? [...new Map(refs.map((r) => findRouter(s, r)).map((r) => [r.id, r])).values()] : s.routers);


/** One sync pass over the routers named by `refs` (all when empty), reading the store under the lock. */
async function syncOnce(ctx: Context, refs: string[], hooks?: Pick<SyncHooks, 'onError' | 'warn'>, announce = true): Promise<SyncResult> {
  const s = await loadState(ctx.storePath);
  // A store from before the registry, never changed since, joins it here.
  if (!ctx.dryRun && existsSync(ctx.storePath)) await ensureRegistered({ storePath: ctx.storePath, warn: hooks?.warn ?? ctx.warn });
  const config = effectiveConfig(s.config);
  const routers = selectRouters(s, refs);
  const progress = !ctx.quiet && !ctx.dryRun && !!process.stderr.isTTY && routers.length >= PROGRESS_MIN_ROUTERS;
  const clear = () => progress && process.stderr.write('\r\x1b[K');
  try {
    return await syncPass(ctx, s, config, {
      onError: (r, err) => {
        clear();
        (hooks?.onError ?? ((x, e) => reportRouterError(x?.name ?? null, e)))(r, err);
      },
      onProgress: progress ? (i, n, r) => void process.stderr.write(`\r\x1b[Ksyncing ${i + 1}/${n}: ${r.name}`) : undefined,
      // What changed, router by router (issue 15 shapes this line further).
      onChanged: announce ? (r, f) => {
        clear();
        ctx.status(`${r?.name ?? 'host'}: ${f.map((x) => `${x.kind} ${x.object}`).join(', ')}`);
      } : undefined,
      warn: hooks?.warn ?? ctx.warn,
    }, routers, { all: refs.length === 0 });
  } finally {
    clear();
  }
}

const FINDING_COLUMNS = ['router', 'router_id', 'kind', 'object', 'expected', 'live'];

export interface Finding extends Drift {
  router: string;
  router_id: string;
}

const REPORT_COLUMNS = [
  'binary', 'host', 'topic', 'agent_type', 'use_namespaces', 'router_id', 'handle_internal_only_routers',
  'gateway_external_network_id', 'interface_driver', 'routers', 'ex_gw_ports', 'interfaces', 'floating_ips', 'time',
];

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

async function printStatus(ctx: Context, r: StateReport, settings: ObservedHostSetting[], ha: Record<string, unknown>[] = []): Promise<void> {
  const json = settings.map((x) => Object.fromEntries(HOST_SETTING_COLUMNS.map((c) => [c, x[c as keyof ObservedHostSetting]])));
  // json keeps the agent's nesting (configurations{…}) and null for the host's own namespace; table and value are flat.
  if (ctx.format === 'json') return printObject(ctx, [...Object.keys(r), 'host_settings', 'ha_routers'], { ...r, host_settings: json, ha_routers: ha });
  const rows = json.map((x) => ({ ...x, namespace: x.namespace ?? '(host)' }));
  if (ctx.columns.length) return printObject(ctx, [...REPORT_COLUMNS, 'host_settings', 'ha_routers'], { ...flatReport(r), host_settings: rows, ha_routers: ha });
  await printObject(ctx, REPORT_COLUMNS, flatReport(r));
  if (ctx.format === 'table' && rows.length) {
    ctx.out('\nhost settings l3ctl would want:');
    await printList(ctx, HOST_SETTING_COLUMNS, rows);
  }
  if (ctx.format === 'table' && ha.length) {
    ctx.out('\nHA routers on this node (keepalived says):');
    await printList(ctx, HA_COLUMNS, ha);
  }
}

/** What cleanup found besides what it removes: other stores' routers, unknown namespaces still in use. */
function reportCleanup(ctx: Context, p: CleanupPlan, force: boolean): void {
  for (const u of p.registry.unreadable) ctx.warn(`registered store ${u.store} cannot be read (${u.error}): its routers count as unknown`);
  if (ctx.quiet) return;
  const byStore = new Map<string, number>();
  for (const o of p.otherStores) byStore.set(o.store, (byStore.get(o.store) ?? 0) + 1);
  for (const [store, n] of byStore) process.stderr.write(`keeping ${n} router namespace(s) of store ${store}\n`);
  if (p.keep.length) {
    process.stderr.write(`keeping ${p.keep.length} router namespace(s) no store on this host owns, still in use (--force removes them):\n${p.keep.map((x) => `  ${describeStale(x)}\n`).join('')}`);
  }
}

export function register(program: Command): void {
  const agent = noun(program, 'agent', { summary: 'the L3 agent: keep the kernel in line with the store', examples: ['l3ctl agent sync', 'l3ctl agent check'] });

  define(agent, 'sync [router...]', {
    summary: 'make the kernel match the store: converge handled routers, tear down the others',
    examples: ['l3ctl agent sync', 'l3ctl agent sync r1 --dry-run'],
  }).action(
    handler(async (ctx, _o, refs: string[]) => {
      const res = await underLock(ctx, () => syncOnce(ctx, refs));
      if (res.failed.length) {
        throw new L3ctlError(`${res.failed.length} router(s) failed to converge: ${res.failed.map((r) => r.name).join(', ')}`, EXIT.apply, 'fix the cause above, then run l3ctl agent sync again');
      }
      const skipped = res.skipped.length ? `, ${res.skipped.length} not handled here (${res.skipped.map((x) => `${x.router.name}: ${x.reason}`).join(', ')})` : '';
      ctx.status(`synced ${res.converged.length} router(s), ${res.changed.length} changed${skipped}`);
    }),
  );

  define(agent, 'check [router...]', {
    summary: 'report drift between the store and the kernel; exit 3 when there is any',
    examples: ['l3ctl agent check', 'l3ctl agent check r1 -f json'],
  }).action(
    handler(async (ctx, _o, refs: string[]) => {
      const s = await loadState(ctx.storePath);
      const config = effectiveConfig(s.config);
      const routers = selectRouters(s, refs);
      checkPass(s, config, routers);
      const findings: Finding[] = [];
      const failed: string[] = [];
      const notices = new Set<string>();
      for (const res of await checkRouters(ctx, s, config, routers, { host: !refs.length })) {
        for (const n of res.notices) notices.add(n);
        const name = res.router?.name ?? '(host namespace)';
        // A namespace that cannot be read is reported; the other routers are still checked.
        if (res.error) {
          failed.push(name);
          reportRouterError(name, res.error);
        }
        for (const d of res.findings) findings.push({ router: name, router_id: res.router?.id ?? '', ...d });
      }
      if (findings.length || ctx.format !== 'table') await printList(ctx, FINDING_COLUMNS, findings as unknown as Record<string, unknown>[]);
      // Not drift (no exit 3), and not in the findings list: one line on stderr in every format.
      if (!ctx.quiet) for (const n of notices) process.stderr.write(`l3ctl: notice: ${n}\n`);
      if (failed.length) throw new L3ctlError(`could not check ${failed.length} router(s): ${failed.join(', ')}`, EXIT.apply);
      if (!findings.length) return ctx.status(`no drift: ${routers.length} router(s) match the store`);
      const names = [...new Set(findings.map((f) => f.router))];
      process.stderr.write(`l3ctl: drift in ${names.length} router(s) (${names.join(', ')}): ${findings.length} finding(s)\nhint: l3ctl agent sync${refs.length ? ' ' + names.join(' ') : ''}\n`);
      process.exitCode = EXIT.drift;
    }),
  );

  define(agent, 'cleanup', {
    summary: 'remove qrouter- namespaces no store on this host owns (with router_id set: only that one); those still in use only with --force',
    examples: ['l3ctl agent cleanup --dry-run', 'l3ctl agent cleanup --yes'],
  })
    .option('--force', 'also remove router namespaces of unknown owner that still have devices or processes (their processes are killed)')
    .action(
    handler(async (ctx, o) => {
      const force = !!o.force;
      const first = await planCleanup(ctx, { force, dryRun: ctx.dryRun });
      reportCleanup(ctx, first, force);
      if (!first.remove.length) return ctx.status('no stale router namespaces');
      if (!ctx.quiet) process.stderr.write(`will remove ${first.remove.length} stale router namespace(s):\n${first.remove.map((x) => `  ${describeStale(x)}\n`).join('')}`);
      await confirm(ctx, `Remove ${first.remove.length} stale router namespace(s)?`);
      const failed: string[] = [];
      await underLock(ctx, async () => {
        // Decided again under the lock: a router added meanwhile owns its namespace now.
        const listed = new Set(first.remove.map((x) => x.ns));
        const now = ctx.dryRun ? first : await planCleanup(ctx, { force });
        for (const x of now.remove.filter((y) => listed.has(y.ns))) {
          try {
            await removeStale(ctx, x, { dryRun: ctx.dryRun });
            ctx.status(`removed ${x.ns}`);
          } catch (err) {
            failed.push(x.ns);
            process.stderr.write(`l3ctl: error: ${x.ns}: ${(err as Error).message}\n`);
          }
        }
      });
      if (failed.length) throw new L3ctlError(`${failed.length} namespace(s) could not be removed: ${failed.join(', ')}`, EXIT.apply);
    }),
  );

  define(agent, 'status', {
    summary: "the agent's state report: configuration and counts of the routers handled here, and the host settings l3ctl would want",
    examples: ['l3ctl agent status', 'l3ctl agent status -f json'],
  }).action(
    handler(async (ctx) => {
      const s = await loadState(ctx.storePath);
      const config = effectiveConfig(s.config);
      const settings = await observeHostSettings(ctx.runner, wantedHostSettings(config));
      const haRouters = s.routers.filter((r) => r.ha && isHandled(s, config, r));
      const ha = await haReports(ctx, config, haRouters);
      const haRows = haRouters.map((r) => ({ router: r.name, id: r.id, ...ha.get(r.id) }));
      await printStatus(ctx, stateReport(s, config, { host: hostname(), now: new Date() }), settings, haRows);
    }),
  );

  define(agent, 'run', {
    summary: 'loop: sync every router every periodic_interval seconds, one log line per pass; SIGHUP: a pass now; SIGTERM: stop after the pass',
    examples: ['l3ctl agent run', 'l3ctl agent run --interval 10 --log-format json'],
  })
    .option('--interval <seconds>', 'seconds between passes (default: config periodic_interval)')
    .addOption(new Option('--log-format <format>', 'text: one line per pass; json: one object per line (with the state report)').choices(LOG_FORMATS).default('text'))
    .action(
      handler(async (ctx, o) => {
        let interval: number | null = null;
        if (o.interval !== undefined) {
          if (!/^\d+(\.\d+)?$/.test(o.interval) || Number(o.interval) <= 0) throw new UsageError(`invalid --interval '${o.interval}': expected a number of seconds above 0`);
          interval = Number(o.interval);
        }
        const format = o.logFormat as LogFormat;
        // text: pass lines on stdout, errors and warnings on stderr; json: every line on stdout.
        const log = (level: string, line: string) => {
          if (level === 'info' && ctx.quiet) return;
          (format === 'text' && level !== 'info' ? process.stderr : process.stdout).write(line + '\n');
        };
        // Under --dry-run one pass shows what the loop would do; repeating it would change nothing.
        await runLoop({ pass: (n) => loopPass(ctx, n), clock: systemClock, signals: process, log }, { format, fixedInterval: interval, once: ctx.dryRun });
      }),
    );
}

/** One pass of `agent run`: sync everything under the lock, then the state report. Router errors are collected for the loop's log. */
async function loopPass(ctx: Context, n: number): Promise<PassResult> {
  const errors: PassResult['errors'] = [];
  const warnings: string[] = [];
  const { res, state } = await underLock(ctx, async () => {
    const res = await syncOnce(ctx, [], {
      onError: (r, err) => void errors.push({ router: r?.name ?? null, message: err.message, ...((err as L3ctlError).hint ? { hint: (err as L3ctlError).hint } : {}) }),
      warn: (t) => void warnings.push(t),
    }, false);
    return { res, state: await loadState(ctx.storePath) };
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
    report: stateReport(state, config, { host: hostname(), now: new Date(), startFlag: n === 1 }),
  };
}
