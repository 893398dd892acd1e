// The life of one mutating command: validate, lock, load, change a copy,
// validate the whole new state, apply it to the kernel, save, print.
import { convergeBridges, convergeRouter } from '../agent/converge.js';
import { checkConfig } from '../agent/filters.js';
import { effectiveConfig } from '../model/config.js';
import { EXIT, L3ctlError } from '../model/errors.js';
import type { Network, State } from '../model/types.js';
import { checkState } from '../model/validate.js';
import { withStoreLock } from '../store/lock.js';
import { loadState, saveState } from '../store/store.js';
import type { Context } from './context.js';

export interface Change {
  /** Routers whose kernel state must follow the new desired state. */
  routers?: string[];
  /** Network bridges must be (re)checked; bridges of these networks go. */
  bridges?: boolean;
  removedNetworks?: Network[];
  /** Printed after a successful save (not under --dry-run). */
  print?: () => Promise<void> | void;
}

export class Interrupted extends L3ctlError {
  constructor() {
    super('interrupted; changes made so far were rolled back', EXIT.interrupted);
  }
}

async function applyState(ctx: Context, state: State, change: Change, isInterrupted: () => boolean): Promise<void> {
  const config = effectiveConfig(state.config);
  if (change.bridges || change.removedNetworks?.length) {
    await convergeBridges(ctx.runner, state, config, change.removedNetworks);
  }
  for (const id of new Set(change.routers ?? [])) {
    if (isInterrupted()) throw new Interrupted();
    await convergeRouter(ctx.runner, state, config, id);
  }
  if (isInterrupted()) throw new Interrupted();
}

/**
 * Order of apply and save: the kernel is changed first and the store saved
 * only after the apply succeeded. A process killed in between leaves the old
 * store, which loads (writes are atomic), and a kernel partly or wholly at the
 * new state; the next `agent sync` or mutating command on that router plans
 * from the kernel as it is, never from a cache, so it converges to the store.
 * Saving first would make a failed apply need a second write to undo, and a
 * kill in between would leave the store claiming work that never happened.
 */
export async function mutate(ctx: Context, change: (state: State) => Change): Promise<void> {
  const run = async () => {
    const old = await loadState(ctx.storePath);
    const next = structuredClone(old);
    const c = change(next);
    checkState(next);
    checkConfig(effectiveConfig(next.config));

    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
    };
    process.on('SIGINT', onSigint);
    try {
      try {
        await applyState(ctx, next, c, () => interrupted);
      } catch (err) {
        if (ctx.dryRun) throw err;
        // Put the kernel back: plan again from the old desired state.
        try {
          await applyState(ctx, old, { ...c, removedNetworks: newNetworks(old, next) }, () => false);
        } catch (rbErr) {
          ctx.warn(`rollback incomplete: ${(rbErr as Error).message}; run 'l3ctl agent sync'`);
        }
        throw interrupted ? new Interrupted() : err;
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
    if (ctx.dryRun) return;
    if (JSON.stringify(old) !== JSON.stringify(next)) await saveState(ctx.storePath, next);
    await c.print?.();
  };
  if (ctx.dryRun) return run();
  return withStoreLock(ctx.storePath, run, { onWaiting: (m) => process.stderr.write(`l3ctl: ${m}\n`) });
}

function newNetworks(old: State, next: State): Network[] {
  return next.networks.filter((n) => !old.networks.some((o) => o.id === n.id));
}
