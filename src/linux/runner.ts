// The one way l3ctl starts programs: argv arrays, never a shell string.
// Faces: real (node:child_process), dry-run (prints `+ argv`, runs only
// reads) and recording (unit tests answer from a function); the strict fake
// system of the unit tests implements the same interface.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { ApplyError } from '../model/errors.js';
import { forwardSignals, processForwardDeps } from './forward-signals.js';
import { linesAround } from './iptables.js';
import { ReadBatcher } from './reads.js';

export interface RunOptions {
  /** Text fed on stdin (ip -batch -, iptables-restore). */
  input?: string;
  /** A read (ip -j … show, iptables-save): runs even under --dry-run. */
  read?: boolean;
  /**
   * A short read that may share a shell with the other batched reads started
   * in the same turn (reads.ts). Never for a slow one (ping, a stream): the
   * reads after it in its shell would wait for it.
   */
  batch?: boolean;
  /** Exit codes that are not failures (conntrack -D exits 1 when nothing matched). */
  okCodes?: number[];
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface Runner {
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** Fire and forget (gratuitous ARP): never waited for, never fails the command. */
  background(argv: string[]): void;
  /** Named network namespaces (what `ip netns list` shows). */
  namespaces(): Promise<Set<string>>;
  /** A command on the operator's terminal (router exec): its exit status, 128+N for a signal death. The real one passes SIGTERM, SIGHUP and SIGINT on to it (forward-signals.ts). */
  interactive(argv: string[]): Promise<number>;
}

/** A program that is not installed: exit 127, as a shell reports it. */
export const NOT_FOUND = 127;

export class CommandError extends ApplyError {
  constructor(
    readonly argv: string[],
    readonly result: RunResult,
    readonly input?: string,
  ) {
    super(`command failed (exit ${result.exitCode}): ${argv.join(' ')}: ${firstLines(result.stderr || result.stdout)}`, failingInputLines(argv, result.stderr, input));
  }
}

function firstLines(s: string): string {
  return s.trim().split('\n').slice(0, 3).join(' / ') || 'no output';
}

/**
 * ip -batch and iptables-restore name the failing line number: show it with
 * the lines around it, and the namespace the command ran in.
 */
function failingInputLines(argv: string[], stderr: string, input?: string): string | undefined {
  if (!input) return undefined;
  const m = /(?:Command failed -:|line:? )(\d+)/.exec(stderr);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (input.split('\n')[n - 1] === undefined) return undefined;
  const ns = argv[0] === 'ip' && argv[1] === '-n' ? argv[2] : argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec' ? argv[3] : null;
  return `input line ${n}${ns ? ` (namespace ${ns})` : ''}:\n${linesAround(input, n)}`;
}

export type Echo = (line: string) => void;

export function formatCommand(argv: string[], input?: string): string {
  let s = `+ ${argv.join(' ')}`;
  if (input) {
    const lines = input.replace(/\n$/, '').split('\n');
    s += '\n' + lines.map((l) => `  ${l}`).join('\n');
  }
  return s;
}

const NETNS_DIR = '/run/netns';

/** What `ip netns list` shows, read from the directory it keeps them in (no process needed). */
export function readNamespaces(): Set<string> {
  try {
    return new Set(readdirSync(NETNS_DIR));
  } catch {
    return new Set();
  }
}

/** Run argv, feed `input`, collect output. Never rejects: a program that cannot start is exit 127. */
export function spawnCollect(argv: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (r: RunResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      done({ stdout, stderr: stderr || `${argv[0]}: ${err.code === 'ENOENT' ? 'command not found' : err.message}`, exitCode: err.code === 'ENOENT' ? NOT_FOUND : 126 });
    });
    child.on('close', (code, signal) => done({ stdout, stderr, exitCode: code ?? (signal ? 128 + signalNumber(signal) : 1) }));
    // A program that exits without reading its input must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

export const signalNumber = (signal: string) => (constants.signals as Record<string, number>)[signal] ?? 1;

const KILL_SIGNAL = /^-([A-Z]+)$/;

/** `kill -SIG PID…` with a known signal and pids above 0 (never a group or every process); null for any other shape. */
export function killArgs(argv: string[]): { signal: NodeJS.Signals; pids: number[] } | null {
  const sig = KILL_SIGNAL.exec(argv[1] ?? '')?.[1];
  const pids = argv.slice(2);
  if (argv[0] !== 'kill' || !sig || !(`SIG${sig}` in constants.signals) || !pids.length || !pids.every((p) => /^[1-9]\d*$/.test(p))) return null;
  return { signal: `SIG${sig}` as NodeJS.Signals, pids: pids.map(Number) };
}

/**
 * `kill -SIG PID…` done here, as a shell's builtin kill: a process less for
 * every daemon stopped (a delete of ten routers ran ten). Answers as procps
 * kill does: exit 1 when some pid could not be signalled. Null: not that
 * shape, run the program.
 */
export function builtinKill(argv: string[]): RunResult | null {
  const k = killArgs(argv);
  if (!k) return null;
  let stderr = '';
  for (const pid of k.pids) {
    try {
      process.kill(pid, k.signal);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      stderr += `kill: (${pid}): ${code === 'ESRCH' ? 'No such process' : code === 'EPERM' ? 'Operation not permitted' : code}\n`;
    }
  }
  return { stdout: '', stderr, exitCode: stderr ? 1 : 0 };
}

export class RealRunner implements Runner {
  /** Reads issued together share a few shells (reads.ts); changes run one by one, as planned. */
  private readonly reads = new ReadBatcher();

  constructor(private readonly verbose?: Echo) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    // Timed only for -v: the first performance.now() loads perf_hooks (~1 ms of every start).
    const t0 = this.verbose ? performance.now() : 0;
    const result = (!opts.input && builtinKill(argv)) || (await (opts.read && opts.batch ? this.reads.run(argv, opts.input) : spawnCollect(argv, opts.input)));
    if (this.verbose) this.verbose(`+ ${argv.join(' ')}  (${(performance.now() - t0).toFixed(1)} ms, exit ${result.exitCode})`);
    if (result.exitCode !== 0 && !(opts.okCodes ?? []).includes(result.exitCode)) {
      throw new CommandError(argv, result, opts.input);
    }
    return result;
  }

  background(argv: string[]): void {
    this.verbose?.(`+ ${argv.join(' ')}  (background)`);
    try {
      const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
      child.on('error', () => {});
      child.unref();
    } catch {
      // A failed gratuitous ARP is a warning at most, never a failure.
    }
  }

  async namespaces(): Promise<Set<string>> {
    return readNamespaces();
  }

  interactive(argv: string[]): Promise<number> {
    this.verbose?.(`+ ${argv.join(' ')}`);
    return new Promise((resolve) => {
      // l3ctl stays until the command ends, whatever signal it gets, and passes the status on.
      // Listening before the spawn: a signal in between would end l3ctl alone.
      let child: ChildProcess | undefined;
      const stop = forwardSignals({ get pid() { return child?.pid; }, kill: (sig) => child?.kill(sig) ?? false }, processForwardDeps());
      const done = (status: number) => {
        stop();
        resolve(status);
      };
      try {
        child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
      } catch {
        return done(126);
      }
      child.on('error', (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? NOT_FOUND : 126));
      child.on('exit', (code, signal) => done(code ?? (signal ? 128 + signalNumber(signal) : 1)));
    });
  }
}

/** Prints every command; runs reads for real so plans are computed against the kernel. */
export class DryRunRunner implements Runner {
  constructor(
    private readonly real: Runner,
    private readonly print: Echo,
  ) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.print(formatCommand(argv, opts.input));
    if (opts.read) return this.real.run(argv, opts);
    return { stdout: '', stderr: '', exitCode: 0 };
  }

  background(argv: string[]): void {
    this.print(formatCommand(argv));
  }

  namespaces(): Promise<Set<string>> {
    return this.real.namespaces();
  }

  async interactive(argv: string[]): Promise<number> {
    this.print(formatCommand(argv));
    return 0;
  }
}

export interface RecordedCall {
  argv: string[];
  input?: string;
  read: boolean;
  background: boolean;
}

/** For unit tests: records every call, answers from `respond`. */
export class RecordingRunner implements Runner {
  readonly calls: RecordedCall[] = [];
  constructor(
    private readonly respond: (argv: string[], input?: string) => Partial<RunResult> = () => ({}),
    private readonly netns: Set<string> = new Set(),
  ) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv, input: opts.input, read: !!opts.read, background: false });
    const r = { stdout: '', stderr: '', exitCode: 0, ...this.respond(argv, opts.input) };
    if (r.exitCode !== 0 && !(opts.okCodes ?? []).includes(r.exitCode)) throw new CommandError(argv, r, opts.input);
    return r;
  }

  background(argv: string[]): void {
    this.calls.push({ argv, read: false, background: true });
  }

  async namespaces(): Promise<Set<string>> {
    return new Set(this.netns);
  }

  async interactive(argv: string[]): Promise<number> {
    this.calls.push({ argv, read: false, background: false });
    return Number(this.respond(argv).exitCode ?? 0);
  }

  /** The calls that change something, as `argv` strings. */
  mutating(): string[] {
    return this.calls.filter((c) => !c.read).map((c) => c.argv.join(' '));
  }
}
