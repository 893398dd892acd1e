// Exclusive store lock for the whole read-change-apply-save cycle of a
// mutating command (issues 5, 10). l3ctl is many short processes sharing one
// store, so the lock lives in the file system: the directory `<store>.lock`
// (mkdir is atomic), holding a file `owner` that says who made it. Reads
// (list, show, completion) never take it: saves are atomic renames.
//
// When is a lock dead (and taken over)?
//  - At once when its holder is verifiably dead: the owner file records pid,
//    the process start time (/proc/<pid>/stat), the pid namespace and the
//    boot id. Same boot and pid namespace as ours, and that pid is gone, a
//    zombie, or a different process (start time differs: the pid was
//    reused) -> dead. A SIGKILLed l3ctl is thus taken over in one poll.
//  - Otherwise after LOCK_STALE_MS without a refresh of the dir's mtime
//    (the holder touches it every LOCK_UPDATE_MS). This covers holders we
//    cannot judge (another pid namespace or host sharing the store, an owner
//    file that cannot be read) and live holders that stopped refreshing
//    (Ctrl-Z, SIGSTOP).
//
// A lock appears whole: made under a temporary name with its owner file,
// then renamed to `<store>.lock`. So no holder, killed at any moment, leaves
// a lock that does not name it. One killed between the two leaves only the
// temporary directory, which a later l3ctl removes once it is stale.
//
// A holder can therefore lose its lock (stopped for longer than the stale
// time while someone waited); it must not save then. The lease's
// assertHeld() judges by the real state on disk: it touches the lock dir,
// then checks that the dir at that path holds our token. After it returns
// nobody can judge the lock stale for LOCK_STALE_MS, and a waiter that judged
// it stale just before finds the new mtime and puts the lock back (below).
// A holder whose touches keep failing concedes after half the stale time.
// The save that follows takes milliseconds; the file system cannot fence a
// rename, so a holder stopped *between* assertHeld and the rename for longer
// than the stale time is the one case left.
//
// Takeover moves the dead lock aside with rename and re-reads it there: only
// when it is still the very lock that was judged dead (same token, same
// mtime) is it removed, else it is put back. So a waiter never removes a
// lock that was refreshed or re-made in the meantime.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { errnoCode, EXIT, L3ctlError, StoreError, UsageError } from '../model/errors.js';

/**
 * A lock not refreshed for this long is taken over even if its holder lives.
 * Far beyond any event-loop stall of a loaded 2-core machine (the refresh is
 * a timer; the apply's programs run asynchronously), and no longer than the
 * default lock timeout, so a waiter outlasts a stopped holder.
 */
export const LOCK_STALE_MS = 30_000;
/** How often a holder refreshes the lock dir's mtime. */
export const LOCK_UPDATE_MS = 2_000;
/** Waits shorter than this are silent. */
const WAIT_NOTICE_MS = 1000;
export const DEFAULT_LOCK_TIMEOUT_SEC = 30;

export class LockTimeoutError extends L3ctlError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.locked, hint);
    this.name = 'LockTimeoutError';
  }
}

/** The lock was lost while held: another l3ctl took it over. Exit 4. */
export class LockCompromisedError extends L3ctlError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.locked, hint);
    this.name = 'LockCompromisedError';
  }
}

/** What the function run under the lock gets. */
export interface LockLease {
  /**
   * Throws LockCompromisedError unless this process still holds the lock,
   * judged on disk; refreshes it. Call right before saving. Synchronous, so
   * a forgotten await cannot turn it into a no-op.
   */
  assertHeld(): void;
}

/** For callers that skip the lock (--dry-run changes nothing). */
export const NO_LOCK: LockLease = { assertHeld() {} };

export const lockDirPath = (storePath: string) => `${path.resolve(storePath)}.lock`;
export const lockOwnerPath = (storePath: string) => path.join(lockDirPath(storePath), 'owner');

export interface LockOptions {
  /** Give up after this many seconds; default env L3CTL_LOCK_TIMEOUT, else 30. */
  timeoutSec?: number;
  /** Called once, after WAIT_NOTICE_MS of waiting, with a line for stderr. */
  onWaiting?: (msg: string) => void;
  /** Tests only: a shorter stale time (holder and waiters must agree). */
  staleMs?: number;
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

// ---------------------------------------------------------------- who holds it

interface Owner {
  pid: number;
  token: string;
  /** /proc/sys/kernel/random/boot_id; null when unknown. */
  boot: string | null;
  /** readlink /proc/self/ns/pid, e.g. pid:[4026531836]; null when unknown. */
  pidns: string | null;
  /** Start time of the process in clock ticks after boot (/proc/<pid>/stat field 22). */
  start: string | null;
}

const readOr = <T>(f: () => T, fallback: T): T => {
  try {
    return f();
  } catch {
    return fallback;
  }
};

/** State letter and start time from /proc/<pid>/stat; null when unreadable. */
function procStat(pid: number | 'self'): { state: string; start: string } | null {
  const text = readOr(() => readFileSync(`/proc/${pid}/stat`, 'utf8'), null);
  if (text === null) return null;
  // Fields after the command name, which is in parentheses and may hold anything.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', start: rest[19] ?? '' };
}

let self: Omit<Owner, 'token'> | undefined;
function whoAmI(): Omit<Owner, 'token'> {
  self ??= {
    pid: process.pid,
    boot: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), null),
    pidns: readOr(() => readlinkSync('/proc/self/ns/pid'), null),
    start: procStat('self')?.start ?? null,
  };
  return self;
}

function readOwner(dir: string): Owner | null {
  const text = readOr(() => readFileSync(path.join(dir, 'owner'), 'utf8'), null);
  if (text === null) return null;
  const o = readOr(() => JSON.parse(text) as Partial<Owner>, null);
  if (!o || !Number.isInteger(o.pid) || typeof o.token !== 'string') return null;
  const s = (x: unknown) => (typeof x === 'string' ? x : null);
  return { pid: o.pid!, token: o.token, boot: s(o.boot), pidns: s(o.pidns), start: s(o.start) };
}

/** true: alive; false: verifiably dead; null: cannot tell from here. */
function holderAlive(o: Owner): boolean | null {
  const me = whoAmI();
  if (!o.boot || !o.pidns || o.boot !== me.boot || o.pidns !== me.pidns) return null;
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists, owned by someone else.
  }
  const st = procStat(o.pid);
  if (!st) return true; // exists, but /proc hides it (hidepid): believe it lives
  if (st.state === 'Z' || st.state === 'X') return false;
  if (o.start && st.start !== o.start) return false; // the pid was reused
  return true;
}

const isStopped = (o: Owner | null) => !!o && holderAlive(o) === true && /^[Tt]$/.test(procStat(o.pid)?.state ?? '');

const errMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
// No exception for a missing path: the common case, when no lock is there.
const mtimeOf = (p: string) => readOr(() => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? null, null);
/** A name of this process's own beside the lock: a lock being made (`new`), or one moved aside (`old`). */
const beside = (dir: string, what: 'new' | 'old') => `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.${what}`;

/**
 * Remove the lock at `dir` only if it still is the one described (token,
 * and mtime when given): moved aside first, checked there, put back when it
 * is not. true when it was removed.
 */
function removeIfStill(dir: string, token: string | null, mtime: number | null): boolean {
  const moved = beside(dir, 'old');
  try {
    renameSync(dir, moved);
  } catch {
    return false; // gone already, or not ours to move
  }
  const same = (readOwner(moved)?.token ?? null) === token && (mtime === null || mtimeOf(moved) === mtime);
  if (!same) {
    try {
      // Fails (ENOTEMPTY) if a new lock was made meanwhile; that one wins and
      // the lock we moved is lost: its holder finds out at assertHeld.
      renameSync(moved, dir);
      return false;
    } catch {
      // fall through: clear it away
    }
  }
  removeLockDir(moved);
  return same;
}

/**
 * A lock directory and its owner file, with two calls: fs.rmSync's recursive
 * remover is loaded on first use (~1 ms of every change). Anything else in
 * it (not ours) is removed as before.
 */
function removeLockDir(dir: string): void {
  try {
    unlinkSync(path.join(dir, 'owner'));
  } catch {
    // Not there: the rmdir says whether the directory is empty.
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Lock directories under a temporary name (`beside`) whose process was killed
 * in the instant between making one and renaming it: removed once older than
 * the stale time, as a lock would be (a live one lasts microseconds). One
 * read of the store's directory per lock taken.
 */
function sweepAbandoned(dir: string, staleMs: number): void {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.`;
  const names = readOr(() => readdirSync(parent), [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+\.[0-9a-f]{8}\.(new|old)$/.test(name.slice(prefix.length))) continue;
    const p = path.join(parent, name);
    const mtime = mtimeOf(p);
    if (mtime !== null && Date.now() - mtime > staleMs) removeLockDir(p);
  }
}

/** One attempt: our lock (a token), or what is known about the holder. */
function tryAcquire(dir: string, staleMs: number): { token: string } | { holder: Owner | null } {
  // No owner file: no lock, or an empty one that an older l3ctl left between
  // its mkdir and its owner file. Otherwise the polls of a waiter make no
  // directory to throw away.
  if (!readOr(() => statSync(path.join(dir, 'owner'), { throwIfNoEntry: false }), null)) {
    const token = randomBytes(16).toString('hex');
    // Made whole under a name of its own, then renamed into place: a process
    // killed at any moment leaves no lock, or one whose owner file names it.
    const fresh = beside(dir, 'new');
    mkdirSync(fresh, { mode: 0o700 });
    try {
      writeFileSync(path.join(fresh, 'owner'), JSON.stringify({ ...whoAmI(), token }) + '\n', { flag: 'wx' });
      // Fails when a lock with its owner file is there. An empty one is
      // replaced: the older l3ctl's exclusive write of its owner file fails.
      renameSync(fresh, dir);
      return { token };
    } catch (err) {
      removeLockDir(fresh);
      // ENOENT: swept as abandoned while this process was stopped in between; tried again.
      if (!['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'ENOENT'].includes(errnoCode(err) ?? '')) throw err;
    }
  }
  const mtime = mtimeOf(dir);
  const holder = readOwner(dir);
  if (mtime === null) return { holder }; // released meanwhile: the next poll gets it
  const alive = holder ? holderAlive(holder) : null;
  if (alive === false || Date.now() - mtime > staleMs) {
    if (removeIfStill(dir, holder?.token ?? null, mtime)) return tryAcquire(dir, staleMs);
  }
  return { holder };
}

/** The lease of a lock we made; refreshed by a timer until released. */
class Lease implements LockLease {
  private lastRefresh = Date.now();
  private lostWhy: string | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly storePath: string,
    private readonly dir: string,
    private readonly token: string,
    private readonly staleMs: number,
  ) {
    // Sync file calls: a refresh must not queue behind slow I/O in the thread pool.
    this.timer = setInterval(() => this.refresh(), Math.min(LOCK_UPDATE_MS, staleMs / 4));
    this.timer.unref();
  }

  get lost(): string | null {
    return this.lostWhy;
  }

  /** Touch the lock dir, then make sure the dir at that path is ours. */
  private refresh(): void {
    if (this.lostWhy) return;
    try {
      const now = new Date();
      utimesSync(this.dir, now, now);
      this.lastRefresh = now.getTime();
    } catch (err) {
      const gap = Date.now() - this.lastRefresh;
      // A lock we cannot keep fresh will be judged stale: concede it well before.
      if (errnoCode(err) !== 'ENOENT' && gap > this.staleMs / 2) {
        this.lostWhy = `it could not be refreshed for ${(gap / 1000).toFixed(1)} s: ${errMessage(err)}`;
        return;
      }
    }
    // Read after the touch: a waiter that moved the lock aside before it sees
    // the dir gone or someone else's; one that moves it after sees the new
    // mtime and puts it back.
    const holder = readOwner(this.dir);
    if (holder?.token !== this.token) this.lostWhy = holder ? `pid ${holder.pid} took it over` : 'another l3ctl took it over';
  }

  assertHeld(): void {
    this.refresh();
    if (this.lostWhy) {
      throw new LockCompromisedError(
        `lost the lock on store ${this.storePath} (${this.lostWhy}); nothing was saved`,
        'another l3ctl took over while this one was stopped or stalled; run this command again',
      );
    }
  }

  release(): void {
    clearInterval(this.timer);
    // Only ever remove our own lock; a taken-over one belongs to its new holder.
    // (Ours even when we conceded it: nobody took it, so it goes.)
    const ours = readOwner(this.dir)?.token === this.token;
    if (!(ours && removeIfStill(this.dir, this.token, null))) this.lostWhy ??= 'another l3ctl took it over';
  }
}

function describeHolder(h: Owner | null): string {
  return `pid ${h ? h.pid : 'unknown'}`;
}

/**
 * Run fn while holding the store's exclusive lock. fn gets the lease; a
 * function that saves calls lease.assertHeld() right before saving. If the
 * lock was lost by the time fn returns, LockCompromisedError is thrown
 * (fn's own error wins if it threw). Not re-entrant: do not nest calls on
 * the same store in one process (the inner one would wait for the outer one
 * until it times out).
 */
export async function withStoreLock<T>(storePath: string, fn: (lease: LockLease) => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const timeoutSec = resolveTimeoutSec(opts.timeoutSec);
  const staleMs = opts.staleMs ?? LOCK_STALE_MS;
  const dir = lockDirPath(storePath);
  try {
    // The lock dir sits beside the store; its parent must exist first.
    mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError(`cannot lock store ${storePath}: ${errMessage(err)}`);
  }

  const start = Date.now();
  const deadline = start + timeoutSec * 1000;
  let noticed = false;
  let token: string;
  // A short, jittered poll lets 24 parallel processes through quickly.
  for (;;) {
    let got: ReturnType<typeof tryAcquire>;
    try {
      got = tryAcquire(dir, staleMs);
    } catch (err) {
      throw new StoreError(`cannot lock store ${storePath}: ${errMessage(err)}`);
    }
    if ('token' in got) {
      token = got.token;
      break;
    }
    const now = Date.now();
    if (now >= deadline) {
      const stopped = isStopped(got.holder);
      throw new LockTimeoutError(
        `store ${storePath} is locked by ${describeHolder(got.holder)} (${stopped ? 'stopped; ' : ''}held for more than ${timeoutSec} s)`,
        stopped
          ? `resume it (fg, or kill -CONT ${got.holder!.pid}) or end it; a lock not refreshed for ${staleMs / 1000} s is taken over`
          : 'wait for that l3ctl to finish, or raise L3CTL_LOCK_TIMEOUT',
      );
    }
    if (!noticed && now - start >= WAIT_NOTICE_MS) {
      noticed = true;
      opts.onWaiting?.(`waiting for the lock held by ${describeHolder(got.holder)}…`);
    }
    await sleep(Math.min(25 + Math.random() * 25, Math.max(deadline - now, 1)));
  }

  sweepAbandoned(dir, staleMs);
  const lease = new Lease(storePath, dir, token, staleMs);
  let result: T;
  try {
    result = await fn(lease);
  } finally {
    lease.release();
  }
  if (lease.lost) {
    throw new LockCompromisedError(
      `lost the lock on store ${storePath} while holding it (${lease.lost}); another l3ctl may have changed it meanwhile`,
      "run 'l3ctl agent check' and 'l3ctl agent sync' to reconcile the kernel with the store",
    );
  }
  return result;
}

/** Who holds the store's lock now (diagnose host): null when it is free. */
export function lockHolder(storePath: string): { pid: number; alive: boolean | null } | null {
  const o = readOwner(lockDirPath(storePath));
  return o ? { pid: o.pid, alive: holderAlive(o) } : null;
}
