// Fault injection for tests of rollback and Ctrl-C (issue 4). Read from the
// environment in one place (faultFromEnv); makeContext wraps the real runner
// with it only when L3CTL_FAULT_INJECT is set, so normal runs never see it.
//
//   L3CTL_FAULT_INJECT=<regex>   the first mutating command whose argv (joined
//                                by spaces) or one of whose input lines matches
//                                fails, the way the real program fails
//   L3CTL_FAULT_DELAY_MS=<ms>    instead of failing, sleep this long before that
//                                command (announced on stderr), then run it
//
// Reads (ip -j … show, iptables-save) are never matched: plans must still be
// computed against the real kernel. Only the first match is affected, so the
// rollback that follows runs the same kinds of command unharmed.
import { CommandError, type RunOptions, type RunResult, type Runner } from './runner.js';

export interface FaultSpec {
  pattern: RegExp;
  /** null: fail; a number: sleep that many ms, then run the command. */
  delayMs: number | null;
}

/** The spec from the environment, or null when fault injection is off. */
export function faultFromEnv(env: NodeJS.ProcessEnv = process.env): FaultSpec | null {
  const src = env.L3CTL_FAULT_INJECT;
  if (!src) return null;
  let pattern: RegExp;
  try {
    pattern = new RegExp(src);
  } catch (err) {
    // A test harness mistake: say so instead of silently never matching.
    throw new Error(`L3CTL_FAULT_INJECT is not a valid regular expression: ${(err as Error).message}`);
  }
  const d = env.L3CTL_FAULT_DELAY_MS;
  const delayMs = d !== undefined && d !== '' ? Number(d) : null;
  if (delayMs !== null && !(Number.isFinite(delayMs) && delayMs >= 0)) throw new Error(`L3CTL_FAULT_DELAY_MS '${d}' is not a number of milliseconds`);
  return { pattern, delayMs };
}

const isIpBatch = (argv: string[]) => argv[0] === 'ip' && argv.includes('-batch');
const program = (argv: string[]) => {
  // ip netns exec NS PROG …: the program that runs is PROG.
  if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec') return argv[4] ?? 'ip';
  return argv[0]!;
};

export class FaultRunner implements Runner {
  private fired = false;

  constructor(
    private readonly inner: Runner,
    private readonly spec: FaultSpec,
    private readonly announce: (line: string) => void = (l) => void process.stderr.write(l + '\n'),
  ) {}

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    if (this.fired || opts.read) return this.inner.run(argv, opts);
    const lines = opts.input ? opts.input.replace(/\n$/, '').split('\n') : [];
    const argvHit = this.spec.pattern.test(argv.join(' '));
    const lineHit = argvHit ? -1 : lines.findIndex((l) => this.spec.pattern.test(l));
    if (!argvHit && lineHit < 0) return this.inner.run(argv, opts);
    this.fired = true;

    if (this.spec.delayMs !== null) {
      this.announce(`l3ctl: fault injection: delaying ${this.spec.delayMs} ms before: ${argv.join(' ')}`);
      await new Promise((r) => setTimeout(r, this.spec.delayMs!));
      return this.inner.run(argv, opts);
    }

    const prog = program(argv);
    let stderr: string;
    if (isIpBatch(argv) && lineHit >= 0) {
      // ip -batch stops at the first failing line: the lines before it took
      // effect. Run them for real so the rollback has real work to undo.
      if (lineHit > 0) await this.inner.run(argv, { ...opts, input: lines.slice(0, lineHit).join('\n') + '\n' });
      stderr = `RTNETLINK answers: Operation not permitted (injected by L3CTL_FAULT_INJECT)\nCommand failed -:${lineHit + 1}\n`;
    } else if (prog === 'iptables-restore' && lineHit >= 0) {
      // iptables-restore commits a table at once or not at all: nothing ran.
      stderr = `iptables-restore: line ${lineHit + 1} failed (injected by L3CTL_FAULT_INJECT)\n`;
    } else {
      stderr = `${prog}: Operation not permitted (injected by L3CTL_FAULT_INJECT)\n`;
    }
    // Exit 2, so a test can tell a passed-through code from l3ctl's own exit 1.
    throw new CommandError(argv, { stdout: '', stderr, exitCode: 2 }, opts.input);
  }

  background(argv: string[]): void {
    this.inner.background(argv);
  }

  namespaces(): Promise<Set<string>> {
    return this.inner.namespaces();
  }

  interactive(argv: string[]): Promise<number> {
    return this.inner.interactive(argv);
  }
}
