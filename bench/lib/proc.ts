// Running and timing processes for the benchmarks: l3ctl (always as a fresh
// `node bin/l3ctl` process, as an operator or a script runs it), bare node,
// and the system tools the floor scripts use. Timings are wall clock around
// the whole process, spawn included.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The l3ctl under test; L3CTL_BENCH_BIN points the benchmark at another build (e.g. main's, for a before/after). */
export const BIN = process.env.L3CTL_BENCH_BIN ?? join(ROOT, 'bin', 'l3ctl');
export const NODE = process.execPath;

/**
 * Variables that change what every node start costs, whatever it runs: a fresh
 * Debian machine has none of them. NODE_EXTRA_CA_CERTS makes node read and
 * parse a certificate bundle before any script (on the development VM, which
 * sets it, +70 ms to every process: bare node 36 ms became 105 ms, which hid
 * l3ctl's own start-up cost in every ratio against it); NODE_OPTIONS turns
 * l3ctl's start-up snapshot off.
 */
export const START_UP_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'] as const;

/** Remove START_UP_VARIABLES from this process's environment, which every measured process inherits; the names removed. */
export function freshMachineEnv(): string[] {
  const removed = START_UP_VARIABLES.filter((v) => process.env[v] !== undefined);
  for (const v of removed) delete process.env[v];
  return removed;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface Result {
  ms: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {}

/** Children running now: a signal to the benchmark is passed on to them (lib/kernel.ts). */
const children = new Set<ChildProcess>();
let stopRequested = false;

/** A signal asked the benchmark to stop: no new command starts, no further section runs. */
export const stopping = () => stopRequested;

/**
 * Stop: SIGINT to the process group of every child this process is waiting
 * for (each child leads a group of its own, so /usr/bin/time's node and a
 * script's `ip` get it too; an l3ctl changing the kernel rolls back and
 * exits 130). Commands started afterwards fail at once.
 */
export function requestStop(signal: NodeJS.Signals = 'SIGINT'): void {
  stopRequested = true;
  for (const c of children) {
    try {
      if (c.pid) process.kill(-c.pid, signal);
    } catch {
      // already gone
    }
  }
}

const shown = (argv: string[]) => argv.map((a) => (a === BIN ? 'l3ctl' : a === NODE ? 'node' : a)).join(' ');

/**
 * Run a program and time it, spawn to exit. Asynchronous so that a signal
 * reaches the benchmark while a command runs. Rejects on a non-zero exit
 * unless check is false.
 */
export function run(argv: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; check?: boolean } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    if (stopRequested) return reject(new CommandError(`${shown(argv)}: not started: the benchmark is stopping`));
    const t0 = performance.now();
    // A group of its own: a terminal's Ctrl-C reaches the benchmark only, which passes it on once (requestStop).
    const child = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {}); // a child that exits without reading its input
    child.stdin.end(opts.input ?? '');
    child.on('error', (e) => {
      children.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      children.delete(child);
      const res = { ms, status: code ?? (signal ? 128 : null), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if ((opts.check ?? true) && res.status !== 0) {
        reject(new CommandError(`${shown(argv)}: exit ${code ?? signal}: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`));
      } else resolve(res);
    });
  });
}

/** Environment for l3ctl against one store; no colour, no prompts. */
// The registry of stores beside the benchmark's own store, never the host's (/var/lib/l3ctl/stores.json).
export const storeEnv = (store: string): NodeJS.ProcessEnv => ({ ...process.env, L3CTL_STORE: store, L3CTL_REGISTRY: `${store}.registry.json`, NO_COLOR: '1', CI: process.env.CI ?? '' });

export const l3ctlArgv = (args: string[]) => [BIN, ...args];

/** One l3ctl process against `store`. */
export function l3ctl(store: string, args: string[], opts: { input?: string; check?: boolean } = {}): Promise<Result> {
  return run(l3ctlArgv(args), { env: storeEnv(store), ...opts });
}

export interface Case {
  name: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Each case `runs` times, interleaved (a, b, c, a, b, c, …) so that load from
 * elsewhere on the shared machine hits every case alike; `warmup` untimed
 * rounds first fill the page cache. Returns the samples in ms per case.
 */
export async function interleaved(cases: Case[], runs: number, warmup = 3): Promise<number[][]> {
  const samples = cases.map(() => [] as number[]);
  for (let i = 0; i < warmup; i++) for (const c of cases) await run(c.argv, { env: c.env });
  for (let i = 0; i < runs; i++) for (const [j, c] of cases.entries()) samples[j]!.push((await run(c.argv, { env: c.env })).ms);
  return samples;
}

const TIME = '/usr/bin/time';

/**
 * Peak resident set size (MiB) and wall time of one process. With GNU time
 * (/usr/bin/time -f %M) this is the largest RSS of the process and anything
 * it waited for (in practice node itself: `ip`/`iptables` are far smaller);
 * without it, node's own VmHWM read from /proc just before exit.
 */
export async function peakRss(argv: string[], env?: NodeJS.ProcessEnv): Promise<{ mib: number; ms: number; how: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-rss-'));
  try {
    const out = join(dir, 'rss');
    if (existsSync(TIME)) {
      const r = await run([TIME, '-f', '%M', '-o', out, ...argv], { env });
      return { mib: Number(readFileSync(out, 'utf8').trim().split('\n').pop()) / 1024, ms: r.ms, how: '/usr/bin/time -f %M' };
    }
    if (argv[0] !== NODE) throw new Error('peakRss without /usr/bin/time measures node processes only');
    const hook = join(dir, 'hwm.mjs');
    writeFileSync(hook, `import { readFileSync, writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(out)}, /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]));\n`);
    const r = await run([NODE, '--import', hook, ...argv.slice(1)], { env });
    return { mib: Number(readFileSync(out, 'utf8')) / 1024, ms: r.ms, how: 'VmHWM of the node process' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
