// Stores written by an older l3ctl, brought up to STATE_VERSION on load, one
// version at a time, before the shape is checked. In memory only: the file
// is rewritten in the new version by the next command that saves (its .bak
// then keeps the old one). Each step is small and on its own, so a later
// version adds one step and touches none of the others.
//
// Imports nothing at run time: tab completion migrates too (loadStateSync);
// node:crypto is loaded only for a step that needs it.
import { createRequire } from 'node:module';
import { STATE_VERSION } from '../model/types.js';

type Obj = Record<string, unknown>;

export interface Migration {
  from: number;
  to: number;
  /** What the step changes, for people reading the code or a failing test. */
  what: string;
  /** Rewrites DATA (a store of version `from`, its shape not yet checked) in place. */
  up(data: Obj): void;
}

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Adds KEY with VALUE where it is missing (a field already there is left for the checks to judge). */
const add = (o: unknown, key: string, value: unknown) => {
  if (isObj(o) && !(key in o)) o[key] = value;
};

/**
 * The id a version-2 store's network gives its one subnet: a UUID of
 * version-5 layout from the network id, so that the same store migrates to
 * the same ids on every node and every run.
 */
export function legacySubnetId(networkId: string): string {
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const h = createHash('sha1').update(`l3ctl-subnet:${networkId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Keys of O other than KNOWN, in their order: kept, for the schema to report as unknown. */
const others = (o: Obj, known: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !known.includes(k)));
const some = (o: Obj, key: string) => (key in o ? { [key]: o[key] } : {});

/** A network's cidr and gateway_ip as its one (IPv4) subnet, keys in the order the store writes them. */
function networkWithSubnet(n: unknown): unknown {
  if (!isObj(n) || !('cidr' in n || 'gateway_ip' in n)) return n;
  const subnet = { id: legacySubnetId(String(n.id)), ...some(n, 'cidr'), ...some(n, 'gateway_ip'), ip_version: 4, ipv6_ra_mode: null, ipv6_address_mode: null };
  return { ...some(n, 'id'), ...some(n, 'name'), subnets: [subnet], ...others(n, ['id', 'name', 'cidr', 'gateway_ip']) };
}

/** A port's ip_address as its one fixed IP, on the subnet its network's cidr became. */
function portWithFixedIps(p: unknown): unknown {
  if (!isObj(p) || !('ip_address' in p)) return p;
  const fixed = { subnet_id: legacySubnetId(String(p.network_id)), ip_address: p.ip_address };
  return { ...some(p, 'id'), ...some(p, 'network_id'), fixed_ips: [fixed], ...others(p, ['id', 'network_id', 'ip_address']) };
}

export const MIGRATIONS: readonly Migration[] = [
  {
    from: 1,
    to: 2,
    what: 'routers gain ha (false) and ha_vr_id (null): HA routers on keepalived VRRP (issue 20)',
    up(data) {
      if (!Array.isArray(data.routers)) return;
      for (const r of data.routers) {
        add(r, 'ha', false);
        add(r, 'ha_vr_id', null);
      }
    },
  },
  {
    from: 2,
    to: 3,
    what: "a network's cidr and gateway_ip become its one subnet (IPv4; its id derived from the network id), a port's ip_address its one fixed IP: IPv6 (issue 19)",
    up(data) {
      if (Array.isArray(data.networks)) data.networks = data.networks.map(networkWithSubnet);
      if (!Array.isArray(data.routers)) return;
      for (const r of data.routers) {
        if (!isObj(r)) continue;
        if ('gateway' in r) r.gateway = portWithFixedIps(r.gateway);
        if (Array.isArray(r.interfaces)) r.interfaces = r.interfaces.map(portWithFixedIps);
      }
    },
  },
];

/**
 * DATA brought up to STATE_VERSION when it is a store of an older, known
 * version; anything else (another shape, a newer or unknown version) is
 * returned as it is, for the schema to report.
 */
export function migrate(data: unknown): unknown {
  if (!isObj(data) || typeof data.version !== 'number' || !Number.isInteger(data.version)) return data;
  let v = data.version;
  if (v >= STATE_VERSION || v < 1) return data;
  const out = structuredClone(data);
  while (v < STATE_VERSION) {
    const step = MIGRATIONS.find((m) => m.from === v);
    if (!step) return data;
    step.up(out);
    v = step.to;
    out.version = v;
  }
  return out;
}
