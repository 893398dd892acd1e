// Reads that only `diagnose` needs, each the command an operator would type
// (so each check can print it for re-running by hand). All reads: they run
// under --dry-run too, and none of them changes anything.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Runner } from './runner.js';

const ipIn = (ns: string | null, args: string[]) => (ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);
const inNs = (ns: string | null, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);

/** The argv of each read, as printed in a check's `command`. */
export const commands = {
  routeGet: (ns: string | null, ip: string) => ipIn(ns, ['-j', 'route', 'get', ip]),
  neigh: (ns: string | null) => ipIn(ns, ['-j', 'neigh', 'show']),
  conntrack: (ns: string | null, ip: string, dir: '-d' | '-q') => inNs(ns, ['conntrack', '-L', dir, ip]),
  sysctl: (ns: string | null, keys: string[]) => inNs(ns, ['sysctl', ...keys]),
  legacySave: (ns: string | null) => inNs(ns, ['iptables-legacy-save']),
  nftSave: (ns: string | null) => inNs(ns, ['iptables-nft-save']),
  version: () => ['iptables', '--version'],
  ping: (ns: string | null, ip: string) => inNs(ns, ['ping', '-n', '-q', '-c', '1', '-W', '1', ip]),
};

export interface RouteGet {
  dev: string | null;
  via: string | null;
  type: string | null;
}

/** Where the kernel sends a packet for `ip`; null: unreachable. */
export async function routeGet(runner: Runner, ns: string | null, ip: string): Promise<RouteGet | null> {
  const r = await runner.run(commands.routeGet(ns, ip), { read: true, okCodes: [1, 2] });
  if (r.exitCode !== 0 || !r.stdout.trim()) return null;
  const x = (JSON.parse(r.stdout) as Record<string, string>[])[0];
  return x ? { dev: x.dev ?? null, via: x.gateway ?? null, type: x.type ?? null } : null;
}

export interface Neighbour {
  dev: string;
  mac: string | null;
  /** REACHABLE, STALE, DELAY, PROBE, FAILED, INCOMPLETE, PERMANENT… */
  state: string;
}

export async function neighbours(runner: Runner, ns: string | null): Promise<Map<string, Neighbour>> {
  const r = await runner.run(commands.neigh(ns), { read: true });
  const out = new Map<string, Neighbour>();
  for (const n of (r.stdout.trim() ? JSON.parse(r.stdout) : []) as { dst: string; dev: string; lladdr?: string; state?: string[] }[]) {
    out.set(n.dst, { dev: n.dev, mac: n.lladdr ?? null, state: (n.state ?? ['NONE']).join(',') });
  }
  return out;
}

/** Conntrack entries with `ip` as original (-d) or reply (-q) destination; null: no conntrack program. */
export async function conntrackCount(runner: Runner, ns: string | null, ip: string, dir: '-d' | '-q'): Promise<number | null> {
  if (!onPath('conntrack')) return null;
  const r = await runner.run(commands.conntrack(ns, ip, dir), { read: true, okCodes: [1] });
  const m = /(\d+) flow entries have been shown/.exec(r.stderr);
  return m ? Number(m[1]) : r.stdout.trim() ? r.stdout.trim().split('\n').length : 0;
}

/** Values of sysctl keys; a key the kernel lacks is null. */
export async function sysctls(runner: Runner, ns: string | null, keys: string[]): Promise<Record<string, string | null>> {
  const r = await runner.run(commands.sysctl(ns, keys), { read: true, okCodes: [1, 255] });
  const out: Record<string, string | null> = Object.fromEntries(keys.map((k) => [k, null]));
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) = (.*)$/.exec(line.trim());
    if (m && m[1]! in out) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The iptables backend `iptables` uses here: `nf_tables` or `legacy`. */
export async function iptablesBackend(runner: Runner): Promise<{ version: string | null; backend: 'nf_tables' | 'legacy' | null }> {
  const r = await runner.run(commands.version(), { read: true, okCodes: [1, 2, 127] }).catch(() => null);
  const m = /(v\d+\.\d+\.\d+)(?: \((\w+)\))?/.exec(r?.stdout ?? '');
  if (!m) return { version: null, backend: null };
  return { version: m[1]!, backend: m[2] === 'nf_tables' ? 'nf_tables' : 'legacy' };
}

/** `iptables-save` text of the other backend in a namespace, or null when that tool is missing. */
export async function otherBackendSave(runner: Runner, ns: string | null, backend: 'nf_tables' | 'legacy'): Promise<string | null> {
  const argv = backend === 'nf_tables' ? commands.legacySave(ns) : commands.nftSave(ns);
  const tool = argv[argv.length - 1]!;
  if (!onPath(tool)) return null;
  const r = await runner.run(argv, { read: true, okCodes: [1, 2] });
  return r.stdout;
}

/** `iptables-save -t filter` in the namespace; null when it cannot be read. */
export async function filterSave(runner: Runner, ns: string | null): Promise<string | null> {
  const r = await runner.run(inNs(ns, ['iptables-save', '-t', 'filter']), { read: true, okCodes: [1, 2] });
  return r.exitCode === 0 ? r.stdout : null;
}

/** One ping: does `ip` answer from inside the namespace? A probe: real traffic, to an address the router serves. */
export async function pingOnce(runner: Runner, ns: string | null, ip: string): Promise<boolean> {
  const r = await runner.run(commands.ping(ns, ip), { read: true, okCodes: [1, 2] });
  return r.exitCode === 0;
}

/**
 * Is this program on PATH? Only PATH, as the runner (and `ip netns exec`)
 * looks programs up: one found in /usr/sbin alone would still fail to start.
 */
export function onPath(program: string, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): boolean {
  const dirs = path.split(delimiter).filter(Boolean);
  return dirs.some((d) => {
    try {
      accessSync(join(d, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Is the br_netfilter module loaded (its sysctls exist)? */
export const bridgeNetfilterLoaded = () => existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables');
