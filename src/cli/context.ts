// Global options turned into what a command needs: where the store is, how to
// print, and which face of the runner to use.
import { DryRunRunner, RealRunner, type Runner } from '../linux/runner.js';
import { DryRunFiles, RealFiles, type Files } from '../linux/files.js';
import { FaultRunner, faultFromEnv } from '../linux/fault.js';
import { resolveStorePath } from '../store/store.js';

// yaml: export's document format only (main.ts refuses it for every other command).
export type Format = 'table' | 'json' | 'value' | 'yaml';

export interface GlobalOptions {
  store?: string;
  format?: string;
  column?: string[];
  dryRun?: boolean;
  yes?: boolean;
  input?: boolean; // commander: --no-input sets input=false
  color?: boolean; // --no-color sets color=false
  verbose?: boolean;
  quiet?: boolean;
}

export interface Context {
  storePath: string;
  format: Format;
  columns: string[];
  dryRun: boolean;
  yes: boolean;
  interactive: boolean;
  color: boolean;
  /** Colour for what goes to stderr (prompts): same rules, judged on stderr. */
  stderrColor?: boolean;
  verbose: boolean;
  quiet: boolean;
  runner: Runner;
  /** Daemon config and pid files, with the runner's face (dry-run prints the writes). */
  files: Files;
  out(text: string): void;
  /** Status lines: stderr, silenced by -q. */
  status(text: string): void;
  warn(text: string): void;
}

export function colorEnabled(opts: { color?: boolean }, stream: NodeJS.WriteStream = process.stdout): boolean {
  if (opts.color === false) return false;
  if ('NO_COLOR' in process.env && process.env.NO_COLOR !== '') return false;
  return !!stream.isTTY;
}

// A reader that went away (`l3ctl … | head`) is not an error: stop writing.
let stdoutClosed = false;
let watching = false;
function watchStdout(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutClosed = true;
  });
}

const write = (t: string) => {
  if (!stdoutClosed) process.stdout.write(t.endsWith('\n') ? t : t + '\n');
};

export function makeContext(opts: GlobalOptions): Context {
  watchStdout();
  const verbose = !!opts.verbose;
  const quiet = !!opts.quiet;
  const direct = new RealRunner(verbose ? (l) => process.stderr.write(l + '\n') : undefined);
  // Tests only (issue 4): L3CTL_FAULT_INJECT makes one chosen command fail or stall.
  const fault = faultFromEnv();
  const real: Runner = fault ? new FaultRunner(direct, fault) : direct;
  // -q: nothing on success (cli.md); a --dry-run plan is still what was asked for.
  const out = (t: string) => {
    if (!quiet) write(t);
  };
  const runner: Runner = opts.dryRun ? new DryRunRunner(real, write) : real;
  const files: Files = opts.dryRun ? new DryRunFiles(new RealFiles(), write) : new RealFiles();
  return {
    storePath: resolveStorePath(opts.store),
    format: (opts.format ?? 'table') as Format,
    columns: opts.column ?? [],
    dryRun: !!opts.dryRun,
    yes: !!opts.yes,
    interactive: opts.input !== false && !!process.stdin.isTTY && !!process.stderr.isTTY,
    color: colorEnabled(opts),
    stderrColor: colorEnabled(opts, process.stderr),
    verbose,
    quiet,
    runner,
    files,
    out,
    status: (t) => {
      if (!quiet && !opts.dryRun) process.stderr.write(t + '\n');
    },
    warn: (t) => void process.stderr.write(`l3ctl: warning: ${t}\n`),
  };
}
