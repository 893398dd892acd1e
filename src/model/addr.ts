// IPv4 and IPv6 address math: IPv6 addresses validated and parsed by
// ipaddr.js, dotted quads by one pattern that accepts what ipaddr.js's
// four-part check accepts; the arithmetic on integers (numbers for IPv4,
// bigints for IPv6).
import ipaddr from 'ipaddr.js';

const { IPv6 } = ipaddr;

export type IpVersion = 4 | 6;

type Ip = { version: 4; n: number } | { version: 6; n: bigint };

// Stores carry thousands of addresses and every command checks the whole
// state: each distinct string is parsed once (by ipaddr.js) and the maths is
// done on integers.
const ips = new Map<string, Ip | null>();

const bytesToBig = (bytes: number[]) => bytes.reduce((a, b) => (a << 8n) | BigInt(b), 0n);

/**
 * What ipaddr.js's IPv4.isValidFourPartDecimal accepts (four decimal parts,
 * 0-255, no leading zeros), tested without its general parser: every
 * address of every pass goes through here once.
 */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
export const DOTTED_QUAD = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** The address, or null when it is neither a dotted-quad IPv4 address nor an IPv6 address (no zone). */
function ipOf(s: string): Ip | null {
  let r = ips.get(s);
  if (r === undefined) {
    r = null;
    if (DOTTED_QUAD.test(s)) r = { version: 4, n: s.split('.').reduce((a, b) => a * 256 + Number(b), 0) };
    else if (s.includes(':') && !s.includes('%') && IPv6.isValid(s)) r = { version: 6, n: bytesToBig(IPv6.parse(s).toByteArray()) };
    ips.set(s, r);
  }
  return r;
}

/** The address as an unsigned 32-bit integer, or null when it is not a dotted-quad IPv4 address. */
function ipv4Int(s: string): number | null {
  const ip = ipOf(s);
  return ip?.version === 4 ? ip.n : null;
}

export const isIPv4 = (s: string): boolean => ipOf(s)?.version === 4;
/** 4, 6, or null when `s` is no address. */
export const ipVersion = (s: string): IpVersion | null => ipOf(s)?.version ?? null;

const V6_BITS = 128n;
const V6_ALL = (1n << V6_BITS) - 1n;

/**
 * IPv6 text as the kernel prints it (inet_ntop, RFC 5952): lower case, no
 * leading zeros, the longest run of two or more zero groups as `::` (the
 * first of equal runs).
 */
function fromBig(n: bigint): string {
  return new IPv6(Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn))).toRFC5952String();
}

export function fromInt(n: number): string {
  return `${Math.floor(n / 16777216) % 256}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

const textOf = (ip: Ip): string => (ip.version === 4 ? fromInt(ip.n) : fromBig(ip.n));

/** The address in the one form the store keeps and `ip` prints; null when it is no address. */
export function canonicalIp(s: string): string | null {
  const ip = ipOf(s);
  return ip ? textOf(ip) : null;
}

type Cidr =
  | { version: 4; addr: string; prefix: number; net: number; size: number }
  | { version: 6; addr: string; prefix: number; net: bigint; size: bigint };
const cidrs = new Map<string, Cidr | null>();

function cidrOf(s: string): Cidr | null {
  let c = cidrs.get(s);
  if (c === undefined) {
    c = null;
    const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
    const ip = m ? ipOf(m[1]!) : null;
    const prefix = m ? Number(m[2]) : -1;
    if (ip?.version === 4 && prefix <= 32) {
      const size = 2 ** (32 - prefix);
      c = { version: 4, addr: fromInt(ip.n), prefix, net: ip.n - (ip.n % size), size };
    } else if (ip?.version === 6 && prefix <= 128) {
      const size = 1n << BigInt(128 - prefix);
      c = { version: 6, addr: fromBig(ip.n), prefix, net: ip.n & (V6_ALL ^ (size - 1n)), size };
    }
    cidrs.set(s, c);
  }
  return c;
}

/** Parse "a.b.c.d/n" or "x:y::z/n"; null when malformed. `addr` in canonical form. */
export function parseCidr(s: string): { addr: string; prefix: number; version: IpVersion } | null {
  const c = cidrOf(s);
  return c ? { addr: c.addr, prefix: c.prefix, version: c.version } : null;
}

const mustCidr = (s: string): Cidr => {
  const c = cidrOf(s);
  if (!c) throw new Error(`not a CIDR: ${s}`);
  return c;
};


/** Canonical network form: 198.51.100.7/24 -> 198.51.100.0/24, 2001:DB8:1::7/64 -> 2001:db8:1::/64. */
export function networkOf(cidr: string): string {
  const c = mustCidr(cidr);
  return c.version === 4 ? `${fromInt(c.net)}/${c.prefix}` : `${fromBig(c.net)}/${c.prefix}`;
}

export function prefixOf(cidr: string): number {
  return mustCidr(cidr).prefix;
}

/** The IPv4 broadcast address (IPv6 has none). */
export function broadcastOf(cidr: string): string {
  const c = mustCidr(cidr);
  if (c.version !== 4) throw new Error(`IPv6 has no broadcast address: ${cidr}`);
  return fromInt(c.net + c.size - 1);
}

export function toInt(ip: string): number {
  const n = ipv4Int(ip);
  if (n === null) throw new Error(`not an IPv4 address: ${ip}`);
  return n;
}

/** Order of addresses: IPv4 before IPv6, then numerically. */
export function compareIp(a: string, b: string): number {
  const x = ipOf(a);
  const y = ipOf(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.version !== y.version) return x.version - y.version;
  return x.n < y.n ? -1 : x.n > y.n ? 1 : 0;
}

/** Order of CIDRs: IPv4 before IPv6, then by address, then by prefix length. */
export function compareCidr(a: string, b: string): number {
  const x = mustCidr(a);
  const y = mustCidr(b);
  return compareIp(x.addr, y.addr) || x.prefix - y.prefix;
}

export function contains(cidr: string, ip: string): boolean {
  const c = mustCidr(cidr);
  const a = ipOf(ip);
  if (!a || a.version !== c.version) return false;
  return c.version === 4 ? (a.n as number) >= c.net && (a.n as number) < c.net + c.size : (a.n as bigint) >= c.net && (a.n as bigint) < c.net + c.size;
}

/** Do two CIDRs share an address? Never across IPv4 and IPv6. */
export function overlaps(a: string, b: string): boolean {
  const ca = mustCidr(a);
  const cb = mustCidr(b);
  if (ca.version === 4 && cb.version === 4) return ca.net < cb.net + cb.size && cb.net < ca.net + ca.size;
  if (ca.version === 6 && cb.version === 6) return ca.net < cb.net + cb.size && cb.net < ca.net + ca.size;
  return false;
}

/**
 * Usable host addresses of a subnet as integers. IPv4: network and broadcast
 * excluded from /30 down. IPv6: the network address (the subnet-router
 * anycast address) excluded, the last one included (no broadcast), as
 * Neutron's allocation pools; a /127 or /128 keeps every address.
 */
function hostRange(c: Cidr): { first: number; last: number } | { first: bigint; last: bigint } {
  if (c.version === 4) return c.prefix >= 31 ? { first: c.net, last: c.net + c.size - 1 } : { first: c.net + 1, last: c.net + c.size - 2 };
  return c.prefix >= 127 ? { first: c.net, last: c.net + c.size - 1n } : { first: c.net + 1n, last: c.net + c.size - 1n };
}

/** The first and last host address of an IPv4 subnet, as integers. */
export function hostRangeV4(cidr: string): { first: number; last: number } {
  const c = mustCidr(cidr);
  if (c.version !== 4) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  return hostRange(c) as { first: number; last: number };
}

/** The first and last host address of a subnet, as text. */
export function hostBounds(cidr: string): { first: string; last: string } {
  const c = mustCidr(cidr);
  const r = hostRange(c);
  return c.version === 4 ? { first: fromInt(r.first as number), last: fromInt(r.last as number) } : { first: fromBig(r.first as bigint), last: fromBig(r.last as bigint) };
}

export function isHostOf(cidr: string, ip: string): boolean {
  const c = mustCidr(cidr);
  const a = ipOf(ip);
  if (!a || a.version !== c.version) return false;
  const { first, last } = hostRange(c);
  return a.n >= first && a.n <= last;
}

/** First host address of the subnet not in `used`, or null. */
export function firstFree(cidr: string, used: Iterable<string>): string | null {
  const c = mustCidr(cidr);
  if (c.version === 4) {
    const taken = new Set<number>();
    for (const u of used) {
      const n = ipv4Int(u);
      if (n !== null) taken.add(n);
    }
    const { first, last } = hostRange(c) as { first: number; last: number };
    for (let n = first; n <= last; n++) if (!taken.has(n)) return fromInt(n);
    return null;
  }
  const taken = new Set<bigint>();
  for (const u of used) {
    const a = ipOf(u);
    if (a?.version === 6) taken.add(a.n);
  }
  // At most |used| + 1 candidates: the search ends fast in the largest subnet.
  const { first, last } = hostRange(c) as { first: bigint; last: bigint };
  for (let n = first; n <= last; n++) if (!taken.has(n)) return fromBig(n);
  return null;
}

/** IPv6 ranges no subnet may touch, by what they are. */
const RESERVED_V6: [string, string][] = [
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
  ['::/8', 'reserved (unspecified, loopback, IPv4-mapped)'],
];

/** What reserved IPv6 range a CIDR overlaps (`link-local fe80::/10`), or null. */
export function reservedRange(cidr: string): string | null {
  if (mustCidr(cidr).version !== 6) return null;
  const hit = RESERVED_V6.find(([range]) => overlaps(range, cidr));
  return hit ? `${hit[1]} ${hit[0]}` : null;
}

export function isMac(s: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s) && (parseInt(s.slice(0, 2), 16) & 1) === 0;
}

export const DEFAULT_DST = '0.0.0.0/0';
export const DEFAULT_DST6 = '::/0';
export const isDefaultDst = (dst: string) => dst === DEFAULT_DST || dst === DEFAULT_DST6;

/**
 * A route destination in the one form both sides are compared in: a network
 * CIDR. `ip -j route` prints `192.0.2.5` for a /32 (`2001:db8::5` for a
 * /128) and `default` for the whole family; anything it cannot read is kept
 * as printed (it then matches nothing of ours).
 */
export function canonicalRouteDst(dst: string, version: IpVersion = 4): string {
  if (dst === 'default') return version === 4 ? DEFAULT_DST : DEFAULT_DST6;
  const ip = ipOf(dst);
  if (ip) return `${textOf(ip)}/${ip.version === 4 ? 32 : 128}`;
  return parseCidr(dst) ? networkOf(dst) : dst;
}

/** How a route destination is written for `ip route` and shown to people. */
export const routeDstText = (dst: string) => (isDefaultDst(dst) ? 'default' : dst);
