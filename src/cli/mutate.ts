// The CLI's side of the transaction (src/agent/transaction.ts): its
// dependencies from the global options, and the printing once it is done.
import { transact, withLock, type Change, type TxDeps } from '../agent/transaction.js';
import type { State } from '../model/types.js';
import type { LockLease } from '../store/lock.js';
import type { Context } from './context.js';

export type { Change } from '../agent/transaction.js';

export function txDeps(ctx: Context): TxDeps {
  return {
    runner: ctx.runner,
    files: ctx.files,
    storePath: ctx.storePath,
    dryRun: ctx.dryRun,
    warn: ctx.warn,
    onLockWait: (m) => process.stderr.write(`l3ctl: ${m}\n`),
  };
}

export interface CliChange extends Change {
  /** Printed after a successful save (not under --dry-run). */
  print?: () => Promise<void> | void;
}

export async function mutate(ctx: Context, change: (state: State) => CliChange): Promise<void> {
  const print = await transact(txDeps(ctx), (s) => {
    const c = change(s);
    return { ...c, value: c.print };
  });
  if (!ctx.dryRun) await print?.();
}

/** The store lock around fn; none under --dry-run, which changes nothing. */
export function underLock<T>(ctx: Context, fn: (lease: LockLease) => Promise<T>): Promise<T> {
  return withLock(txDeps(ctx), fn);
}
