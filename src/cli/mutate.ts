// The life of one mutating command: validate, lock, load, change a copy,
// validate the whole new state, apply it to the kernel, save, print.
// Any failure while applying or saving (a system command, Ctrl-C) puts the
// kernel back by planning again from the old desired state (issue 4).
import { convergeBridges, convergeRouter, convergeSharedLeftovers } from '../agent/converge.js';
import { checkConfig, skipReason } from '../agent/filters.js';
import { effectiveConfig } from '../model/config.js';
import { EXIT, L3ctlError } from '../model/errors.js';
import type { Network, State } from '../model/types.js';
import { checkState } from '../model/validate.js';
import type { RunOptions, RunResult, Runner } from '../linux/runner.js';
import { preloadExeca } from '../linux/runner.js';
import { LockCompromisedError, NO_LOCK, withStoreLock, type LockLease } from '../store/lock.js';
import { loadState, saveState } from '../store/store.js';
import type { Context } from './context.js';

export interface Change {
  /** Routers whose kernel state must follow the new desired state. */
  routers?: string[];
  /** Network bridges must be (re)checked; bridges of these networks go. */
  bridges?: boolean;
  removedNetworks?: Network[];
  /** use_namespaces changed: clear what a shared router left in the host namespace. */
  sharedLeftovers?: boolean;
  /** The routers touch disjoint namespaces (router delete): converge them at once. */
  concurrent?: boolean;
  /** Printed after a successful save (not under --dry-run). */
  print?: () => Promise<void> | void;
}

const ROLLED_BACK = 'the kernel was put back as it was before this command; the store is unchanged';

export class Interrupted extends L3ctlError {
  constructor(hint = ROLLED_BACK) {
    super('interrupted (Ctrl-C) while applying', EXIT.interrupted, hint);
  }
}

/**
 * Refuses to start another program once Ctrl-C was pressed, so the forward
 * apply stops at the next command boundary and the rollback starts at once.
 */
class InterruptibleRunner implements Runner {
  constructor(
    private readonly inner: Runner,
    private readonly interrupted: () => boolean,
  ) {}

  run(argv: string[], opts?: RunOptions): Promise<RunResult> {
    if (this.interrupted()) return Promise.reject(new Interrupted());
    return this.inner.run(argv, opts);
  }

  background(argv: string[]): void {
    if (!this.interrupted()) this.inner.background(argv);
  }
}

async function applyState(runner: Runner, state: State, change: Change): Promise<void> {
  const config = effectiveConfig(state.config);
  if (change.bridges || change.removedNetworks?.length) {
    await convergeBridges(runner, state, config, change.removedNetworks);
  }
  const ids = [...new Set(change.routers ?? [])];
  if (change.sharedLeftovers) await convergeSharedLeftovers(runner, config);
  if (!change.concurrent) {
    for (const id of ids) await convergeRouter(runner, state, config, id);
    return;
  }
  // Let every router finish before reporting, so a rollback starts from a quiet kernel.
  const results = await Promise.allSettled(ids.map((id) => convergeRouter(runner, state, config, id)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Everything about the new state that can be known without the kernel, so a
 * conflict is exit 2 before the first program runs (not a half-done apply).
 */
export function validateNext(next: State, change: Change): void {
  checkState(next);
  const config = effectiveConfig(next.config);
  checkConfig(config);
  // The agent's filters throw (exit 2) when they cannot decide, e.g. two
  // external networks and no gateway_external_network_id.
  for (const id of change.routers ?? []) {
    const r = next.routers.find((x) => x.id === id);
    if (r) skipReason(next, config, r);
  }
}

/** Ctrl-C noted, not obeyed, while the kernel is being changed. */
function trapSigint() {
  const state = { interrupted: false };
  const on = () => {
    state.interrupted = true;
  };
  process.on('SIGINT', on);
  return { state, release: () => void process.off('SIGINT', on) };
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Order of apply and save: the kernel is changed first and the store saved
 * only after the apply succeeded. A failure in either puts the kernel back
 * (plan from the old state, run it) and leaves the old store. A process
 * killed outright in between (test/e2e/crash.test.ts kills it there and in
 * the middle of an `ip -batch`) leaves the old store, which loads (writes are
 * atomic), and a kernel partly at the new state; the next `agent sync` or
 * mutating command on that router plans from the kernel as it is, never from
 * a cache, so it converges to the store.
 *
 * Ctrl-C is trapped from the moment the state is loaded until the store is
 * saved: during the apply it stops the apply, rolls back and exits 130; once
 * the apply has succeeded the command is as good as done and finishes (the
 * save is one atomic rename). Before the lock is held Ctrl-C simply ends the
 * process: nothing has been changed yet. A terminal's Ctrl-C also reaches the
 * `ip` running at that moment; its failure is reported as the interruption.
 * A second Ctrl-C during the rollback can kill the rollback's own `ip`: the
 * hint then says the rollback failed and to run `l3ctl agent sync`.
 */
export async function mutate(ctx: Context, change: (state: State) => Change): Promise<void> {
  const run = async (lease: LockLease) => {
    const old = await loadState(ctx.storePath);
    const next = structuredClone(old);
    const c = change(next);
    validateNext(next, c);
    if (ctx.dryRun) return applyState(ctx.runner, next, c);

    const sigint = trapSigint();
    try {
      try {
        await applyState(new InterruptibleRunner(ctx.runner, () => sigint.state.interrupted), next, c);
        if (sigint.state.interrupted) throw new Interrupted();
        lease.assertHeld(); // a lost lock (stopped past the stale time): nothing is saved
        if (JSON.stringify(old) !== JSON.stringify(next)) await saveState(ctx.storePath, next);
      } catch (err) {
        // Put the kernel back: plan again from the old desired state. The raw
        // runner: a second Ctrl-C must not stop the rollback.
        let rollbackError: unknown = null;
        try {
          const back = (s: State) => applyState(ctx.runner, s, { ...c, bridges: c.bridges || !!c.removedNetworks?.length, removedNetworks: newNetworks(s, next) });
          // Lost lock: others may have saved since; back to the store as it is now, under the lock again.
          if (err instanceof LockCompromisedError) await withStoreLock(ctx.storePath, async () => back(await loadState(ctx.storePath)));
          else await back(old);
        } catch (rbErr) {
          rollbackError = rbErr;
        }
        throw failure(err, sigint.state.interrupted, rollbackError);
      }
    } finally {
      sigint.release();
    }
    await c.print?.();
  };
  return underLock(ctx, run);
}

/** The store lock around fn; none under --dry-run, which changes nothing. */
export async function underLock<T>(ctx: Context, fn: (lease: LockLease) => Promise<T>): Promise<T> {
  if (ctx.dryRun) return fn(NO_LOCK);
  // Module loading outside the critical section: with 24 parallel commands
  // each ms under the lock is paid 24 times (bench/parallel.ts: execa alone
  // was ~40% of the time the lock was held).
  await preloadExeca();
  return withStoreLock(ctx.storePath, fn, { onWaiting: (m) => process.stderr.write(`l3ctl: ${m}\n`) });
}

/** The error to report: the original failure, with what became of the kernel as hints. */
function failure(err: unknown, interrupted: boolean, rollbackError: unknown): unknown {
  const after = rollbackError === null
    ? ROLLED_BACK
    : `putting the kernel back failed too (${errText(rollbackError)}); the store is unchanged: run 'l3ctl agent sync' to bring the kernel in line with it`;
  if (interrupted) return new Interrupted(after);
  if (err instanceof L3ctlError) return new L3ctlError(err.message, err.exitCode, [err.hint, after].filter(Boolean).join('\n'));
  // A bug, not a failed command: keep it as it is (reported as an internal error).
  return err;
}

function newNetworks(old: State, next: State): Network[] {
  return next.networks.filter((n) => !old.networks.some((o) => o.id === n.id));
}
