// Exclusive store lock for the whole read-change-apply-save cycle of a
// mutating command (issue 5). l3ctl is many short processes sharing one
// store, so the lock lives in the file system: proper-lockfile's mkdir lock
// `<store>.lock`, kept fresh by the holder; a lock whose mtime is older than
// LOCK_STALE_MS belongs to a dead process and is taken over.
// Reads (list, show, completion) never take it: saves are atomic renames.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { EXIT, L3ctlError, StoreError, UsageError } from '../model/errors.js';

/** A holder that has not refreshed its lock for this long is dead. */
export const LOCK_STALE_MS = 4000;
/** How often a holder refreshes the lock's mtime (well inside LOCK_STALE_MS). */
export const LOCK_UPDATE_MS = 1000;
/** Waits shorter than this are silent. */
const WAIT_NOTICE_MS = 1000;
export const DEFAULT_LOCK_TIMEOUT_SEC = 30;

export class LockTimeoutError extends L3ctlError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.locked, hint);
    this.name = 'LockTimeoutError';
  }
}

/**
 * The lock was lost while held (this process stalled past LOCK_STALE_MS and
 * another l3ctl took it over). Thrown after fn has finished.
 */
export class LockCompromisedError extends L3ctlError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.locked, hint);
    this.name = 'LockCompromisedError';
  }
}

export const lockDirPath = (storePath: string) => `${path.resolve(storePath)}.lock`;
// Beside the lock dir, not in it: proper-lockfile removes the dir with rmdir.
export const lockPidPath = (storePath: string) => `${path.resolve(storePath)}.lock.pid`;

export interface LockOptions {
  /** Give up after this many seconds; default env L3CTL_LOCK_TIMEOUT, else 30. */
  timeoutSec?: number;
  /** Called once, after WAIT_NOTICE_MS of waiting, with a line for stderr. */
  onWaiting?: (msg: string) => void;
}

function resolveTimeoutSec(opt?: number): number {
  if (opt !== undefined) return opt;
  const env = process.env.L3CTL_LOCK_TIMEOUT;
  if (env === undefined || env.trim() === '') return DEFAULT_LOCK_TIMEOUT_SEC;
  const n = Number(env);
  if (!Number.isFinite(n) || n < 0) {
    throw new UsageError(`invalid L3CTL_LOCK_TIMEOUT '${env}': expected a number of seconds (0 or more)`);
  }
  return n;
}

/** The holder's pid from the sidecar, or 'unknown' (not written yet, or gone). */
async function readHolderPid(storePath: string): Promise<string> {
  try {
    const s = (await fsp.readFile(lockPidPath(storePath), 'utf8')).trim();
    return /^\d+$/.test(s) ? s : 'unknown';
  } catch {
    return 'unknown';
  }
}

const errMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Run fn while holding the store's exclusive lock. Not re-entrant: do not
 * nest calls on the same store in one process (the inner one would wait for
 * the outer one until it times out).
 */
export async function withStoreLock<T>(storePath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const timeoutSec = resolveTimeoutSec(opts.timeoutSec);
  const target = path.resolve(storePath);
  try {
    // The lock dir sits beside the store; its parent must exist first.
    await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError(`cannot lock store ${storePath}: ${errMessage(err)}`);
  }

  const lost: { err?: Error } = {};
  const start = Date.now();
  const deadline = start + timeoutSec * 1000;
  let noticed = false;
  let release: () => Promise<void>;

  // Our own polling loop (one attempt per lock() call) rather than
  // proper-lockfile's exponential retries: a short, jittered interval lets
  // 24 parallel processes through quickly, and we control the notice and
  // the timeout.
  // Loaded here: reads never lock, and proper-lockfile pulls in graceful-fs.
  const { lock: properLock } = await import('proper-lockfile');
  for (;;) {
    try {
      release = await properLock(target, {
        stale: LOCK_STALE_MS,
        update: LOCK_UPDATE_MS,
        realpath: false, // the store may not exist yet
        retries: 0,
        // Default is to throw from a timer, which would kill the process
        // mid-apply; record it and report once fn is done instead.
        onCompromised: (err) => {
          lost.err = err;
        },
      });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new StoreError(`cannot lock store ${storePath}: ${errMessage(err)}`);
      }
    }
    const now = Date.now();
    if (now >= deadline) {
      throw new LockTimeoutError(
        `store ${storePath} is locked by pid ${await readHolderPid(target)} (held for more than ${timeoutSec} s)`,
        'wait for that l3ctl to finish, or raise L3CTL_LOCK_TIMEOUT',
      );
    }
    if (!noticed && now - start >= WAIT_NOTICE_MS) {
      noticed = true;
      opts.onWaiting?.(`waiting for the lock held by pid ${await readHolderPid(target)}…`);
    }
    await sleep(Math.min(25 + Math.random() * 25, Math.max(deadline - now, 1)));
  }

  const pidFile = lockPidPath(target);
  const myPid = String(process.pid);
  // Best effort: the pid only makes messages nicer; the lock is the mkdir.
  await fsp.writeFile(pidFile, myPid + '\n').catch(() => {});

  let result: T;
  try {
    result = await fn();
  } finally {
    // Remove the sidecar only if still ours (after a takeover it is not).
    if ((await readHolderPid(target)) === myPid) await fsp.rm(pidFile, { force: true }).catch(() => {});
    // Fails only when already compromised (ERELEASED); the lock is gone then.
    await release().catch(() => {});
  }
  if (lost.err) {
    throw new LockCompromisedError(
      `lost the lock on store ${storePath} while holding it (${lost.err.message}); another l3ctl may have changed it meanwhile`,
      "run 'l3ctl agent check' and 'l3ctl agent sync' to reconcile the kernel with the store",
    );
  }
  return result;
}
