// l3ctl on a pseudo-terminal (util-linux `script`), for prompts and Ctrl-C:
// once PROMPT shows in the output, KEYS are typed.
import { spawn } from 'node:child_process';
import { BIN } from './cli.js';

export function typeOnTty(store: string, args: string[], prompt: RegExp, keys: string, env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  // `exec`: script runs the command under $SHELL -c, and a shell left waiting in
  // between (dash, CI's /bin/sh) would die of the Ctrl-C meant for l3ctl.
  const cmd = 'exec ' + [BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // An operator's terminal: no CI variable, which would make l3ctl assume none.
  const { CI: _ci, ...base } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...base, L3CTL_STORE: store, TERM: 'xterm', NO_COLOR: '1', ...env } });
    let out = '';
    let typed = false;
    const onData = (d: Buffer) => {
      out += d;
      if (!typed && prompt.test(out)) {
        typed = true;
        child.stdin.write(keys);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out });
    });
  });
}
