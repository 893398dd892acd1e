// The JSON store: locate, load (validated), save (atomic, with a .bak of the
// previous good file). Locking is lock.ts; callers wrap load-change-save in it.
//
// Static imports load no package: tab completion imports this module for
// loadStateSync, so valibot (schema.ts) and the whole-state check (ipaddr.js)
// are loaded lazily by the functions that need them.
//
// What loads (issue 10, item 11): the right shape (schema.ts), valid and
// canonical values (values.ts), then the whole-state check every command
// relies on (checkState: unique ids and addresses, ports on known networks…).
// A hand-edited store that fails any of them is corrupt: exit 5 naming the
// field, before any command uses a value of it.
import {
  closeSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  emptyState,
  IPV6_MODES,
  STATE_VERSION,
  type FixedIp,
  type FloatingIp,
  type Network,
  type Port,
  type Route,
  type Router,
  type State,
  type Subnet,
} from '../model/types.js';
import { errnoCode, L3ctlError, StoreError } from '../model/errors.js';
import { storeValueProblem } from './values.js';
import { migrate } from './migrate.js';
import { namesIndex } from './names.js';
import { writeFileAtomicSync } from './atomic.js';

export const DEFAULT_STORE_PATH = '/var/lib/l3ctl/state.json';

/** --store value, else env L3CTL_STORE, else the default (cli.md). */
export function resolveStorePath(opt?: string): string {
  if (opt) return opt;
  const env = process.env.L3CTL_STORE;
  if (env) return env;
  return DEFAULT_STORE_PATH;
}

export const backupPath = (storePath: string) => `${storePath}.bak`;

function describeReadError(err: unknown): string {
  switch (errnoCode(err)) {
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Parse + validate store text; throws Error(what is wrong). `whole`: also
 * the whole-state check (skipped where the file was just checked under the
 * same lock, to keep a save cheap).
 */
/**
 * `<store>.checked`: the digest of the text l3ctl last saved after checking
 * it whole. A store that still has that text needs no second check (reads of
 * a 500-router store then skip the value and whole-state checks, and the
 * address library); a hand edit, a crash between the two writes or a copied
 * store changes the text or loses the sidecar, and is checked in full.
 */
export const checkedPath = (storePath: string) => `${storePath}.checked`;

/**
 * sha256 of the text; node:crypto is loaded on first use (a tab press without
 * a sidecar never pays for it). process.getBuiltinModule (node 20.16) spares
 * createRequire's module-path set-up (~1 ms); older 20s take that way.
 */
function digestOf(text: string): string {
  const load = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const { createHash } = (load?.('node:crypto') ?? createRequire(import.meta.url)('node:crypto')) as typeof import('node:crypto');
  return createHash('sha256').update(text).digest('hex');
}

/** The sidecar holds the digest of exactly this text (a missing or unreadable one does not). */
function knownGood(storePath: string, text: string): boolean {
  let want: string;
  try {
    want = readFileSync(checkedPath(storePath), 'utf8');
  } catch {
    return false;
  }
  // Line 1: the digest; line 2, when there: the names tab completion reads (names.ts).
  const nl = want.indexOf('\n');
  return (nl < 0 ? want : want.slice(0, nl)).trim() === digestOf(text);
}

/** `checkedWhole` is called when the text passed every check here (not when its digest vouched for it). */
async function parseStore(text: string, whole = true, storePath: string | null = null, checkedWhole?: () => void): Promise<State> {
  if (text.trim() === '') throw new Error('the file is empty');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid JSON (${(err as Error).message})`);
  }
  // An older store is read in the current version (migrate.ts) and checked as
  // what it becomes; it is written so by the next save.
  const current = migrate(data);
  const from = current !== data ? (data as { version: number }).version : null;
  const note = from !== null ? ` (a version ${from} store, checked as version ${STATE_VERSION})` : '';
  try {
    // The structural check tab completion uses agrees with the schema on every
    // corrupt case (store.test.ts): valibot, which says what is wrong, is loaded
    // only when something is.
    // Text l3ctl saved after checking it whole vouches for its shape too: the
    // shape check of a 500-router store costs more (~4 ms) than its digest.
    if (current === data && storePath !== null && knownGood(storePath, text)) return current as State;
    const shaped = isState(current);
    const state = shaped ? (current as State) : (await import('./schema.js')).validateState(current);
    const { CONFIG_KEYS } = await import('../model/config.js');
    const problem = storeValueProblem(state, CONFIG_KEYS);
    if (problem) throw new Error(problem);
    if (whole) {
      const { checkState } = await import('../model/validate.js');
      try {
        checkState(state);
      } catch (err) {
        // Its messages name the objects; its hints are for command-line input.
        if (err instanceof L3ctlError) throw new Error(err.message);
        throw err;
      }
      checkedWhole?.();
    }
    return state;
  } catch (err) {
    if (note) throw new Error(`${(err as Error).message}${note}`);
    throw err;
  }
}

/** Quoted for a POSIX shell only when needed, so the hint can be pasted. */
const shq = (s: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The restore hint, only when <path>.bak exists and would itself load. */
async function backupHint(storePath: string): Promise<string | undefined> {
  const bak = backupPath(storePath);
  try {
    await parseStore(readFileSync(bak, 'utf8'));
  } catch {
    return undefined;
  }
  return `the previous good store is ${bak}; restore it with: cp ${shq(bak)} ${shq(storePath)}`;
}

/** The last text this process checked whole, per store: loading or saving over it again needs no second check. */
const checkedTexts = new Map<string, string>();

/**
 * Under the store's lock, after a load that checked the store whole: its
 * digest is kept beside it (when not there already), so that later loads
 * trust it instead of checking again. A store written by hand, restored from
 * a copy or generated by another tool has no digest, and `agent sync` (or
 * every pass of `agent run`) never saves it: without this each of them would
 * check it whole, 9 ms of a 16-router sync. If the file changed since the
 * load, the digest is of the old text and vouches for nothing.
 */
export function keepDigest(storePath: string, state?: State): void {
  const text = checkedTexts.get(storePath);
  if (text === undefined || knownGood(storePath, text)) return;
  try {
    writeSidecar(storePath, text, state);
  } catch {
    // A read-only directory: the next load checks again, as before.
  }
}

/** The digest of `text`, then (with the state it holds) the names tab completion reads, tied to the store file as it is now. */
function writeSidecar(storePath: string, text: string, state?: State): void {
  let names = '';
  try {
    if (state) names = JSON.stringify(namesIndex(state, statSync(storePath))) + '\n';
  } catch {
    // No names: completion reads the store itself.
  }
  writeFileSync(checkedPath(storePath), digestOf(text) + '\n' + names, { mode: 0o600 });
}

/**
 * Load and validate the store. A missing file is an empty store. Anything
 * else wrong is a StoreError (exit 5); the file is never touched.
 */
export async function loadState(storePath: string): Promise<State> {
  let text: string;
  try {
    // Read at once: a command waits for it anyway, and the thread pool's round trip is a few ms.
    text = readFileSync(storePath, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return emptyState();
    throw new StoreError(
      `cannot read store ${storePath}: ${describeReadError(err)}`,
      await backupHint(storePath),
    );
  }
  try {
    // Loaded and checked before by this process (a verb looks, then its transaction loads under the lock).
    if (text === checkedTexts.get(storePath)) return migrate(JSON.parse(text)) as State;
    return await parseStore(text, true, storePath, () => checkedTexts.set(storePath, text));
  } catch (err) {
    throw new StoreError(
      `store ${storePath} is corrupt: ${(err as Error).message}`,
      await backupHint(storePath),
    );
  }
}

// A valibot-free structural check for loadStateSync (completion must start
// fast). Key sets are tied to the types at compile time (Fields<T>); the
// unit tests check it agrees with schema.ts on every corrupt case.
type Check = (x: unknown) => boolean;
type Fields<T> = { [K in keyof T]-?: Check };
const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr: Check = (x) => typeof x === 'string';
const isBool: Check = (x) => typeof x === 'boolean';
const orNull = (c: Check): Check => (x) => x === null || c(x);
const arrayOf = (c: Check): Check => (x) => Array.isArray(x) && x.every(c);
const exact = <T>(fields: Fields<T>): Check => (x) => {
  if (!isObj(x)) return false;
  const keys = Object.keys(x);
  return keys.length === Object.keys(fields).length && keys.every((k) => k in fields && fields[k as keyof T](x[k]));
};
const isFixedIp = exact<FixedIp>({ subnet_id: isStr, ip_address: isStr });
const isPort = exact<Port>({ id: isStr, network_id: isStr, fixed_ips: arrayOf(isFixedIp), mac_address: isStr, admin_state_up: isBool });
const isMode: Check = (x) => x === null || (IPV6_MODES as readonly unknown[]).includes(x);
const isSubnet = exact<Subnet>({
  id: isStr,
  cidr: isStr,
  gateway_ip: orNull(isStr),
  ip_version: (x) => x === 4 || x === 6,
  ipv6_ra_mode: isMode,
  ipv6_address_mode: isMode,
});
const isState = exact<State>({
  version: (x) => x === STATE_VERSION,
  config: (x) => isObj(x) && Object.values(x).every(isStr),
  networks: arrayOf(
    exact<Network>({ id: isStr, name: isStr, subnets: arrayOf(isSubnet), external: isBool, bridge: orNull(isStr) }),
  ),
  routers: arrayOf(
    exact<Router>({
      id: isStr,
      name: isStr,
      admin_state_up: isBool,
      gateway: orNull(isPort),
      interfaces: arrayOf(isPort),
      routes: arrayOf(exact<Route>({ destination: isStr, nexthop: isStr })),
      ha: isBool,
      ha_vr_id: (x) => x === null || (typeof x === 'number' && Number.isInteger(x)),
    }),
  ),
  floatingips: arrayOf(
    exact<FloatingIp>({
      id: isStr,
      floating_ip_address: isStr,
      floating_network_id: isStr,
      fixed_ip_address: orNull(isStr),
      router_id: orNull(isStr),
    }),
  ),
});

/**
 * For tab completion: no lock, no valibot, never throws; null on any problem
 * of shape or value. Not here (they would load more modules): the whole-state
 * check (ipaddr.js) and config values against their keys' checks.
 */
export function loadStateSync(storePath: string): State | null {
  try {
    const text = readFileSync(storePath, 'utf8');
    const raw: unknown = JSON.parse(text);
    const data = migrate(raw);
    // Text l3ctl saved after checking it whole: its shape and values need no
    // second look (a hash is cheaper than their checks on a large store).
    if (data === raw && knownGood(storePath, text)) return data as State;
    if (!isState(data)) return null;
    return storeValueProblem(data as State) === null ? (data as State) : null;
  } catch {
    return null;
  }
}

export function serializeState(state: State): string {
  return JSON.stringify(state, null, 2) + '\n';
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (err) {
    // Some file systems cannot fsync a directory; nothing more we can do there.
    if (!['EINVAL', 'ENOTSUP', 'EISDIR'].includes(errnoCode(err) ?? '')) throw err;
  } finally {
    closeSync(fd);
  }
}

/** unlink(2), a missing file being fine (fs.rmSync would first load its recursive remover). */
function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

const tmpSuffix = () => `.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;

/**
 * Make <path>.bak the given previous good file, atomically: a hard link to
 * the current inode (no copy, already on disk) renamed over the old .bak;
 * a copy written atomically when links are not possible (symlinked store,
 * file systems without hard links).
 */
function keepBackup(storePath: string, previous: string, isRegularFile: boolean): void {
  const bak = backupPath(storePath);
  if (isRegularFile) {
    const tmp = bak + tmpSuffix();
    try {
      linkSync(storePath, tmp);
      renameSync(tmp, bak);
      return;
    } catch {
      removeFile(tmp);
    }
  }
  writeFileAtomicSync(bak, previous, { mode: 0o600 });
}

/**
 * Save atomically: readers see the old file or the new one, never a part.
 * Order: mkdir -p; .bak := current good file; temp file + fsync + rename
 * (atomic.ts); fsync the directory so both renames survive a crash.
 */
/**
 * `checked`: the caller checked this state whole (the transaction's
 * checkState): its digest is kept beside it, so reads need not check again.
 */
export async function saveState(storePath: string, state: State, opts: { checked?: boolean } = {}): Promise<void> {
  const { CONFIG_KEYS } = await import('../model/config.js');
  try {
    // The checks a load makes (shape, then values): valibot only to say what a bad shape is.
    if (!isState(state)) (await import('./schema.js')).validateState(state);
    const problem = storeValueProblem(state, CONFIG_KEYS);
    if (problem) throw new Error(problem);
  } catch (err) {
    // A bug in the caller, not in the file: refuse to write what we could not load.
    throw new Error(`refusing to save an invalid state to ${storePath}: ${(err as Error).message}`);
  }
  const text = serializeState(state);
  // Synchronous from here: the command has nothing else to do while its store
  // is written, and each thread-pool round trip (and fs/promises' first load)
  // cost a mutating command ~10 ms. A signal handler cannot run in between,
  // so no temporary file is left behind by Ctrl-C.
  const dir = path.dirname(path.resolve(storePath));
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  let previous: string | null = null;
  let isRegularFile = false;
  try {
    isRegularFile = lstatSync(storePath).isFile();
    previous = readFileSync(storePath, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') {
      throw new StoreError(`cannot read store ${storePath}: ${describeReadError(err)}`);
    }
  }

  // Nothing changed: no write, and the .bak keeps the last real change (its digest is kept if it was checked whole).
  if (previous === text) {
    if (opts.checked) keepDigest(storePath, state);
    return;
  }
  if (previous !== null) {
    try {
      // Loaded and fully checked by this command under the lock; shape and
      // values again if it was edited by hand since (the lock does not stop that).
      if (previous !== checkedTexts.get(storePath)) await parseStore(previous, false, storePath);
    } catch (err) {
      // A corrupt store is reported, never overwritten (architecture.md).
      throw new StoreError(
        `store ${storePath} is corrupt: ${(err as Error).message}`,
        await backupHint(storePath),
      );
    }
    keepBackup(storePath, previous, isRegularFile);
  }

  // The sidecar goes first: a crash between the writes leaves a digest of no text.
  removeFile(checkedPath(storePath));
  // mode only for a new file; an existing one keeps its mode and owner.
  writeFileAtomicSync(storePath, text, { mode: 0o600 });
  // Not atomic, no fsync: a torn or lost sidecar only means one full check more.
  if (opts.checked) {
    writeSidecar(storePath, text, state);
    checkedTexts.set(storePath, text);
  }
  // The new file was renamed into the symlink's target directory, if any.
  let real: string;
  try {
    real = realpathSync(storePath);
  } catch {
    real = path.resolve(storePath);
  }
  fsyncDir(path.dirname(real));
}
