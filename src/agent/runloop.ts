// The `agent run` loop (the agent's periodic_sync_routers_task), as systemd's
// l3ctl-agent.service runs it: one sync pass every interval; SIGHUP runs a
// pass at once; SIGTERM/SIGINT end the loop after the current pass. Each pass
// writes one log line (plus one per router error). Everything the loop
// touches is injected, so tests drive it in-process with a fake clock and
// signal source.
import { setTimeout as sleepFor } from 'node:timers/promises';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type Level = 'info' | 'warning' | 'error';

/** Used until a pass has read periodic_interval from the configuration. */
export const DEFAULT_INTERVAL_SEC = 40;
/** A text line names at most this many changed or failed routers; json names them all. */
const NAMES_IN_TEXT = 10;

/** What one pass did (router names, not ids: the log is for people and shippers). */
export interface PassResult {
  /** Stored routers the pass looked at. */
  routers: number;
  changed: string[];
  failed: string[];
  /** Routers this host does not handle (torn down if present). */
  skipped: number;
  /** Seconds to the next pass, from the configuration this pass read. */
  interval: number;
  /** Per-router failures (router null: the network bridges); the pass went on. */
  errors: { router: string | null; message: string; hint?: string }[];
  warnings: string[];
  /** The agent's state report, carried on the json line. */
  report?: unknown;
}

/** Why a pass ran. */
export type Trigger = 'start' | 'timer' | 'SIGHUP';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or as soon as `wake` is aborted (at once if it already is). */
  sleep(ms: number, wake: AbortSignal): Promise<void>;
}

/** `process` is one. */
export interface SignalSource {
  on(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', fn: () => void): unknown;
  off(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', fn: () => void): unknown;
}

/** Receives each formatted line (no newline) with its level. */
export type LogWriter = (level: Level, line: string) => void;

export interface RunLoopDeps {
  /** One sync pass (numbered from 1). Throws when the whole pass fails (lock, store, configuration). */
  pass(n: number): Promise<PassResult>;
  clock: Clock;
  signals: SignalSource;
  log: LogWriter;
}

export interface RunLoopOptions {
  format: LogFormat;
  /** --interval: overrides periodic_interval. */
  fixedInterval?: number | null;
  /** Stop after the first pass (--dry-run). */
  once?: boolean;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, wake) => sleepFor(ms, undefined, { signal: wake }).catch((err: Error) => {
    if (err.name !== 'AbortError') throw err;
  }),
};

interface Entry {
  level: Level;
  msg: string;
  fields: Record<string, unknown>;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

function names(list: string[]): string {
  if (!list.length) return '';
  const shown = list.slice(0, NAMES_IN_TEXT).join(', ');
  return ` (${shown}${list.length > NAMES_IN_TEXT ? `, +${list.length - NAMES_IN_TEXT} more` : ''})`;
}

/** `pass 12: 16 routers, 1 changed (r3), 0 failed, 0.21 s` */
export function passSummary(n: number, trigger: Trigger, r: PassResult, ms: number): string {
  const skipped = r.skipped ? ` (${r.skipped} not handled here)` : '';
  const why = trigger === 'SIGHUP' ? ' (SIGHUP)' : '';
  return `pass ${n}${why}: ${r.routers} routers${skipped}, ${r.changed.length} changed${names(r.changed)}, ${r.failed.length} failed${names(r.failed)}, ${seconds(ms).toFixed(2)} s`;
}

/**
 * text: the message; errors and warnings as the CLI prints them
 * (`l3ctl: error: …` then `hint: …`). json: one object per line with time,
 * level, msg and the entry's fields, for log shippers.
 */
export function formatEntry(format: LogFormat, e: Entry, now: number): string {
  if (format === 'json') return JSON.stringify({ time: new Date(now).toISOString(), level: e.level, msg: e.msg, ...e.fields });
  if (e.level === 'info') return e.msg;
  const hint = typeof e.fields.hint === 'string' ? `\nhint: ${e.fields.hint}` : '';
  return `l3ctl: ${e.level}: ${e.msg}${hint}`;
}

/**
 * Runs passes until SIGTERM or SIGINT (then returns after the current pass:
 * the caller exits 0). A SIGHUP while waiting starts a pass at once; one
 * during a pass starts another right after it, so a change made before the
 * signal is always seen. A failed pass is logged and the loop goes on, as the
 * agent's periodic task does. Returns the number of passes run.
 */
export async function runLoop(deps: RunLoopDeps, o: RunLoopOptions): Promise<number> {
  const { clock, signals } = deps;
  let stopping = false;
  let hup = false;
  let wake = new AbortController();
  const onStop = () => {
    stopping = true;
    wake.abort();
  };
  const onHup = () => {
    hup = true;
    wake.abort();
  };
  signals.on('SIGTERM', onStop);
  signals.on('SIGINT', onStop);
  signals.on('SIGHUP', onHup);
  const log = (e: Entry) => deps.log(e.level, formatEntry(o.format, e, clock.now()));
  let interval = o.fixedInterval ?? DEFAULT_INTERVAL_SEC;
  let trigger: Trigger = 'start';
  let n = 0;
  try {
    for (;;) {
      n++;
      hup = false; // a SIGHUP that came before this pass started is served by it
      const t0 = clock.now();
      try {
        const r = await deps.pass(n);
        interval = o.fixedInterval ?? r.interval;
        for (const w of r.warnings) log({ level: 'warning', msg: w, fields: { pass: n } });
        for (const e of r.errors) {
          const what = e.router === null ? 'network bridges' : `router ${e.router}`;
          log({ level: 'error', msg: `${what}: ${e.message}`, fields: { pass: n, router: e.router, ...(e.hint ? { hint: e.hint } : {}) } });
        }
        const ms = clock.now() - t0;
        log({
          level: 'info',
          msg: passSummary(n, trigger, r, ms),
          fields: { pass: n, trigger, routers: r.routers, changed: r.changed, failed: r.failed, skipped: r.skipped, seconds: seconds(ms), ...(r.report === undefined ? {} : { report: r.report }) },
        });
      } catch (err) {
        const ms = clock.now() - t0;
        const hint = (err as { hint?: unknown }).hint;
        log({ level: 'error', msg: `pass ${n} failed: ${(err as Error).message}`, fields: { pass: n, trigger, seconds: seconds(ms), ...(typeof hint === 'string' ? { hint } : {}) } });
      }
      if (o.once || stopping) break;
      if (hup) {
        trigger = 'SIGHUP';
        continue;
      }
      // Nothing can run between here and sleep(): a signal now aborts this controller.
      wake = new AbortController();
      await clock.sleep(Math.max(0, interval * 1000 - (clock.now() - t0)), wake.signal);
      if (stopping) break;
      trigger = hup ? 'SIGHUP' : 'timer';
    }
  } finally {
    signals.off('SIGTERM', onStop);
    signals.off('SIGINT', onStop);
    signals.off('SIGHUP', onHup);
  }
  return n;
}
