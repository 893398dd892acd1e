// Programs some tests need besides the kernel tools (e2e.ts): util-linux
// `script` for a pseudo-terminal, zsh and fish for their completion scripts,
// groff for the man page. scripts/setup.sh installs them, so in CI a missing
// one fails the test (as a missing e2e tool does); elsewhere the test skips.
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

const found = new Map<string, boolean>();

/** Whether `name` (a fixed program name, not user input) is on PATH. */
export function hasProgram(name: string): boolean {
  if (!found.has(name)) found.set(name, spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name]).status === 0);
  return found.get(name)!;
}

/**
 * true when `name` is there; otherwise skips the test (outside CI) or throws
 * (in CI). `pkg`: the Debian package setup.sh installs it from.
 */
export function requireProgram(t: Pick<TestContext, 'skip'>, name: string, pkg: string): boolean {
  if (hasProgram(name)) return true;
  if (process.env.CI) throw new Error(`${name} is not installed (scripts/setup.sh --for-tests installs ${pkg})`);
  t.skip(`${name} (${pkg}) is not installed`);
  return false;
}
