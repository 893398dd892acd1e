import type { Command } from 'commander';
import { convergeBridges, convergeRouter } from '../agent/converge.js';
import { effectiveConfig } from '../model/config.js';
import { EXIT, L3ctlError } from '../model/errors.js';
import { loadState } from '../store/store.js';
import { withStoreLock } from '../store/lock.js';
import type { Context } from './context.js';
import { define, handler, noun } from './define.js';
import { findRouter } from './resolve.js';

/** Converge the given routers (all when none given); one failure does not stop the others. */
export async function syncRouters(ctx: Context, refs: string[]): Promise<{ failed: string[] }> {
  const s = await loadState(ctx.storePath);
  const config = effectiveConfig(s.config);
  const routers = refs.length ? refs.map((r) => findRouter(s, r)) : s.routers;
  await convergeBridges(ctx.runner, s, config);
  const failed: string[] = [];
  for (const r of routers) {
    try {
      await convergeRouter(ctx.runner, s, config, r.id);
    } catch (err) {
      failed.push(r.name);
      process.stderr.write(`l3ctl: error: router ${r.name}: ${(err as Error).message}\n`);
    }
  }
  return { failed };
}

export function register(program: Command): void {
  const agent = noun(program, 'agent', { summary: 'the L3 agent: keep the kernel in line with the store', examples: ['l3ctl agent sync'] });

  define(agent, 'sync [router...]', { summary: 'make the kernel match the store for every handled router', examples: ['l3ctl agent sync', 'l3ctl agent sync r1 --dry-run'] }).action(
    handler(async (ctx, _o, refs: string[]) => {
      const run = async () => {
        const { failed } = await syncRouters(ctx, refs);
        if (failed.length) throw new L3ctlError(`${failed.length} router(s) failed to converge: ${failed.join(', ')}`, EXIT.apply);
      };
      if (ctx.dryRun) return run();
      await withStoreLock(ctx.storePath, run);
    }),
  );
}
