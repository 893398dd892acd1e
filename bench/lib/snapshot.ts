// What a user would compare between two builds of the same topology: links
// and IPv4 addresses, IPv4 routes and the iptables rules of every router
// namespace, and the bridges and tap ports of the host namespace. Used to
// show that the floor script builds the same kernel state as l3ctl.
import { run } from './proc.js';

interface IpAddr {
  ifname: string;
  address?: string;
  master?: string;
  flags?: string[];
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

// Administrative state only: carrier and bridge port states settle asynchronously.
const adminUp = (l: IpAddr) => (l.flags?.includes('UP') ? 'up' : 'down');

const rulesOf = (save: string) =>
  save
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\s*\[\d+:\d+\]$/, ''))
    .sort();

/** iptables-save of a namespace, as restore input (comments dropped). */
export async function iptablesSave(ns: string): Promise<string> {
  return (await run(['ip', 'netns', 'exec', ns, 'iptables-save'])).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
}

export async function routerSnapshot(ns: string): Promise<string[]> {
  const links = JSON.parse((await run(['ip', '-n', ns, '-j', 'addr', 'show'])).stdout) as IpAddr[];
  const out: string[] = [];
  for (const l of links) {
    out.push(`link ${l.ifname} ${l.address ?? ''} ${adminUp(l)}`);
    for (const a of l.addr_info ?? []) if (a.family === 'inet') out.push(`addr ${l.ifname} ${a.local}/${a.prefixlen}`);
  }
  const routes = JSON.parse((await run(['ip', '-n', ns, '-j', 'route', 'show', 'table', 'main'])).stdout) as Record<string, unknown>[];
  for (const r of routes) out.push(`route ${r.dst} ${r.gateway ?? ''} ${r.dev}`);
  const sysctl = (await run(['ip', 'netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim();
  out.push(`sysctl ip_forward=${sysctl}`);
  out.push(...rulesOf(await iptablesSave(ns)).map((l) => `ipt ${l}`));
  return out.sort();
}

export async function hostSnapshot(ns: string): Promise<string[]> {
  const links = JSON.parse((await run(['ip', '-n', ns, '-j', 'link', 'show'])).stdout) as IpAddr[];
  return links.map((l) => `link ${l.ifname} master=${l.master ?? '-'} ${adminUp(l)}`).sort();
}

export async function snapshot(hostNs: string, routerNs: string[]): Promise<Map<string, string[]>> {
  const m = new Map<string, string[]>();
  m.set('host', await hostSnapshot(hostNs));
  for (const ns of routerNs) m.set(ns, await routerSnapshot(ns));
  return m;
}

/** Empty when equal; otherwise up to `max` lines saying what differs (`ns: -line` only in a, `+line` only in b). */
export function diffSnapshots(a: Map<string, string[]>, b: Map<string, string[]>, max = 6): string[] {
  const out: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = new Set(a.get(key) ?? []);
    const y = new Set(b.get(key) ?? []);
    for (const l of x) if (!y.has(l)) out.push(`${key.slice(0, 20)}: -${l}`);
    for (const l of y) if (!x.has(l)) out.push(`${key.slice(0, 20)}: +${l}`);
  }
  return out.length > max ? [...out.slice(0, max), `… ${out.length - max} more`] : out;
}
