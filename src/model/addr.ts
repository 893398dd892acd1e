// IPv4 address math on top of ipaddr.js. IPv4 only, as the Grizzly agent.
import ipaddr from 'ipaddr.js';

const { IPv4 } = ipaddr;

export function isIPv4(s: string): boolean {
  return IPv4.isValidFourPartDecimal(s);
}

/** Parse "a.b.c.d/n"; null when malformed. */
export function parseCidr(s: string): { addr: string; prefix: number } | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1]!)) return null;
  const prefix = Number(m[2]);
  if (prefix > 32) return null;
  return { addr: IPv4.parse(m[1]!).toString(), prefix };
}

/** Canonical network form: 198.51.100.7/24 -> 198.51.100.0/24. */
export function networkOf(cidr: string): string {
  const p = parseCidr(cidr);
  if (!p) throw new Error(`not a CIDR: ${cidr}`);
  return `${IPv4.networkAddressFromCIDR(`${p.addr}/${p.prefix}`).toString()}/${p.prefix}`;
}

export function prefixOf(cidr: string): number {
  return parseCidr(cidr)!.prefix;
}

export function broadcastOf(cidr: string): string {
  return IPv4.broadcastAddressFromCIDR(cidr).toString();
}

export function toInt(ip: string): number {
  return IPv4.parse(ip).toByteArray().reduce((a, b) => a * 256 + b, 0);
}

export function fromInt(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function contains(cidr: string, ip: string): boolean {
  const p = parseCidr(cidr)!;
  return IPv4.parse(ip).match(IPv4.parse(p.addr), p.prefix);
}

export function overlaps(a: string, b: string): boolean {
  const pa = parseCidr(a)!;
  const pb = parseCidr(b)!;
  return pa.prefix <= pb.prefix ? contains(a, pb.addr) : contains(b, pa.addr);
}

/** Usable host addresses of a subnet (network and broadcast excluded from /30 down). */
export function hostRange(cidr: string): { first: number; last: number } {
  const p = parseCidr(cidr)!;
  const net = toInt(IPv4.networkAddressFromCIDR(cidr).toString());
  const size = 2 ** (32 - p.prefix);
  if (p.prefix >= 31) return { first: net, last: net + size - 1 };
  return { first: net + 1, last: net + size - 2 };
}

export function isHostOf(cidr: string, ip: string): boolean {
  if (!contains(cidr, ip)) return false;
  const { first, last } = hostRange(cidr);
  const n = toInt(ip);
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
