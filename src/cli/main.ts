// The entry point: old verbs rewritten, the command line parsed against the
// command table, a missing argument asked for on a terminal, the verb's noun
// module loaded and the verb called with its options and dependencies. The
// one place where failures become `l3ctl: error:` lines and exit statuses.
import { isatty } from 'node:tty';
import type { Clock, SignalSource } from '../agent/runloop.js';
import type { Files } from '../linux/files.js';
import type { Runner } from '../linux/runner.js';
import { EXIT, L3ctlError, UsageError } from '../model/errors.js';
import { expandAlias } from './aliases.js';
import type { Output, Prompter } from './io.js';
import { MissingArgument, ParseError, parse, type Globals, type Parsed } from './parse.js';
import { version } from './version.js';

/** The process as a command sees it; tests give captured streams, a recording runner, a fake prompter. */
export interface System {
  stdout: Output;
  stderr: Output;
  stdinTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** Default: the real runner (src/linux/runner.ts). */
  runner?: Runner;
  /** Default: the real files (src/linux/files.ts). */
  files?: Files;
  /** Default: prompts on the terminal (prompt.ts). */
  prompter?: Prompter;
  clock?: Clock;
  signals?: SignalSource;
  hostname?: string;
  /** Told of every command and file write that changes the system (io.l3ctl reports whether a command changed anything). */
  onChange?: () => void;
}

/** `l3ctl: error: …` and its `hint:` lines. */
export function errorLines(err: unknown, opts: { subject?: string; verbose?: boolean } = {}): string {
  const about = opts.subject ? `${opts.subject}: ` : '';
  if (err instanceof L3ctlError) {
    // One line: a message with a newline would read as two errors.
    const hints = (err.hint ?? '').split('\n').filter(Boolean).map((h) => `hint: ${h}\n`);
    return `l3ctl: error: ${about}${err.message.replace(/\s*\n\s*/g, ' ')}\n${hints.join('')}`;
  }
  const e = err as Error;
  const stack = opts.verbose && e?.stack ? `${e.stack}\n` : '';
  return `l3ctl: error: ${about}${opts.subject ? '' : 'internal error: '}${e?.message ?? String(err)}\n${stack}`;
}

/** Runs `l3ctl ARGS…` (the words after `l3ctl`) and returns its exit status; never throws. */
export async function run(args: string[], sys: System): Promise<number> {
  try {
    return await dispatch(args, sys);
  } catch (caught) {
    const err = caught instanceof ParseError && !(caught instanceof MissingArgument) ? await withHabitHint(caught, args) : caught;
    sys.stderr.write(errorLines(err, { verbose: args.includes('-v') || args.includes('--verbose') }));
    if (err instanceof ParseError && err.helpFor) sys.stderr.write((await import('./help.js')).helpText(err.helpFor));
    return err instanceof L3ctlError ? err.exitCode : EXIT.apply;
  }
}

/** Runs `l3ctl ARGS…`; a failure is thrown, as the verb threw it. */
export async function dispatch(args: string[], sys: System): Promise<number> {
  const alias = expandAlias(args);
  if (alias) sys.stderr.write(alias.note + '\n');
  const p = await parseAsking(alias?.args ?? args, sys);
  if (p.action === 'version') {
    sys.stdout.write(version() + '\n');
    return EXIT.ok;
  }
  if (p.action === 'help') {
    sys.stdout.write((await import('./help.js')).helpText(p.path));
    return EXIT.ok;
  }
  const [module, { makeIO, commandRunner, commandFiles, storeOf, colorEnabled, noticingRunner, noticingFiles }, { terminalPrompter }, { outputWidth }] = await Promise.all([
    p.top.load!(),
    import('./io.js'),
    import('./prompt.js'),
    import('./fit.js'),
  ]);
  const g = p.globals;
  const stderrColor = colorEnabled(g.color, sys.stderr, sys.env);
  let runner = await commandRunner(g, sys, sys.env, sys.runner);
  let files = sys.files ?? (await commandFiles(g, sys));
  if (sys.onChange) [runner, files] = [noticingRunner(runner, sys.onChange), noticingFiles(files, sys.onChange)];
  const io = makeIO({
    stdout: sys.stdout,
    stderr: sys.stderr,
    ...storeOf(g, sys.env),
    runner,
    files,
    format: g.format,
    width: outputWidth(sys.env, sys.stdout),
    formatGiven: !!g.formatGiven,
    columns: g.column,
    dryRun: g.dryRun,
    yes: g.yes,
    quiet: g.quiet,
    verbose: g.verbose,
    interactive: interactive(g, sys),
    color: colorEnabled(g.color, sys.stdout, sys.env),
    stderrColor,
    prompter: sys.prompter ?? terminalPrompter(stderrColor),
    clock: sys.clock,
    signals: sys.signals,
    hostname: sys.hostname,
    l3ctl: async (words) => {
      let changed = false;
      const outer = sys.onChange;
      const onChange = () => {
        changed = true;
        outer?.();
      };
      // The requested output of a command run on the lab's behalf is not the lab's output.
      const code = await dispatch(words, { ...sys, stdout: { write: () => {}, isTTY: false }, onChange });
      if (code !== EXIT.ok) throw new L3ctlError(`exit status ${code}`, code);
      return { changed };
    },
    report: (err, subject) => sys.stderr.write(errorLines(err, { subject, verbose: g.verbose })),
  });
  try {
    return (await p.command.run!(module)(p.values, io)) ?? EXIT.ok;
  } catch (err) {
    throw await withSwapHint(err, p.path, p.values, alias?.args ?? args, io.storePath);
  }
}

/** A usage error of a verb given two arguments the wrong way round gets the right command line as its first hint. */
async function withSwapHint(err: unknown, path: string[], values: Record<string, unknown>, args: string[], storePath: string): Promise<unknown> {
  if (!(err instanceof UsageError)) return err;
  const { swapHint } = await import('./swapped.js');
  const hint = swapHint(path, values, args, storePath);
  if (!hint) return err;
  // Its own "did you mean" guessed at a name; the swap says what was meant.
  const rest = err.hint && !err.hint.startsWith('did you mean') ? err.hint : undefined;
  return new UsageError(err.message, [hint, rest].filter(Boolean).join('\n'));
}

/** A command line written the openstackclient way gets the l3ctl command that does it as its hint. */
async function withHabitHint(err: ParseError, args: string[]): Promise<ParseError> {
  const { habitHint } = await import('./habits.js');
  const hint = habitHint(args);
  return hint ? new ParseError(err.message, hint) : err;
}

const interactive = (g: Globals, sys: System) => g.input && sys.stdinTTY && sys.stderr.isTTY;

/** parse(), with a missing required argument asked for on a terminal (at most a few times). */
async function parseAsking(args: string[], sys: System): Promise<Parsed> {
  for (let tries = 0; ; tries++) {
    try {
      return parse(args);
    } catch (err) {
      if (!(err instanceof MissingArgument) || tries >= 5 || !interactive(err.globals, sys)) throw err;
      const [{ askMissing }, { storeOf, colorEnabled }, { terminalPrompter }] = await Promise.all([import('./ask.js'), import('./io.js'), import('./prompt.js')]);
      const prompter = sys.prompter ?? terminalPrompter(colorEnabled(err.globals.color, sys.stderr, sys.env));
      const value = await askMissing(err.arg, err.path, storeOf(err.globals, sys.env).storePath, prompter, err.given);
      if (value === null) throw err;
      // Positional arguments may follow options: the value simply goes last.
      args = value.startsWith('-') && !args.includes('--') ? [...args, '--', value] : [...args, value];
    }
  }
}

const processOutput = (s: NodeJS.WriteStream): Output => ({
  write: (t) => void s.write(t),
  get isTTY() {
    return !!s.isTTY;
  },
  get columns() {
    return s.columns;
  },
});

export async function main(argv: string[]): Promise<void> {
  // `l3ctl … | head`: a reader that went away is not an error worth a stack
  // trace. Output is printed only after the store is saved, so nothing is lost.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // isatty(0), not process.stdin.isTTY: that getter builds a stdin stream (a
  // ReadStream or socket, ~5 ms at each start) that only a few commands read.
  const sys: System = { stdout: processOutput(process.stdout), stderr: processOutput(process.stderr), stdinTTY: isatty(0), env: process.env };
  process.exitCode = await run(argv.slice(2), sys);
  // Done: exit now rather than tear down the heap and the event loop (~5 ms
  // of a change), unless output is still queued. A pipe takes 64 KB at once
  // and node writes the rest as the reader takes it; exiting then would cut
  // the output there, so the process ends when the queue is empty.
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit();
}
