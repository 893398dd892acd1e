// Stores written by an older l3ctl: one step per schema version, each taking
// the data of version N to version N+1 (src/model/types.ts STATE_VERSION is
// the newest). A store is migrated in memory when it is loaded, checked as
// the newest version, and written in the newest version by the next command
// that saves; its .bak keeps the old file.
//
// The steps are pure and run on unchecked JSON: they move what they know and
// leave the rest as it is, for the schema to name. Each step is frozen once
// released: a later version adds a step, it never edits one.
//
// Imports nothing heavy: tab completion reads older stores through this too.
import { createHash } from 'node:crypto';
import { STATE_VERSION } from '../model/types.js';

type Json = Record<string, unknown>;
export type StoreMigration = (data: Json) => Json;

const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * The subnet id a version-1 store's network becomes (its one subnet): a
 * UUID of version-5 layout from the network id, so that the same store
 * migrates to the same ids on every node and every run.
 */
export function legacySubnetId(networkId: string): string {
  const h = createHash('sha1').update(`l3ctl-subnet:${networkId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Keys of `o` other than `known`, in their order: kept, so that the schema reports them as unknown fields. */
const others = (o: Json, known: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !known.includes(k)));
const some = (o: Json, key: string) => (key in o ? { [key]: o[key] } : {});

/**
 * 1 → 2: a network's `cidr` and `gateway_ip` become its one subnet (IPv4,
 * the only version 1 knew), with an id derived from the network id; a port's
 * `ip_address` becomes its one fixed IP on that subnet.
 */
function subnetsAndFixedIps(d: Json): Json {
  const network = (n: unknown) => {
    if (!isObj(n) || !('cidr' in n || 'gateway_ip' in n)) return n;
    const subnet = { id: legacySubnetId(String(n.id)), ...some(n, 'cidr'), ...some(n, 'gateway_ip'), ip_version: 4, ipv6_ra_mode: null, ipv6_address_mode: null };
    return { ...some(n, 'id'), ...some(n, 'name'), subnets: [subnet], ...others(n, ['id', 'name', 'cidr', 'gateway_ip']) };
  };
  const port = (p: unknown) => {
    if (!isObj(p) || !('ip_address' in p)) return p;
    const fixed = { subnet_id: legacySubnetId(String(p.network_id)), ip_address: p.ip_address };
    return { ...some(p, 'id'), ...some(p, 'network_id'), fixed_ips: [fixed], ...others(p, ['id', 'network_id', 'ip_address']) };
  };
  const router = (r: unknown) => {
    if (!isObj(r)) return r;
    return { ...r, ...('gateway' in r ? { gateway: port(r.gateway) } : {}), ...(Array.isArray(r.interfaces) ? { interfaces: r.interfaces.map(port) } : {}) };
  };
  return {
    ...d,
    ...(Array.isArray(d.networks) ? { networks: d.networks.map(network) } : {}),
    ...(Array.isArray(d.routers) ? { routers: d.routers.map(router) } : {}),
  };
}

export const OLDEST_STORE_VERSION = 1;

/** Version N's step to N+1, for every N from OLDEST_STORE_VERSION below STATE_VERSION. */
export const STORE_MIGRATIONS: Record<number, StoreMigration> = {
  1: subnetsAndFixedIps,
};

/**
 * The data in the newest version and the version it was written in, or null
 * when there is nothing to migrate (the newest version, a newer one, or not
 * a store at all: the schema says what is wrong then).
 */
export function migrateStore(data: unknown, steps: Record<number, StoreMigration> = STORE_MIGRATIONS, current = STATE_VERSION): { data: Json; from: number } | null {
  if (!isObj(data)) return null;
  const from = data.version;
  if (typeof from !== 'number' || !Number.isInteger(from) || from < OLDEST_STORE_VERSION || from >= current) return null;
  let out: Json = data;
  for (let n = from; n < current; n++) {
    const step = steps[n];
    if (!step) throw new Error(`no migration from store version ${n} to ${n + 1}`);
    out = { ...step(out), version: n + 1 };
  }
  return { data: out, from };
}
