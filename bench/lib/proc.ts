// Running and timing processes for the benchmarks: l3ctl (always as a fresh
// `node bin/l3ctl` process, as an operator or a script runs it), bare node,
// and the system tools the floor scripts use. Timings are wall clock around
// the whole process, spawn included.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The l3ctl under test; L3CTL_BENCH_BIN points the benchmark at another build (e.g. main's, for a before/after). */
export const BIN = process.env.L3CTL_BENCH_BIN ?? join(ROOT, 'bin', 'l3ctl');
export const NODE = process.execPath;

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

function finish(argv: string[], t0: number, r: SpawnSyncReturns<string>, check: boolean): Result {
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  const res = { ms, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (check && r.status !== 0) {
    const shown = argv.map((a) => (a === BIN ? 'l3ctl' : a === NODE ? 'node' : a)).join(' ');
    throw new CommandError(`${shown}: exit ${r.status}: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return res;
}

/** Run a program, wait, time it. Throws on a non-zero exit unless check is false. */
export function run(argv: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; check?: boolean } = {}): Result {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), {
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return finish(argv, t0, r, opts.check ?? true);
}

/** Environment for l3ctl against one store; no colour, no prompts. */
export const storeEnv = (store: string): NodeJS.ProcessEnv => ({ ...process.env, L3CTL_STORE: store, NO_COLOR: '1', CI: process.env.CI ?? '' });

export const l3ctlArgv = (args: string[]) => [NODE, BIN, ...args];

/** One l3ctl process against `store`. */
export function l3ctl(store: string, args: string[], opts: { input?: string; check?: boolean } = {}): Result {
  return run(l3ctlArgv(args), { env: storeEnv(store), ...opts });
}

/** One l3ctl process, not waited for synchronously (for commands started at once). */
export function l3ctlAsync(store: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(NODE, [BIN, ...args], { env: storeEnv(store), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new CommandError(`l3ctl ${args.join(' ')}: exit ${code}: ${stderr.trim()}`))));
  });
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
export function interleaved(cases: Case[], runs: number, warmup = 3): number[][] {
  const samples = cases.map(() => [] as number[]);
  for (let i = 0; i < warmup; i++) for (const c of cases) run(c.argv, { env: c.env });
  for (let i = 0; i < runs; i++) cases.forEach((c, j) => samples[j]!.push(run(c.argv, { env: c.env }).ms));
  return samples;
}

const TIME = '/usr/bin/time';

/**
 * Peak resident set size (MiB) and wall time of one process. With GNU time
 * (/usr/bin/time -f %M) this is the largest RSS of the process and anything
 * it waited for (in practice node itself: `ip`/`iptables` are far smaller);
 * without it, node's own VmHWM read from /proc just before exit.
 */
export function peakRss(argv: string[], env?: NodeJS.ProcessEnv): { mib: number; ms: number; how: string } {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-rss-'));
  try {
    const out = join(dir, 'rss');
    if (existsSync(TIME)) {
      const r = run([TIME, '-f', '%M', '-o', out, ...argv], { env });
      return { mib: Number(readFileSync(out, 'utf8').trim().split('\n').pop()) / 1024, ms: r.ms, how: '/usr/bin/time -f %M' };
    }
    if (argv[0] !== NODE) throw new Error('peakRss without /usr/bin/time measures node processes only');
    const hook = join(dir, 'hwm.mjs');
    writeFileSync(hook, `import { readFileSync, writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(out)}, /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]));\n`);
    const r = run([NODE, '--import', hook, ...argv.slice(1)], { env });
    return { mib: Number(readFileSync(out, 'utf8')) / 1024, ms: r.ms, how: 'VmHWM of the node process' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
