// l3ctl on a pseudo-terminal (util-linux `script`), for prompts and Ctrl-C:
// once PROMPT shows in the output, KEYS are typed.
import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

export interface TtyRun {
  code: number;
  out: string;
  /** When the keys were typed (performance.now()), 0 if never. */
  typedAt: number;
  /** When output matching RE had first arrived, Infinity if never. */
  seen(re: RegExp): number;
}

export function typeOnTty(store: string, args: string[], prompt: RegExp, keys: string, env: Record<string, string> = {}, timeoutMs = 20_000): Promise<TtyRun> {
  // `exec`: script runs the command under $SHELL -c, and a shell left waiting in
  // between (dash, CI's /bin/sh) would die of the Ctrl-C meant for l3ctl.
  const cmd = 'exec ' + [BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // An operator's terminal: no CI variable, which would make l3ctl assume none.
  const { CI: _ci, ...base } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...base, L3CTL_STORE: store, TERM: 'xterm', NO_COLOR: '1', ...env } });
    let out = '';
    let typedAt = 0;
    const arrivals: { at: number; text: string }[] = [];
    const onData = (d: Buffer) => {
      out += d;
      arrivals.push({ at: performance.now(), text: out });
      if (!typedAt && prompt.test(out)) {
        typedAt = performance.now();
        child.stdin.write(keys);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out, typedAt, seen: (re) => arrivals.find((a) => re.test(a.text))?.at ?? Infinity });
    });
  });
}
