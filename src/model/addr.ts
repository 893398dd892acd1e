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

/**
 * A valid CIDR as numbers, remembered: the whole-state check asks the same
 * few subnets about every port, route and floating IP (thousands of times
 * for a site of many floating IPs), and ipaddr.js parses with regular
 * expressions each time.
 */
const ranges = new Map<string, { net: number; size: number; prefix: number }>();
function range(cidr: string): { net: number; size: number; prefix: number } {
  let r = ranges.get(cidr);
  if (!r) {
    const p = parseCidr(cidr);
    if (!p) throw new Error(`not a CIDR: ${cidr}`);
    const size = 2 ** (32 - p.prefix);
    r = { net: Math.floor(toInt(p.addr) / size) * size, size, prefix: p.prefix };
    ranges.set(cidr, r);
  }
  return r;
}

/** Canonical network form: 198.51.100.7/24 -> 198.51.100.0/24. */
export function networkOf(cidr: string): string {
  const r = range(cidr);
  return `${fromInt(r.net)}/${r.prefix}`;
}

export function prefixOf(cidr: string): number {
  return range(cidr).prefix;
}

export function broadcastOf(cidr: string): string {
  const r = range(cidr);
  return fromInt(r.net + r.size - 1);
}

/** A valid dotted-quad address (isIPv4: four decimal parts, no leading zeros) as a number. */
export function toInt(ip: string): number {
  const [a, b, c, d] = ip.split('.');
  return ((Number(a) * 256 + Number(b)) * 256 + Number(c)) * 256 + Number(d);
}

export function fromInt(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function contains(cidr: string, ip: string): boolean {
  const r = range(cidr);
  const n = toInt(ip);
  return n >= r.net && n < r.net + r.size;
}

export function overlaps(a: string, b: string): boolean {
  const ra = range(a);
  const rb = range(b);
  return ra.net < rb.net + rb.size && rb.net < ra.net + ra.size;
}

/** Usable host addresses of a subnet (network and broadcast excluded from /30 down). */
export function hostRange(cidr: string): { first: number; last: number } {
  const r = range(cidr);
  if (r.prefix >= 31) return { first: r.net, last: r.net + r.size - 1 };
  return { first: r.net + 1, last: r.net + r.size - 2 };
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
