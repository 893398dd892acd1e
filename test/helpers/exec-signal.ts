// `l3ctl router exec` signalled from outside, as a script's `kill PID` or a
// dropped ssh session does: to l3ctl's pid only, never to its group.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from './cli.js';

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, get: () => T | undefined, ms = 10_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
    const v = get();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface SignalledExec {
  /** l3ctl's exit code, or the signal it died of; both null if it was still running 5 s after the signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal to l3ctl's exit. */
  ms: number;
  /** The command's pid. */
  command: number;
  /** The inode of the command's network namespace. */
  netnsInode: number;
}

/**
 * `l3ctl router exec ROUTER -- sh -c 'echo $$ >PIDFILE; exec sleep 47'` in a
 * session of its own (no terminal, as from a script or cron); once the sleep
 * runs, SIGNAL to l3ctl's pid. The command is killed afterwards if still there.
 */
export async function signalRouterExec(store: { path: string; dir: string }, router: string, signal: NodeJS.Signals, n: number): Promise<SignalledExec> {
  const pidFile = join(store.dir, `exec-command-${n}.pid`);
  const child = spawn(BIN, ['router', 'exec', router, '--', 'sh', '-c', `echo $$ >${pidFile}; exec sleep 47`], {
    env: { ...process.env, L3CTL_STORE: store.path },
    stdio: 'ignore',
    detached: true,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
  const text = () => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : '');
  const command = await waitFor('the command to start', () => (text().endsWith('\n') ? Number(text()) : undefined));
  try {
    await waitFor('the exec of sleep', () => (readFileSync(`/proc/${command}/comm`, 'utf8').trim() === 'sleep' ? true : undefined));
    const netnsInode = statSync(`/proc/${command}/ns/net`).ino;
    const t0 = performance.now();
    process.kill(child.pid!, signal);
    const r = await Promise.race([exited, sleep(5000).then(() => null)]);
    const ms = performance.now() - t0;
    if (!r) child.kill('SIGKILL');
    // A command l3ctl did not wait for is reaped by init: a moment for that.
    await waitFor('the command to be gone', () => (alive(command) ? undefined : true), 2000).catch(() => {});
    return { ...(r ?? { code: null, signal: null }), ms, command, netnsInode };
  } finally {
    if (alive(command)) process.kill(command, 'SIGKILL');
  }
}
