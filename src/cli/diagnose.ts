// `diagnose fip | router | host`: the checks of src/agent/diagnose.ts, one per
// line (status, check, what was found, the command that re-runs it), then a
// verdict and the fix. Exit 3 when a check failed, as `agent check`.
import type { Command } from 'commander';
import { diagnoseFip, diagnoseHost, diagnoseRouter, type Diagnosis } from '../agent/diagnose.js';
import { effectiveConfig } from '../model/config.js';
import { EXIT, L3ctlError } from '../model/errors.js';
import { emptyState, type State } from '../model/types.js';
import { lockHolder } from '../store/lock.js';
import { loadState } from '../store/store.js';
import type { Context } from './context.js';
import { define, handler, noun } from './define.js';
import { findFip, findRouter } from './resolve.js';

export const DIAGNOSE_COLUMNS = ['check', 'status', 'found', 'command', 'fix'];

async function print(ctx: Context, d: Diagnosis): Promise<void> {
  if (ctx.format !== 'table' || ctx.columns.length) {
    const { printList } = await import('./output.js');
    await printList(ctx, DIAGNOSE_COLUMNS, d.checks as unknown as Record<string, unknown>[]);
  } else {
    const chalk = ctx.color ? new (await import('chalk')).Chalk({ level: 1 }) : null;
    const paint = (s: string, status: string) => (!chalk ? s : status === 'FAIL' ? chalk.red(s) : status === 'warn' ? chalk.yellow(s) : chalk.green(s));
    const w = Math.max(...d.checks.map((c) => c.check.length));
    const lines = d.checks.map((c) => `${paint(c.status.padEnd(4), c.status)}  ${c.check.padEnd(w)}  ${c.found}\n      $ ${c.command}`);
    lines.push(`${d.failed ? 'verdict: FAIL' : 'verdict: ok'}: ${d.verdict}`);
    if (d.fix) lines.push(`fix: ${d.fix}`);
    ctx.out(lines.join('\n'));
  }
  if (d.failed) process.exitCode = EXIT.drift;
}

export function register(program: Command): void {
  const diag = noun(program, 'diagnose', {
    summary: "the operator's checklist: one line per check, with the command that re-runs it and the fix; exit 3 when a check fails",
    examples: ['l3ctl diagnose fip 203.0.113.20', 'l3ctl diagnose host'],
  });

  define(diag, 'fip <fip>', {
    summary: 'why a floating IP does (not) work: store, router, namespace, qg- /32, NAT rules and counters, routes, neighbours, conntrack',
    examples: ['l3ctl diagnose fip 203.0.113.20', 'l3ctl diagnose fip 203.0.113.20 --probe -f json'],
  })
    .option('--probe', 'send real traffic (a ping to the fixed IP and to the floating IP from the router) and watch the counters')
    .action(
      handler(async (ctx, o, ref: string) => {
        const s = await loadState(ctx.storePath);
        await print(ctx, await diagnoseFip(ctx, s, effectiveConfig(s.config), findFip(s, ref), { probe: !!o.probe }));
      }),
    );

  define(diag, 'router <router>', {
    summary: "a router's namespace, ports, bridges, routes and nexthops, and its drift",
    examples: ['l3ctl diagnose router r1', 'l3ctl diagnose router r1 --probe'],
  })
    .option('--probe', 'ping the fixed IP behind each floating IP from the router')
    .action(
      handler(async (ctx, o, ref: string) => {
        const s = await loadState(ctx.storePath);
        await print(ctx, await diagnoseRouter(ctx, s, effectiveConfig(s.config), findRouter(s, ref), { probe: !!o.probe }));
      }),
    );

  define(diag, 'host', {
    summary: 'the machine itself: iptables backend, bridge netfilter, external bridge, programs, store and lock, stale namespaces',
    examples: ['l3ctl diagnose host', 'l3ctl diagnose host -f json'],
  }).action(
    handler(async (ctx) => {
      // A store that cannot be read is a finding here, not the end of the diagnosis.
      let s: State = emptyState();
      let storeError: string | undefined;
      try {
        s = await loadState(ctx.storePath);
      } catch (err) {
        storeError = err instanceof L3ctlError ? err.message : String(err);
      }
      const holder = lockHolder(ctx.storePath);
      const pid = holder?.pid ?? null;
      const alive = holder?.alive !== false;
      await print(ctx, await diagnoseHost(ctx, s, effectiveConfig(s.config), { storePath: ctx.storePath, lockHolder: pid, lockHolderAlive: alive, storeReadable: !storeError, storeError }));
    }),
  );
}
