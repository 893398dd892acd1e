// The one transaction every mutating verb uses: lock → load → change →
// validate → observe → plan → apply → save, and on any failure (a system
// command, Ctrl-C, a lost lock) the kernel is put back by planning again from
// the old desired state. Per-router daemons are part of the plan, so the same
// rollback stops a proxy the failed change started, starts one it stopped and
// reloads one it reconfigured. `agent sync` and `apply` take the same lock.
import { effectiveConfig, type Config } from '../model/config.js';
import { EXIT, L3ctlError, UsageError } from '../model/errors.js';
import type { Network, State } from '../model/types.js';
import { checkState, freshIn, nameIdClashes } from '../model/validate.js';
import { checkHa } from '../model/ha.js';
import type { Files } from '../linux/files.js';
import type { RunOptions, RunResult, Runner } from '../linux/runner.js';
import { LockCompromisedError, NO_LOCK, withStoreLock, type LockLease } from '../store/lock.js';
import { loadState, saveState } from '../store/store.js';
import { registerStore, registryPath } from '../store/registry.js';
import { checkConfig, skipReason } from './filters.js';
import { foreignDevices, foreignDevicesError, ourTaps } from './foreign.js';
import { observeHost } from '../linux/observe.js';
import { applyPlans, convergeRouter, observeRouter, observeShared, planHostLeftovers, planNetworkBridges, planRouterFrom, type ApplyContext } from './pass.js';
import { mapStaged } from './pool.js';

export interface Change<T = void> {
  /** Routers whose kernel state must follow the new desired state. */
  routers?: string[];
  /** Network bridges must be (re)checked; bridges of these networks go. */
  bridges?: boolean;
  removedNetworks?: Network[];
  /** --force: delete the removed networks' bridges even with devices l3ctl did not plug in on them. */
  unplugForeign?: boolean;
  /** What a shared router left in the host namespace is cleared (use_namespaces, router_id changed). */
  hostLeftovers?: boolean;
  /** The routers touch disjoint namespaces (router delete, apply): converge them at once. */
  concurrent?: boolean;
  /** With `concurrent`: at most this many routers at a time (apply of a whole site); default all. */
  maxConcurrent?: number;
  /** Called as each router of a forward apply is done (a progress line); not during a rollback. */
  progress?(done: number, total: number): void;
  /** What the command reports once it is done. */
  value?: T;
}

export interface TxDeps {
  runner: Runner;
  /** Daemon files: the same face as the runner (dry-run prints). */
  files: Files;
  storePath: string;
  dryRun: boolean;
  warn(text: string): void;
  /** A line for stderr while waiting for another l3ctl's lock. */
  onLockWait?(text: string): void;
  /** Ctrl-C while applying; default: this process's SIGINT. */
  interrupts?: InterruptSource;
}

export interface InterruptSource {
  /** Start noting interrupts; returns how to ask and how to stop. */
  trap(): { interrupted(): boolean; release(): void };
}

const ROLLED_BACK = 'the kernel was put back as it was before this command; the store is unchanged';

export class Interrupted extends L3ctlError {
  constructor(hint = ROLLED_BACK) {
    super('interrupted (Ctrl-C) while applying', EXIT.interrupted, hint);
  }
}

/** Ctrl-C noted, not obeyed, while the kernel is being changed. */
export const processInterrupts: InterruptSource = {
  trap() {
    let interrupted = false;
    const on = () => {
      interrupted = true;
      process.stderr.write('\nl3ctl: interrupted: rolling back…\n');
    };
    process.on('SIGINT', on);
    return { interrupted: () => interrupted, release: () => void process.off('SIGINT', on) };
  },
};

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

  namespaces(): Promise<Set<string>> {
    return this.inner.namespaces();
  }

  interactive(argv: string[]): Promise<number> {
    return this.inner.interactive(argv);
  }
}

/** Observe, plan and apply everything `change` names, against `state`. */
export async function applyChange(ctx: ApplyContext, state: State, change: Change<unknown>): Promise<void> {
  if (change.bridges || change.removedNetworks?.length) {
    await applyPlans(ctx, [await planNetworkBridges(ctx.runner, state, ctx.config, change.removedNetworks)]);
  }
  if (change.hostLeftovers) await applyPlans(ctx, await planHostLeftovers(ctx.runner, state, ctx.config));
  const ids = [...new Set(change.routers ?? [])];
  if (!change.concurrent) {
    for (const [i, id] of ids.entries()) {
      await convergeRouter(ctx, state, id);
      change.progress?.(i + 1, ids.length);
    }
    return;
  }
  // One read of the host side serves every router (each router's host ends are its own), as in agent sync.
  const view = ids.length > 1 ? await observeShared(ctx.runner, ctx.config).catch(() => undefined) : undefined;
  // A wave's reads start together and share a few shells; its plans and
  // applies follow, at most maxConcurrent at once. After a failure no router
  // and no wave is started (less to roll back), and those running finish
  // before the first failure is thrown, so a rollback starts from a quiet kernel.
  const failures: unknown[] = [];
  let done = 0;
  const observe = (id: string) => observeRouter(ctx, state, ctx.config, id, view);
  await mapStaged(ids, change.maxConcurrent ?? ids.length, observe, async (id, seen) => {
    if (failures.length) return;
    try {
      await applyPlans(ctx, planRouterFrom(state, ctx.config, id, await seen));
      change.progress?.(++done, ids.length);
    } catch (err) {
      failures.push(err);
    }
  }, () => failures.length > 0);
  if (failures.length) throw failures[0];
}

/**
 * Everything about the new state that can be known without the kernel, so a
 * conflict is exit 2 before the first program runs (not a half-done apply).
 */
export function validateNext(next: State, change: Change<unknown>, prev?: State): Config {
  checkState(next, prev && freshIn(prev, next));
  const clash = prev ? nameIdClashes(prev, next)[0] : undefined;
  if (clash) throw new UsageError(clash.message);
  const config = effectiveConfig(next.config);
  checkConfig(config);
  // HA routers need a usable HA network (ha_network unset, gone or shared with router ports: exit 2).
  checkHa(next, config);
  // The agent's filters throw (exit 2) when they cannot decide, e.g. two
  // external networks and no gateway_external_network_id.
  for (const id of change.routers ?? []) {
    const r = next.routers.find((x) => x.id === id);
    if (r) skipReason(next, config, r);
  }
  return config;
}

const sys = (deps: TxDeps) => ({ runner: deps.runner, files: deps.files, storePath: deps.storePath });

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The store lock around fn; none under --dry-run, which changes nothing. */
export async function withLock<T>(deps: TxDeps, fn: (lease: LockLease) => Promise<T>): Promise<T> {
  if (deps.dryRun) return fn(NO_LOCK);
  return withStoreLock(deps.storePath, fn, { onWaiting: deps.onLockWait });
}

/**
 * The life of one mutating command. The kernel is changed first and the
 * store saved only after the apply succeeded, and only while the lock is
 * still ours. A failure in either puts the kernel back (plan from the old
 * state, run it) and leaves the old store. A process killed outright in
 * between (test/e2e/crash.test.ts kills it there and in the middle of an
 * `ip -batch`) leaves the old store, which loads (writes are atomic), and a
 * kernel partly at the new state; the next `agent sync` or mutating command
 * on that router plans from the kernel as it is, never from a cache, so it
 * converges to the store.
 *
 * Ctrl-C is trapped from the moment the state is loaded until the store is
 * saved: during the apply it stops the apply, rolls back and exits 130; once
 * the apply has succeeded the command is as good as done and finishes (the
 * save is one atomic rename). Before the lock is held Ctrl-C simply ends the
 * process: nothing has been changed yet. A second Ctrl-C during the rollback
 * can kill the rollback's own `ip`: the hint then says so.
 */
export async function transact<T>(deps: TxDeps, change: (state: State) => Change<T>): Promise<T | undefined> {
  return withLock(deps, async (lease) => {
    const old = await loadState(deps.storePath);
    const next = structuredClone(old);
    const c = change(next);
    const config = validateNext(next, c, old);
    // Before anything changes, under --dry-run too: the answer is the same.
    if (c.removedNetworks?.length && !c.unplugForeign) {
      const found = foreignDevices(await observeHost(deps.runner, config.host_namespace), c.removedNetworks, ourTaps(old, next));
      if (found.length) throw foreignDevicesError(found);
    }
    if (deps.dryRun) {
      await applyChange({ ...sys(deps), config, warn: deps.warn }, next, c);
      return c.value;
    }
    const trap = (deps.interrupts ?? processInterrupts).trap();
    let saved = false;
    try {
      try {
        await applyChange({ ...sys(deps), runner: new InterruptibleRunner(deps.runner, trap.interrupted), config, warn: deps.warn }, next, c);
        if (trap.interrupted()) throw new Interrupted();
        // Another l3ctl may have taken a lock we lost while stalled: never
        // save over its work (checked even when the store is unchanged: the
        // kernel may have been changed under its feet).
        lease.assertHeld();
        if (JSON.stringify(old) !== JSON.stringify(next)) {
          // Checked whole above (validateNext): reads may trust it as saved.
          await saveState(deps.storePath, next, { checked: true });
          saved = true;
        }
      } catch (err) {
        // Put the kernel back: plan again from the old desired state. The raw
        // runner: a second Ctrl-C must not stop the rollback.
        let rollbackError: unknown = null;
        try {
          const back = (base: State) => {
            const undo: Change<unknown> = { ...c, bridges: c.bridges || !!c.removedNetworks?.length, removedNetworks: newNetworks(base, next), progress: undefined };
            return applyChange({ ...sys(deps), config: effectiveConfig(base.config), warn: deps.warn }, base, undo);
          };
          // With the lock lost, another l3ctl may have saved since: back to
          // what is stored now, under the lock again.
          if (err instanceof LockCompromisedError) await withStoreLock(deps.storePath, async () => back(await loadState(deps.storePath)));
          else await back(old);
        } catch (rbErr) {
          rollbackError = rbErr;
        }
        throw failure(err, trap.interrupted(), rollbackError);
      }
    } finally {
      trap.release();
    }
    if (saved) await ensureRegistered(deps);
    return c.value;
  });
}

/**
 * The store in the host's registry (src/store/registry.ts), so that
 * `agent cleanup` of another store leaves its routers alone. Never fails the
 * command: the change is done; a registry that cannot be written is a warning.
 */
export async function ensureRegistered(deps: Pick<TxDeps, 'storePath' | 'warn'>): Promise<void> {
  try {
    await registerStore(deps.storePath);
  } catch (err) {
    deps.warn(`store ${deps.storePath} is not in the store registry ${registryPath()} (${errText(err)}): agent cleanup of another store keeps its router namespaces only while they hold devices`);
  }
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
