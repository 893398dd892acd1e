// The host's registry of l3ctl stores. Several stores can drive one host (the
// operator's, the lab's, a second one for a test bed); `agent cleanup` of one
// must not take the routers of another for stale. So every store enters this
// small file when it is written (transaction.ts, after a save) and leaves it
// when it is deleted (lab down) or found missing (cleanup).
//
// Where: /var/lib/l3ctl/stores.json beside the default store. It must
// survive a reboot: the namespaces do not, and a store that is not written
// again after the reboot (its agent only re-creates them) must still be
// known. Tests point L3CTL_REGISTRY at a file of their own.
//
// Format: {"version": 1, "stores": [{"path": "/abs/store.json", "since": ISO time}]}
// sorted by path; written atomically (temp file, fsync, rename) under its own
// lock, `<registry>.lock`, always taken after a store's lock, never before.
//
// Static imports are Node built-ins only: the "unknown router" hint reads it
// synchronously (readRegistrySync), next to tab completion's fast paths.
import { promises as fsp, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { errnoCode, StoreError } from '../model/errors.js';
import { byText } from '../model/order.js';
import { writeFileAtomicSync } from './atomic.js';

export const DEFAULT_REGISTRY_PATH = '/var/lib/l3ctl/stores.json';
export const REGISTRY_VERSION = 1;
/** The registry is rewritten in a few milliseconds: a longer wait means a dead holder or a hung disk. */
const REGISTRY_LOCK_TIMEOUT_SEC = 10;

/** env L3CTL_REGISTRY, else the default. */
export function registryPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.L3CTL_REGISTRY || DEFAULT_REGISTRY_PATH;
}

export interface RegistryEntry {
  /** Absolute, symlinks resolved: one store is one entry however it is named. */
  path: string;
  /** When it was registered (ISO 8601). */
  since: string;
}

/** How a store is named in the registry: its absolute path, symlinks resolved while it exists. */
export function storeKey(storePath: string): string {
  const abs = path.resolve(storePath);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}


function corrupt(file: string, why: string): StoreError {
  return new StoreError(`store registry ${file} is corrupt: ${why}`, `fix it, or remove it: every store registers again when it is next written (l3ctl agent sync writes nothing; any change does)`);
}

/** Parse the registry's text; throws StoreError (exit 5) naming what is wrong. */
export function parseRegistry(text: string, file: string): RegistryEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, `invalid JSON (${(err as Error).message})`);
  }
  const d = data as { version?: unknown; stores?: unknown };
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw corrupt(file, 'expected an object with version and stores');
  if (d.version !== REGISTRY_VERSION) throw corrupt(file, `version ${JSON.stringify(d.version)}: expected ${REGISTRY_VERSION}`);
  if (!Array.isArray(d.stores)) throw corrupt(file, 'stores is not a list');
  return d.stores.map((e: unknown, i) => {
    const x = e as Partial<RegistryEntry>;
    if (typeof x !== 'object' || x === null || typeof x.path !== 'string' || !path.isAbsolute(x.path) || typeof x.since !== 'string') {
      throw corrupt(file, `stores[${i}] is not {path: absolute path, since: time}`);
    }
    return { path: x.path, since: x.since };
  });
}

export function serializeRegistry(entries: RegistryEntry[]): string {
  const stores = [...entries].sort((a, b) => byText(a.path, b.path));
  return JSON.stringify({ version: REGISTRY_VERSION, stores }, null, 2) + '\n';
}

/** The registered stores; a missing registry is an empty one. */
export async function readRegistry(file: string = registryPath()): Promise<RegistryEntry[]> {
  let text: string;
  try {
    // At once: every change reads this small file after its save, and a read
    // through the thread pool first starts the pool and loads fs/promises.
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw new StoreError(`cannot read store registry ${file}: ${(err as Error).message}`);
  }
  return parseRegistry(text, file);
}

/** For hints on an error path: never throws; null when it cannot be read. */
export function readRegistrySync(file: string = registryPath()): RegistryEntry[] | null {
  try {
    return parseRegistry(readFileSync(file, 'utf8'), file);
  } catch {
    return null;
  }
}

/** Read-change-write under the registry's lock; `change` returns null for "nothing to write". */
async function updateRegistry(file: string, change: (entries: RegistryEntry[]) => RegistryEntry[] | null | Promise<RegistryEntry[] | null>): Promise<void> {
  const { withStoreLock } = await import('./lock.js');
  await withStoreLock(file, async () => {
    const next = await change(await readRegistry(file));
    if (next === null) return;
    writeFileAtomicSync(file, serializeRegistry(next), { mode: 0o600 });
  }, { timeoutSec: REGISTRY_LOCK_TIMEOUT_SEC });
}

/**
 * Make sure the store is registered. Cheap when it is (one small read, no
 * lock), so it is called after every save: stores written before the
 * registry existed join on their next change. True when it was added.
 */
export async function registerStore(storePath: string, file: string = registryPath()): Promise<boolean> {
  const key = storeKey(storePath);
  if ((await readRegistry(file)).some((e) => e.path === key)) return false;
  let added = false;
  await updateRegistry(file, (entries) => {
    if (entries.some((e) => e.path === key)) return null;
    added = true;
    return [...entries, { path: key, since: new Date().toISOString() }];
  });
  return added;
}

/** Remove stores from the registry (deleted stores). A missing registry stays missing. */
export async function unregisterStores(storePaths: string[], file: string = registryPath()): Promise<void> {
  const keys = new Set(storePaths.flatMap((p) => [path.resolve(p), storeKey(p)]));
  if (!(await readRegistry(file)).some((e) => keys.has(e.path))) return;
  await updateRegistry(file, (entries) => {
    const next = entries.filter((e) => !keys.has(e.path));
    return next.length === entries.length ? null : next;
  });
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (err) {
    return errnoCode(err) !== 'ENOENT';
  }
}

/**
 * The registered stores as they are now. Entries whose file is gone leave
 * the registry (checked again under its lock, so a store written meanwhile
 * stays). Returns the entries still there and the paths removed.
 */
export async function pruneRegistry(file: string = registryPath()): Promise<{ entries: RegistryEntry[]; pruned: string[] }> {
  const entries = await readRegistry(file);
  const gone: string[] = [];
  for (const e of entries) if (!(await exists(e.path))) gone.push(e.path);
  if (!gone.length) return { entries, pruned: [] };
  let result = { entries, pruned: [] as string[] };
  await updateRegistry(file, async (now) => {
    const kept: RegistryEntry[] = [];
    const pruned: string[] = [];
    for (const e of now) {
      // Looked at again under the lock: a store written meanwhile stays.
      if (gone.includes(e.path) && !(await exists(e.path))) pruned.push(e.path);
      else kept.push(e);
    }
    result = { entries: kept, pruned };
    return pruned.length ? kept : null;
  });
  return result;
}
