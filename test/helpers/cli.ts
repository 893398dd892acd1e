// Run the real CLI (bin/l3ctl) as a user would, and the kernel tools around it.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killStoreDaemons } from './teardown.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

// Every store a test writes registers itself (src/store/registry.ts): in a
// registry of this test process, never the host's /var/lib/l3ctl/stores.json.
// Every l3ctl a test starts inherits it; a test may pass its own.
if (!process.env.L3CTL_REGISTRY) {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-test-registry-'));
  process.env.L3CTL_REGISTRY = join(dir, 'stores.json');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}
export const BIN = join(ROOT, 'bin', 'l3ctl');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  store?: string;
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** Runs `l3ctl ARGS` with no TTY; resolves with exit code and output. */
export function l3ctl(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...opts.env };
    if (opts.store) env.L3CTL_STORE = opts.store;
    delete env.NO_COLOR;
    Object.assign(env, opts.env ?? {});
    // As an operator runs it: the launcher picks the start-up snapshot (or the bundle).
    const child = spawn(BIN, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Same, but fails the test unless the command exits 0. */
export async function l3ctlOk(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const r = await l3ctl(args, opts);
  if (r.code !== 0) throw new Error(`l3ctl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Run a system command synchronously (test set-up and assertions only). */
export function sh(argv: string[], input?: string): CliResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function shOk(argv: string[], input?: string): string {
  const r = sh(argv, input);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export const nsExec = (ns: string, argv: string[]) => sh(['ip', 'netns', 'exec', ns, ...argv]);

/** A fresh store path in its own temp directory. */
export function tempStore(): { path: string; dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-test-'));
  const path = join(dir, 'state.json');
  return {
    dir,
    path,
    cleanup: () => {
      // Daemons of a router whose namespace a test deleted by hand outlive it.
      killStoreDaemons(path);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const readStore = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '<absent>');

/** Unique, recognisable names for namespaces a test makes. */
export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;
