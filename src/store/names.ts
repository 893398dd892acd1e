// What tab completion asks of a store most (router, network and floating IP
// names), kept on the second line of the store's `.checked` sidecar by every
// checked save, with the store file's size, mtime and inode as the save left
// them. A tab press then stats the store and reads a few kilobytes instead of
// reading and parsing the whole store (400 KB for 500 routers): its cost no
// longer grows with the store.
//
// The index is used only while the store is the very file that save wrote;
// any other write (a hand edit, a copy, a save by an older l3ctl) changes
// what stat says and completion reads the store itself, as before. Only
// suggestions could ever be stale, never a command's input.
import { readFileSync, statSync, type Stats } from 'node:fs';
import type { State } from '../model/types.js';

/** What tab completion lists by name: a store's routers, networks and floating IPs, and no more. */
export interface Names {
  routers: [name: string, id: string][];
  networks: [name: string, id: string, external: boolean, cidrs: string[]][];
  fips: [address: string, fixed: string | null][];
}

export interface NamesIndex extends Names {
  /** The store file as the save left it. */
  file: { size: number; mtimeMs: number; ino: number };
}

export function namesOf(s: State): Names {
  return {
    routers: s.routers.map((r) => [r.name, r.id]),
    networks: s.networks.map((n) => [n.name, n.id, n.external, n.subnets.map((x) => x.cidr)]),
    fips: s.floatingips.map((f) => [f.floating_ip_address, f.fixed_ip_address]),
  };
}

export function namesIndex(s: State, file: Stats): NamesIndex {
  return { file: { size: file.size, mtimeMs: file.mtimeMs, ino: file.ino }, ...namesOf(s) };
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const tuples = (x: unknown, ok: (t: unknown[]) => boolean) => Array.isArray(x) && x.every((t) => Array.isArray(t) && ok(t));

/**
 * The names of the store at `storePath`, or null: no index, a torn one, or a
 * store that is no longer the file it describes.
 */
export function readNamesIndex(storePath: string, sidecarPath: string): Names | null {
  try {
    const st = statSync(storePath);
    const text = readFileSync(sidecarPath, 'utf8');
    const nl = text.indexOf('\n');
    const ix = JSON.parse(text.slice(nl + 1)) as NamesIndex;
    if (nl < 0 || ix.file?.size !== st.size || ix.file.mtimeMs !== st.mtimeMs || ix.file.ino !== st.ino) return null;
    if (!tuples(ix.routers, (t) => t.length === 2 && t.every(isStr))) return null;
    if (!tuples(ix.networks, (t) => t.length === 4 && isStr(t[0]) && isStr(t[1]) && typeof t[2] === 'boolean' && Array.isArray(t[3]) && t[3].every(isStr))) return null;
    if (!tuples(ix.fips, (t) => t.length === 2 && isStr(t[0]) && (t[1] === null || isStr(t[1])))) return null;
    return { routers: ix.routers, networks: ix.networks, fips: ix.fips };
  } catch {
    return null;
  }
}
