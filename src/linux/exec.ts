// `router exec`: an operator's command inside a router namespace, on the
// terminal, its exit status passed through.
import { spawn } from 'node:child_process';

export function execInNamespace(ns: string, argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 2 : 1)));
  });
}
