// `router exec`: the signals that end l3ctl go on to the command it waits
// for, so that a `kill` of l3ctl or a dropped ssh session does not leave the
// command running in the router's namespace (where `router delete` would
// hide it in an unnamed one). l3ctl itself stays to pass the command's exit
// status on.
import { readFileSync } from 'node:fs';

export type ForwardedSignal = 'SIGTERM' | 'SIGHUP' | 'SIGINT';
export const FORWARDED: readonly ForwardedSignal[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];

/** `process` is one. */
export interface SignalEvents {
  on(signal: ForwardedSignal, fn: () => void): unknown;
  off(signal: ForwardedSignal, fn: () => void): unknown;
}

/** A ChildProcess is one. */
export interface SignalTarget {
  readonly pid?: number;
  kill(signal: ForwardedSignal): boolean;
}

export interface ForwardDeps {
  signals: SignalEvents;
  /**
   * Whether a SIGINT l3ctl got may have come from its terminal's Ctrl-C and so
   * have reached the command as well (both in the terminal's foreground group).
   */
  sharesTerminalSignals(childPid: number): boolean;
  /** How long such a SIGINT is left to the command before l3ctl passes it on. */
  graceMs: number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(t: unknown): void;
}

/** A Ctrl-C the command answers (ping's summary) takes milliseconds; a second SIGINT would cut a slower clean-up short. */
export const SIGINT_GRACE_MS = 1000;

/**
 * Passes SIGTERM and SIGHUP on to `child` at once; a SIGINT at once when it
 * cannot have come from the terminal, else after `graceMs` if the command is
 * still there (the terminal gave it the same Ctrl-C: it is not sent twice at
 * once). Returns the function that stops forwarding (call it once the child
 * has ended).
 */
export function forwardSignals(child: SignalTarget, deps: ForwardDeps): () => void {
  let pendingInt: unknown = null;
  const handlers = new Map<ForwardedSignal, () => void>();
  for (const sig of FORWARDED) {
    const fn = () => {
      if (sig !== 'SIGINT' || child.pid === undefined || !deps.sharesTerminalSignals(child.pid)) {
        child.kill(sig);
        return;
      }
      // Ctrl-C pressed again while one waits: the terminal sent it to the command too.
      if (pendingInt !== null) return;
      pendingInt = deps.setTimer(() => {
        pendingInt = null;
        child.kill('SIGINT');
      }, deps.graceMs);
    };
    handlers.set(sig, fn);
    deps.signals.on(sig, fn);
  }
  return () => {
    for (const [sig, fn] of handlers) deps.signals.off(sig, fn);
    if (pendingInt !== null) deps.clearTimer(pendingInt);
    pendingInt = null;
  };
}

/** The process group (5th field) and the terminal's foreground group (8th) of /proc/PID/stat; null when unreadable. */
export function parseStat(text: string): { pgrp: number; tpgid: number } | null {
  // The command name (2nd field) may hold spaces and parentheses: the fields that follow start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(rest[2]);
  const tpgid = Number(rest[5]);
  return Number.isInteger(pgrp) && Number.isInteger(tpgid) && rest.length > 5 ? { pgrp, tpgid } : null;
}

const readStat = (pid: number | 'self') => {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
};

/**
 * A terminal's Ctrl-C goes to its foreground process group: it reached both
 * l3ctl and the command only if l3ctl is in that group and the command still
 * is in l3ctl's (an interactive shell moves to a group of its own). In doubt, yes.
 */
export function sharesTerminalSignals(childPid: number, read: (pid: number | 'self') => { pgrp: number; tpgid: number } | null = readStat): boolean {
  const self = read('self');
  const child = read(childPid);
  if (!self || !child) return true;
  return self.tpgid > 0 && self.pgrp === self.tpgid && child.pgrp === self.pgrp;
}

/** The real process's signals and timers. */
export const processForwardDeps = (): ForwardDeps => ({
  signals: process,
  sharesTerminalSignals,
  graceMs: SIGINT_GRACE_MS,
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (t) => clearTimeout(t as NodeJS.Timeout),
});
