// The agent's transaction (src/agent/transaction.ts) with this command's
// runner, store and streams. It is loaded on first use, so that the commands
// that only read never load the agent.
import type { Change, TxDeps } from '../agent/transaction.js';
import type { State } from '../model/types.js';
import type { LockLease } from '../store/lock.js';
import type { IO } from './io.js';

export type { Change } from '../agent/transaction.js';

export function txDeps(io: IO): TxDeps {
  return {
    runner: io.runner,
    files: io.files,
    storePath: io.storePath,
    dryRun: io.dryRun,
    warn: io.warn,
    onLockWait: (m) => io.stderr.write(`l3ctl: ${m}\n`),
  };
}

/**
 * Lock, load, change, validate, observe, plan, apply, save (or roll back).
 * Returns what `change` reports, for the verb to print; nothing under
 * --dry-run, which printed its plan and changed nothing.
 */
export async function mutate<T>(io: IO, change: (state: State) => Change<T>): Promise<T | undefined> {
  const { transact } = await import('../agent/transaction.js');
  const value = await transact(txDeps(io), change);
  return io.dryRun ? undefined : value;
}

/** The store lock around fn; none under --dry-run, which changes nothing. */
export async function underLock<T>(io: IO, fn: (lease: LockLease) => Promise<T>): Promise<T> {
  const { withLock } = await import('../agent/transaction.js');
  return withLock(txDeps(io), fn);
}
