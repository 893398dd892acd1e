// Reads started in the same turn of the event loop run together in a few
// `/bin/sh` processes instead of one spawn each. A spawn from node forks the whole
// (large) process and holds the event loop 1.5–3 ms: a converged `agent sync`
// of 16 routers spent 114 of its 298 ms in spawn(). A shell forks small.
//
// Each command still runs from its own argv: the shell splits one argument on
// a separator no argv holds (IFS, globbing off, no eval), so nothing is ever
// parsed as shell text. Outputs come back framed by a random token, stdout
// and stderr apart, with each command's exit status.
import { spawn } from 'node:child_process';
import { signalNumber, spawnCollect, type RunResult } from './runner.js';

/** Separates argv words inside the one argument each command travels in (ASCII unit separator). */
const SEP = '\x1f';

// $1: the token; then pairs of (argv joined by SEP, stdin text or empty).
const SCRIPT = [
  't=$1; shift; set -f; IFS=$(printf "\\037")',
  'while [ $# -gt 1 ]; do',
  '  if [ -n "$2" ]; then printf %s "$2" | $1; else $1 </dev/null; fi',
  '  printf "\\n%s %s\\n" "$t" "$?"; printf "\\n%s\\n" "$t" >&2',
  '  shift 2',
  'done',
].join('\n');

/** At most this many shells per batch: a 2-core host gains nothing from more. */
export const MAX_SHELLS = 4;
/** Fewer reads than this run as plain spawns (a shell in between would only add its own start). */
export const MIN_BATCH = 3;

/** One argv can travel in the shell's argument: no word is empty or holds the separator, none is huge. */
export const batchable = (argv: string[], input?: string) => argv.length > 0 && argv.every((w) => w !== '' && !w.includes(SEP)) && (input ?? '').length < 64 * 1024 && argv.join(SEP).length < 64 * 1024;

interface Pending {
  argv: string[];
  input?: string;
  resolve(r: RunResult): void;
}

type SpawnFn = typeof spawn;

export class ReadBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Shells started, and the reads that went through them or alone (the tests read these). */
  readonly stats = { shells: 0, batched: 0, direct: 0 };

  constructor(
    private readonly spawnFn: SpawnFn = spawn,
    private readonly direct: (argv: string[], input?: string) => Promise<RunResult> = spawnCollect,
  ) {}

  run(argv: string[], input?: string): Promise<RunResult> {
    if (!batchable(argv, input)) return this.runDirect(argv, input);
    return new Promise((resolve) => {
      this.queue.push({ argv, input, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private runDirect(argv: string[], input?: string): Promise<RunResult> {
    this.stats.direct++;
    return this.direct(argv, input);
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    if (batch.length < MIN_BATCH) {
      for (const p of batch) void this.runDirect(p.argv, p.input).then(p.resolve);
      return;
    }
    const shells = Math.min(MAX_SHELLS, Math.ceil(batch.length / 2));
    // Round-robin: a router's reads, queued together, go to different shells and come back at about the same time.
    for (let s = 0; s < shells; s++) this.runShell(batch.filter((_, i) => i % shells === s));
  }

  private runShell(cmds: Pending[]): void {
    this.stats.shells++;
    this.stats.batched += cmds.length;
    const token = `l3ctl-read-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
    const args = ['-c', SCRIPT, 'l3ctl-read', token, ...cmds.flatMap((c) => [c.argv.join(SEP), c.input ?? ''])];
    let child;
    try {
      child = this.spawnFn('/bin/sh', args, { env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      for (const c of cmds) void this.runDirect(c.argv, c.input).then(c.resolve);
      return;
    }
    const outs: { text: string; code: number }[] = [];
    const errs: string[] = [];
    let done = 0;
    const settle = () => {
      for (; done < cmds.length && done < outs.length && done < errs.length; done++) {
        cmds[done]!.resolve({ stdout: outs[done]!.text, stderr: errs[done]!, exitCode: outs[done]!.code });
      }
    };
    const outMark = `\n${token} `;
    const errMark = `\n${token}\n`;
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (;;) {
        const at = out.indexOf(outMark);
        const eol = at < 0 ? -1 : out.indexOf('\n', at + outMark.length);
        if (eol < 0) break;
        outs.push({ text: out.slice(0, at), code: Number(out.slice(at + outMark.length, eol)) });
        out = out.slice(eol + 1);
      }
      settle();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (let at = err.indexOf(errMark); at >= 0; at = err.indexOf(errMark)) {
        errs.push(err.slice(0, at));
        err = err.slice(at + errMark.length);
      }
      settle();
    });
    // The shell died before the end. Killed (Ctrl-C reaches it too): that is
    // the answer of the reads it had not finished, at once (a command it
    // left running may hold the pipes open). Else they run alone.
    const finish = (signal: NodeJS.Signals | null) => {
      settle();
      for (const c of cmds.slice(done)) {
        if (signal) c.resolve({ stdout: '', stderr: `${c.argv[0]}: not finished: its reader shell was killed by ${signal}`, exitCode: 128 + signalNumber(signal) });
        else void this.runDirect(c.argv, c.input).then(c.resolve);
      }
      done = cmds.length;
    };
    child.on('error', () => {}); // 'close' follows
    child.on('exit', (_code, signal) => signal && finish(signal));
    child.on('close', () => finish(null));
  }
}
