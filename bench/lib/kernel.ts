// A kernel benchmark's sandbox: its own store file, its own host namespace
// (l3ctl-bench-<random>: bridges and tap ends live there, never in the host's
// own namespace) and a record of every router namespace it may have made, so
// that everything is removed afterwards — on success, on failure and on
// Ctrl-C.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { State } from '../../src/model/types.js';
import { kernelConfig, routerNamespaces } from './topology.js';
import { requestStop } from './proc.js';
import { deleteNamespaces, killStoreDaemons } from '../../test/helpers/teardown.js';

const live = new Set<Sandbox>();

export const isRoot = () => process.getuid?.() === 0;


export class Sandbox {
  readonly dir: string;
  readonly store: string;
  readonly hostNs: string;
  private readonly namespaces = new Set<string>();

  constructor(readonly label: string) {
    this.dir = mkdtempSync(join(tmpdir(), `l3ctl-bench-${label}-`));
    this.store = join(this.dir, 'state.json');
    this.hostNs = `l3ctl-bench-${randomBytes(4).toString('hex')}`;
    this.namespaces.add(this.hostNs);
    live.add(this);
  }

  get config(): Record<string, string> {
    return kernelConfig(this.hostNs);
  }

  /** Remember the router namespaces of `s` for cleanup (before anything may create them). */
  track(s: State): void {
    for (const ns of routerNamespaces(s)) this.namespaces.add(ns);
  }

  /** Write `s` as the store (tracking its routers). */
  writeStore(s: State, path = this.store): void {
    this.track(s);
    writeFileSync(path, JSON.stringify(s));
  }

  /** Remove every namespace this sandbox may have created (router namespaces first, then its host namespace). */
  clearKernel(): void {
    // The store's proxies and daemons first: a namespace outlives its deletion while a process runs in it.
    killStoreDaemons(this.store);
    deleteNamespaces([...this.namespaces].filter((n) => n !== this.hostNs));
    deleteNamespaces([this.hostNs]);
  }

  dispose(): void {
    this.clearKernel();
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }
}

/** A sandbox for `fn`, always disposed. */
export async function withSandbox<T>(label: string, fn: (sb: Sandbox) => Promise<T> | T): Promise<T> {
  const sb = new Sandbox(label);
  try {
    return await fn(sb);
  } finally {
    sb.dispose();
  }
}

/**
 * On Ctrl-C, SIGTERM or SIGHUP: pass SIGINT on to the running commands (an
 * l3ctl that is changing the kernel rolls back and exits 130); their
 * failure unwinds through withSandbox, which removes the sandbox; the
 * runner then stops. A second signal kills the running commands, removes
 * every live sandbox at once and exits.
 */
export function cleanupOnSignal(): void {
  let seen = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (seen) {
        process.stderr.write(`\n[bench] ${sig} again: killing the running command, removing the benchmark's namespaces now\n`);
        requestStop('SIGKILL'); // first, so that nothing re-creates what dispose removes
        for (const sb of [...live]) sb.dispose();
        process.exit(130);
      }
      seen = true;
      process.stderr.write(`\n[bench] ${sig}: stopping the running command, then removing the benchmark's namespaces\n`);
      requestStop();
    });
  }
}
