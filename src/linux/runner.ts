// The one way l3ctl starts programs: argv arrays, never a shell string.
// Three faces: real (execa), dry-run (prints `+ argv`, runs only reads) and
// recording (unit tests answer from a function).
import { spawn } from 'node:child_process';
import { ApplyError } from '../model/errors.js';

export interface RunOptions {
  /** Text fed on stdin (ip -batch -, iptables-restore). */
  input?: string;
  /** A read (ip -j … show, iptables-save): runs even under --dry-run. */
  read?: boolean;
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
}

export class CommandError extends ApplyError {
  constructor(
    readonly argv: string[],
    readonly result: RunResult,
    readonly input?: string,
  ) {
    super(`command failed (exit ${result.exitCode}): ${argv.join(' ')}: ${firstLines(result.stderr || result.stdout)}`, failingInputLine(result.stderr, input));
  }
}

function firstLines(s: string): string {
  return s.trim().split('\n').slice(0, 3).join(' / ') || 'no output';
}

/** ip -batch and iptables-restore name the failing line number: show that line. */
function failingInputLine(stderr: string, input?: string): string | undefined {
  if (!input) return undefined;
  const m = /(?:Command failed -:|line:? )(\d+)/.exec(stderr);
  if (!m) return undefined;
  const n = Number(m[1]);
  const line = input.split('\n')[n - 1];
  return line === undefined ? undefined : `input line ${n}: ${line}`;
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

type Execa = typeof import('execa').execa;
let execaFn: Execa | undefined;

/**
 * Load execa now (tens of ms). mutate() calls this before taking the store
 * lock, so the load is not paid while other l3ctl processes wait for it.
 */
export async function preloadExeca(): Promise<void> {
  execaFn ??= (await import('execa')).execa;
}

export class RealRunner implements Runner {
  constructor(private readonly verbose?: Echo) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    execaFn ??= (await import('execa')).execa;
    const t0 = performance.now();
    const r = await execaFn(argv[0]!, argv.slice(1), {
      input: opts.input,
      reject: false,
      stripFinalNewline: false,
      env: { LC_ALL: 'C' },
    });
    const result: RunResult = {
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      exitCode: r.exitCode ?? (r.failed ? 127 : 0),
    };
    if (r.failed && r.exitCode === undefined) result.stderr ||= String(r.message ?? 'could not start');
    this.verbose?.(`+ ${argv.join(' ')}  (${(performance.now() - t0).toFixed(1)} ms, exit ${result.exitCode})`);
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
  constructor(private readonly respond: (argv: string[], input?: string) => Partial<RunResult> = () => ({})) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv, input: opts.input, read: !!opts.read, background: false });
    const r = { stdout: '', stderr: '', exitCode: 0, ...this.respond(argv, opts.input) };
    if (r.exitCode !== 0 && !(opts.okCodes ?? []).includes(r.exitCode)) throw new CommandError(argv, r, opts.input);
    return r;
  }

  background(argv: string[]): void {
    this.calls.push({ argv, read: false, background: true });
  }

  /** The calls that change something, as `argv` strings. */
  mutating(): string[] {
    return this.calls.filter((c) => !c.read).map((c) => c.argv.join(' '));
  }
}
