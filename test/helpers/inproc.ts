// l3ctl in this process: the whole command line through src/cli/main.ts's
// run() (alias, parse, verb, error mapping) or one verb called directly, with
// captured output, a recording runner (no program ever runs) and no terminal
// unless a test asks for one. The spawned binary is test/helpers/cli.ts.
import { run, errorLines, type System } from '../../src/cli/main.js';
import { makeIO, type Choice, type IO, type IOInit, type Prompter } from '../../src/cli/io.js';
import { RecordingRunner, type Runner } from '../../src/linux/runner.js';
import { FakeHost } from './fake-host.js';
import type { Files } from '../../src/linux/files.js';
import type { Clock, SignalSource } from '../../src/agent/runloop.js';

export interface InProcResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface InProcOptions {
  store?: string;
  runner?: Runner;
  env?: Record<string, string>;
  /** stdin, stdout and stderr are terminals. */
  tty?: boolean;
  /** The terminal's width (what a real one reports; COLUMNS in `env` overrides it). */
  columns?: number;
  prompter?: Prompter;
  /** Daemon files (default: an empty fake host); a FakeSystem brings its own. */
  files?: Files;
  clock?: Clock;
  signals?: SignalSource;
}

/** Runs `l3ctl ARGS` in-process; the environment is only what `opts` gives (no NO_COLOR, no L3CTL_* from outside). */
export async function l3ctlIn(args: string[], opts: InProcOptions = {}): Promise<InProcResult> {
  let stdout = '';
  let stderr = '';
  const sys: System = {
    stdout: { write: (t) => void (stdout += t), isTTY: !!opts.tty, ...(opts.columns ? { columns: opts.columns } : {}) },
    stderr: { write: (t) => void (stderr += t), isTTY: !!opts.tty },
    stdinTTY: !!opts.tty,
    env: { ...opts.env, ...(opts.store ? { L3CTL_STORE: opts.store } : {}) },
    runner: opts.runner ?? new RecordingRunner(),
    files: opts.files ?? new FakeHost(),
    prompter: opts.prompter ?? refusingPrompter,
    hostname: 'test-host',
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.signals ? { signals: opts.signals } : {}),
  };
  const code = await run(args, sys);
  return { code, stdout, stderr };
}

/** Fails the test if anything is asked. */
export const refusingPrompter: Prompter = {
  confirm: async (m) => {
    throw new Error(`unexpected confirmation: ${m}`);
  },
  select: async (m) => {
    throw new Error(`unexpected selection: ${m}`);
  },
  input: async (m) => {
    throw new Error(`unexpected input: ${m}`);
  },
};

/** Answers from a script; records what was asked (and, for a selection, what was offered). */
export function scriptedPrompter(answers: { confirm?: boolean[]; select?: (string | null)[]; input?: (string | null)[] }) {
  const asked: { kind: string; message: string; choices?: Choice[] }[] = [];
  const take = <T>(list: T[] | undefined, kind: string): T => {
    if (!list?.length) throw new Error(`no scripted answer for ${kind}`);
    return list.shift()!;
  };
  const prompter: Prompter = {
    confirm: async (message) => (asked.push({ kind: 'confirm', message }), take(answers.confirm, 'confirm')),
    select: async (message, choices) => (asked.push({ kind: 'select', message, choices }), take(answers.select, 'select')),
    input: async (message) => (asked.push({ kind: 'input', message }), take(answers.input, 'input')),
  };
  return { prompter, asked };
}

/** The IO a verb gets, for calling one directly: output captured, nothing printed. */
export function testIO(init: Partial<Omit<IOInit, 'runner'>> & { storePath: string; runner?: RecordingRunner }) {
  let stdout = '';
  let stderr = '';
  const runner = init.runner ?? new RecordingRunner();
  const io: IO = makeIO({
    stdout: { write: (t) => void (stdout += t), isTTY: false },
    stderr: { write: (t) => void (stderr += t), isTTY: false },
    storeNamed: true,
    files: new FakeHost(),
    format: 'table',
    columns: [],
    dryRun: false,
    yes: false,
    quiet: false,
    verbose: false,
    interactive: false,
    color: false,
    stderrColor: false,
    prompter: refusingPrompter,
    hostname: 'test-host',
    l3ctl: async () => {
      throw new Error('io.l3ctl is not wired in testIO');
    },
    report: (err, subject) => void (stderr += errorLines(err, { subject })),
    ...init,
    runner,
  });
  return { io, runner, stdout: () => stdout, stderr: () => stderr };
}
