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
import type { FloatingIp, Network, Router, State } from '../model/types.js';

export interface NamesIndex {
  /** The store file as the save left it. */
  file: { size: number; mtimeMs: number; ino: number };
  routers: [name: string, id: string][];
  networks: [name: string, id: string, external: boolean, cidrs: string[]][];
  fips: [address: string, fixed: string | null][];
}

export function namesIndex(s: State, file: Stats): NamesIndex {
  return {
    file: { size: file.size, mtimeMs: file.mtimeMs, ino: file.ino },
    routers: s.routers.map((r) => [r.name, r.id]),
    networks: s.networks.map((n) => [n.name, n.id, n.external, n.subnets.map((x) => x.cidr)]),
    fips: s.floatingips.map((f) => [f.floating_ip_address, f.fixed_ip_address]),
  };
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const tuples = (x: unknown, ok: (t: unknown[]) => boolean) => Array.isArray(x) && x.every((t) => Array.isArray(t) && ok(t));

/**
 * The names of the store at `storePath` as a partial state (routers without
 * ports, networks with only their subnets' CIDRs), or null: no index, a torn
 * one, or a store that is no longer the file it describes.
 */
export function readNamesIndex(storePath: string, sidecarPath: string): State | null {
  try {
    const st = statSync(storePath);
    const text = readFileSync(sidecarPath, 'utf8');
    const nl = text.indexOf('\n');
    const ix = JSON.parse(text.slice(nl + 1)) as NamesIndex;
    if (nl < 0 || ix.file?.size !== st.size || ix.file.mtimeMs !== st.mtimeMs || ix.file.ino !== st.ino) return null;
    if (!tuples(ix.routers, (t) => t.length === 2 && t.every(isStr))) return null;
    if (!tuples(ix.networks, (t) => t.length === 4 && isStr(t[0]) && isStr(t[1]) && typeof t[2] === 'boolean' && Array.isArray(t[3]) && t[3].every(isStr))) return null;
    if (!tuples(ix.fips, (t) => t.length === 2 && isStr(t[0]) && (t[1] === null || isStr(t[1])))) return null;
    const routers = ix.routers.map(([name, id]): Router => ({ id, name, admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null }));
    const networks = ix.networks.map(([name, id, external, cidrs]): Network => ({
      id,
      name,
      external,
      bridge: null,
      subnets: cidrs.map((cidr) => ({ id: '', cidr, gateway_ip: null, ip_version: cidr.includes(':') ? 6 : 4, ipv6_ra_mode: null, ipv6_address_mode: null })),
    }));
    const floatingips = ix.fips.map(([address, fixed]): FloatingIp => ({ id: '', floating_ip_address: address, floating_network_id: '', fixed_ip_address: fixed, router_id: null }));
    return { version: 0, config: {}, routers, networks, floatingips } as unknown as State;
  } catch {
    return null;
  }
}
