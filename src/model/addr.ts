// IPv4 address math: addresses validated and parsed by ipaddr.js, the
// arithmetic on integers.
import ipaddr from 'ipaddr.js';

const { IPv4 } = ipaddr;

// Stores carry thousands of addresses and every command checks the whole
// state: each distinct string is parsed once (by ipaddr.js) and the maths is
// done on integers.
const ipInts = new Map<string, number | null>();

/** The address as an unsigned 32-bit integer, or null when it is not a dotted-quad IPv4 address. */
function ipv4Int(s: string): number | null {
  let n = ipInts.get(s);
  if (n === undefined) {
    n = IPv4.isValidFourPartDecimal(s) ? IPv4.parse(s).toByteArray().reduce((a, b) => a * 256 + b, 0) : null;
    ipInts.set(s, n);
  }
  return n;
}

export function isIPv4(s: string): boolean {
  return ipv4Int(s) !== null;
}

interface Cidr {
  addr: string;
  prefix: number;
  /** The network address and the number of addresses, as integers. */
  net: number;
  size: number;
}
const cidrs = new Map<string, Cidr | null>();

function cidrOf(s: string): Cidr | null {
  let c = cidrs.get(s);
  if (c === undefined) {
    c = null;
    const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
    const n = m ? ipv4Int(m[1]!) : null;
    const prefix = m ? Number(m[2]) : 33;
    if (n !== null && prefix <= 32) {
      const size = 2 ** (32 - prefix);
      c = { addr: fromInt(n), prefix, net: n - (n % size), size };
    }
    cidrs.set(s, c);
  }
  return c;
}

/** Parse "a.b.c.d/n"; null when malformed. */
export function parseCidr(s: string): { addr: string; prefix: number } | null {
  const c = cidrOf(s);
  return c ? { addr: c.addr, prefix: c.prefix } : null;
}

const mustCidr = (s: string): Cidr => {
  const c = cidrOf(s);
  if (!c) throw new Error(`not a CIDR: ${s}`);
  return c;
};

/** Canonical network form: 198.51.100.7/24 -> 198.51.100.0/24. */
export function networkOf(cidr: string): string {
  const c = mustCidr(cidr);
  return `${fromInt(c.net)}/${c.prefix}`;
}

export function prefixOf(cidr: string): number {
  return mustCidr(cidr).prefix;
}

export function broadcastOf(cidr: string): string {
  const c = mustCidr(cidr);
  return fromInt(c.net + c.size - 1);
}

export function toInt(ip: string): number {
  const n = ipv4Int(ip);
  if (n === null) throw new Error(`not an IPv4 address: ${ip}`);
  return n;
}

export function fromInt(n: number): string {
  return `${Math.floor(n / 16777216) % 256}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

export function contains(cidr: string, ip: string): boolean {
  const c = mustCidr(cidr);
  const n = ipv4Int(ip);
  return n !== null && n >= c.net && n < c.net + c.size;
}

export function overlaps(a: string, b: string): boolean {
  const ca = mustCidr(a);
  const cb = mustCidr(b);
  return ca.net < cb.net + cb.size && cb.net < ca.net + ca.size;
}

/** Usable host addresses of a subnet (network and broadcast excluded from /30 down). */
export function hostRange(cidr: string): { first: number; last: number } {
  const c = mustCidr(cidr);
  if (c.prefix >= 31) return { first: c.net, last: c.net + c.size - 1 };
  return { first: c.net + 1, last: c.net + c.size - 2 };
}

export function isHostOf(cidr: string, ip: string): boolean {
  const n = ipv4Int(ip);
  if (n === null) return false;
  const { first, last } = hostRange(cidr);
  return n >= first && n <= last;
}

/** First host address of the subnet not in `used`, or null. */
export function firstFree(cidr: string, used: Iterable<string>): string | null {
  const taken = new Set(Array.from(used, toInt));
  const { first, last } = hostRange(cidr);
  for (let n = first; n <= last; n++) if (!taken.has(n)) return fromInt(n);
  return null;
}

export function isMac(s: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s) && (parseInt(s.slice(0, 2), 16) & 1) === 0;
}

/**
 * A route destination in the one form both sides are compared in: a network
 * CIDR. `ip -j route` prints `192.0.2.5` for a /32 and `default` for 0/0;
 * anything it cannot read is kept as printed (it then matches nothing of ours).
 */
export function canonicalRouteDst(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  if (isIPv4(dst)) return `${IPv4.parse(dst).toString()}/32`;
  return parseCidr(dst) ? networkOf(dst) : dst;
}

export const DEFAULT_DST = '0.0.0.0/0';

/** How a route destination is written for `ip route` and shown to people. */
export const routeDstText = (dst: string) => (dst === DEFAULT_DST ? 'default' : dst);
