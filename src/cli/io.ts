// What a verb may use besides its own options (gh's Factory and IOStreams):
// where the store is, the runner, the output streams and how to print on
// them, the prompts, the clock. main builds one from the global options and
// the process; unit tests build one with a recording runner and captured
// streams (test/helpers/inproc.ts) and call the verbs in-process.
import type { Clock, SignalSource } from '../agent/runloop.js';
import type { FileIdentity, Files } from '../linux/files.js';
import type { RunOptions, RunResult, Runner } from '../linux/runner.js';
import { DEFAULT_STORE_PATH } from '../store/store.js';
import type { Format, Globals } from './parse.js';

export interface Output {
  write(text: string): void;
  readonly isTTY: boolean;
  /** A terminal's width in characters, when known. */
  readonly columns?: number;
}

export interface Choice {
  name: string;
  value: string;
  description?: string;
}

/**
 * The questions a command may ask on the terminal (prompt.ts has the real
 * one). Ctrl-C at any of them throws (exit 130: prompt.ts PromptInterrupted).
 */
export interface Prompter {
  /** false when declined or the input closed. */
  confirm(message: string): Promise<boolean>;
  /** null when the input closed. */
  select(message: string, choices: Choice[]): Promise<string | null>;
  /** null when nothing was typed (and there is no default) or the input closed. */
  input(message: string, opts?: { default?: string }): Promise<string | null>;
}

export interface IO {
  stdout: Output;
  stderr: Output;
  /** The store file: --store, else L3CTL_STORE, else the default. */
  storePath: string;
  /** The operator named the store (--store or L3CTL_STORE). */
  storeNamed: boolean;
  /** --store as given on the command line (`lab` takes only that one: L3CTL_STORE is the operator's store). */
  storeOption?: string;
  runner: Runner;
  /** Daemon config and pid files, with the runner's face (dry-run prints the writes). */
  files: Files;
  format: Format;
  /** The width tables fit in (COLUMNS, else the terminal's); null or absent: no limit (piped). */
  width?: number | null;
  /** -f was given on the command line. */
  formatGiven?: boolean;
  columns: string[];
  dryRun: boolean;
  yes: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Prompts may be shown: a terminal on stdin and stderr, and no --no-input. */
  interactive: boolean;
  /** Colour on stdout, and on stderr (prompts, progress). */
  color: boolean;
  stderrColor: boolean;
  prompter: Prompter;
  /** `agent run`: the loop's time and signals (default: the system's). */
  clock?: Clock;
  signals?: SignalSource;
  hostname?: string;
  /**
   * Runs another l3ctl command in this process (lab builds its router with
   * them); throws what it fails with. `changed`: it ran a command or wrote a
   * file that changes the system (reads do not count; the store is the caller's to compare).
   */
  l3ctl(args: string[]): Promise<{ changed: boolean }>;
  /** An error line (+ hint) for one item of a command that carries on (a router of agent sync). */
  report(err: unknown, subject: string): void;
  /** The requested output (stdout), silenced by -q. */
  out(text: string): void;
  /** Status lines (stderr), silenced by -q and under --dry-run. */
  status(text: string): void;
  warn(text: string): void;
}

export type IOInit = Omit<IO, 'out' | 'status' | 'warn'>;

const line = (t: string) => (t.endsWith('\n') ? t : t + '\n');

export function makeIO(init: IOInit): IO {
  return {
    ...init,
    out: (t) => {
      if (!init.quiet) init.stdout.write(line(t));
    },
    status: (t) => {
      if (!init.quiet && !init.dryRun) init.stderr.write(line(t));
    },
    warn: (t) => init.stderr.write(`l3ctl: warning: ${t}\n`),
  };
}

/** Colour only on a terminal, never with --no-color or NO_COLOR (cli.md, "Output"). */
export function colorEnabled(color: boolean, stream: Output, env: NodeJS.ProcessEnv): boolean {
  if (!color) return false;
  if ('NO_COLOR' in env && env.NO_COLOR !== '') return false;
  return stream.isTTY;
}

/**
 * The real runner, loaded when a command first runs a program: commands that
 * only read the store never load node:child_process.
 */
class LazyRunner implements Runner {
  private real?: Promise<Runner>;
  constructor(private readonly make: () => Promise<Runner>) {}

  private get(): Promise<Runner> {
    return (this.real ??= this.make());
  }

  async run(argv: string[], opts?: RunOptions): Promise<RunResult> {
    return (await this.get()).run(argv, opts);
  }

  background(argv: string[]): void {
    void this.get().then((r) => r.background(argv));
  }

  async namespaces(): Promise<Set<string>> {
    return (await this.get()).namespaces();
  }

  async interactive(argv: string[]): Promise<number> {
    return (await this.get()).interactive(argv);
  }
}

/**
 * The runner a command uses: the real one (or the one a test gave), wrapped
 * for fault injection (tests only: L3CTL_FAULT_INJECT) and for --dry-run,
 * which prints each command on stdout.
 */
export async function commandRunner(g: Globals, out: { stdout: Output; stderr: Output }, env: NodeJS.ProcessEnv, given?: Runner): Promise<Runner> {
  const echo = g.verbose ? (l: string) => out.stderr.write(line(l)) : undefined;
  let runner: Runner = given ?? new LazyRunner(async () => new (await import('../linux/runner.js')).RealRunner(echo));
  if (env.L3CTL_FAULT_INJECT) {
    const { FaultRunner, faultFromEnv } = await import('../linux/fault.js');
    runner = new FaultRunner(runner, faultFromEnv(env)!);
  }
  if (!g.dryRun) return runner;
  const { DryRunRunner } = await import('../linux/runner.js');
  return new DryRunRunner(runner, (t) => out.stdout.write(line(t)));
}

/** The real files, loaded on first use like the runner. */
class LazyFiles implements Files {
  readonly live = true;
  private real?: Promise<Files>;

  private get(): Promise<Files> {
    return (this.real ??= import('../linux/files.js').then((m) => new m.RealFiles()));
  }

  async read(file: string): Promise<string | null> {
    return (await this.get()).read(file);
  }

  async identity(file: string): Promise<FileIdentity | null> {
    return (await this.get()).identity(file);
  }

  async write(file: string, content: string, mode?: number): Promise<void> {
    return (await this.get()).write(file, content, mode);
  }

  async remove(file: string): Promise<void> {
    return (await this.get()).remove(file);
  }

  async removeDir(dir: string): Promise<void> {
    return (await this.get()).removeDir(dir);
  }
}

/** The files a command uses: real, or under --dry-run printing each write on stdout. */
export async function commandFiles(g: Globals, out: { stdout: Output }): Promise<Files> {
  if (!g.dryRun) return new LazyFiles();
  const { DryRunFiles, RealFiles } = await import('../linux/files.js');
  return new DryRunFiles(new RealFiles(), (t) => out.stdout.write(line(t)));
}

/** --store, else L3CTL_STORE, else the default; and whether the operator named it. */
export function storeOf(g: Globals, env: NodeJS.ProcessEnv): { storePath: string; storeNamed: boolean; storeOption?: string } {
  const named = g.store || env.L3CTL_STORE || undefined;
  return { storePath: named ?? DEFAULT_STORE_PATH, storeNamed: !!named, ...(g.store ? { storeOption: g.store } : {}) };
}

/** The runner, with every command that changes something (not a read) reported to `onChange`. */
export function noticingRunner(inner: Runner, onChange: () => void): Runner {
  return {
    run: (argv, opts) => {
      if (!opts?.read) onChange();
      return inner.run(argv, opts);
    },
    background: (argv) => {
      onChange();
      inner.background(argv);
    },
    namespaces: () => inner.namespaces(),
    interactive: (argv) => {
      onChange();
      return inner.interactive(argv);
    },
  };
}

/** The files, with every write and removal reported to `onChange`. */
export function noticingFiles(inner: Files, onChange: () => void): Files {
  return {
    live: inner.live,
    read: (f) => inner.read(f),
    identity: (f) => inner.identity(f),
    write: (f, c, m) => (onChange(), inner.write(f, c, m)),
    remove: (f) => (onChange(), inner.remove(f)),
    removeDir: (d) => (onChange(), inner.removeDir(d)),
  };
}
