// `diagnose fip | router | host`: the checks of src/agent/diagnose.ts, one per
// line (status, check, what was found, the command that re-runs it), then a
// verdict and the fix. Exit 3 when a check failed, as `agent check`.
import { diagnoseFip as checkFip, diagnoseHost as checkHost, diagnoseRouter as checkRouter, type Diagnosis } from '../agent/diagnose.js';
import { effectiveConfig } from '../model/config.js';
import { EXIT, L3ctlError } from '../model/errors.js';
import { emptyState, type State } from '../model/types.js';
import { lockHolder } from '../store/lock.js';
import { loadState } from '../store/store.js';
import { DIAGNOSE_COLUMNS } from './columns.js';
import type { IO } from './io.js';
import { printList } from './output.js';
import { findFip, findRouter } from './resolve.js';

/** The checks as a list (json, value, -c) or one line each with its command; exit 3 when one failed. */
async function print(io: IO, d: Diagnosis): Promise<number> {
  if (io.format !== 'table' || io.columns.length) {
    await printList(io, DIAGNOSE_COLUMNS, d.checks as unknown as Record<string, unknown>[]);
  } else {
    const chalk = io.color ? new (await import('chalk')).Chalk({ level: 1 }) : null;
    const paint = (s: string, status: string) => (!chalk ? s : status === 'FAIL' ? chalk.red(s) : status === 'warn' ? chalk.yellow(s) : chalk.green(s));
    const w = Math.max(...d.checks.map((c) => c.check.length));
    const lines = d.checks.map((c) => `${paint(c.status.padEnd(4), c.status)}  ${c.check.padEnd(w)}  ${c.found}\n      $ ${c.command}`);
    lines.push(`${d.failed ? 'verdict: FAIL' : 'verdict: ok'}: ${d.verdict}`);
    if (d.fix) lines.push(`fix: ${d.fix}`);
    io.out(lines.join('\n'));
  }
  return d.failed ? EXIT.drift : EXIT.ok;
}

export async function diagnoseFip(o: { fip: string; probe?: boolean }, io: IO): Promise<number> {
  const s = await loadState(io.storePath);
  return print(io, await checkFip(io, s, effectiveConfig(s.config), findFip(s, o.fip), { probe: !!o.probe }));
}

export async function diagnoseRouter(o: { router: string; probe?: boolean }, io: IO): Promise<number> {
  const s = await loadState(io.storePath);
  return print(io, await checkRouter(io, s, effectiveConfig(s.config), findRouter(s, o.router), { probe: !!o.probe }));
}

export async function diagnoseHost(_o: object, io: IO): Promise<number> {
  // A store that cannot be read is a finding here, not the end of the diagnosis.
  let s: State = emptyState();
  let storeError: string | undefined;
  try {
    s = await loadState(io.storePath);
  } catch (err) {
    storeError = err instanceof L3ctlError ? err.message : String(err);
  }
  const holder = lockHolder(io.storePath);
  const facts = { storePath: io.storePath, lockHolder: holder?.pid ?? null, lockHolderAlive: holder?.alive !== false, storeReadable: !storeError, storeError };
  return print(io, await checkHost(io, s, effectiveConfig(s.config), facts));
}
