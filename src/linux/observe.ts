// What the kernel reports now. Parsed once into a normalised form; a
// namespace that vanished is a result (exists: false), not a crash.
import { readdirSync } from 'node:fs';
import type { Runner } from './runner.js';

export interface ObservedAddr {
  local: string;
  prefixlen: number;
  scope: string;
}

export interface ObservedLink {
  name: string;
  mac: string;
  up: boolean;
  master: string | null;
  addrs: ObservedAddr[];
}

export interface ObservedRoute {
  dst: string; // 'default' or a CIDR
  gateway: string | null;
  dev: string | null;
  protocol: string | null;
}

export interface ObservedRouterNs {
  /** null: the namespace l3ctl runs in. */
  ns: string | null;
  exists: boolean;
  links: Map<string, ObservedLink>;
  routes: ObservedRoute[];
  iptablesSave: string;
  /**
   * The namespace's sysctls are as l3ctl sets them: ip_forward on, and
   * promote_secondaries on (so that replacing a port's address in the same
   * subnet, new added before old deleted, does not delete the new one with
   * the old primary — and the routes through the device with it).
   */
  ipForward: boolean;
  /**
   * Read only where a router shares the host namespace with the bridges:
   * net.ipv4.conf.all.arp_ignore and net.bridge.bridge-nf-call-iptables
   * (null: not read, or no bridge netfilter on this kernel).
   */
  arpIgnore?: string | null;
  bridgeNfCall?: boolean | null;
}

const NETNS_DIR = '/run/netns';

/** Named network namespaces, read from the directory `ip netns` keeps them in. */
export function listNamespaces(): Set<string> {
  try {
    return new Set(readdirSync(NETNS_DIR));
  } catch {
    return new Set();
  }
}

const inNs = (ns: string | null, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);
const ipIn = (ns: string | null, args: string[]) => (ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);

interface IpJsonLink {
  ifname: string;
  address?: string;
  flags?: string[];
  master?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

function parseLinks(stdout: string): Map<string, ObservedLink> {
  const out = new Map<string, ObservedLink>();
  const list = stdout.trim() ? (JSON.parse(stdout) as IpJsonLink[]) : [];
  for (const l of list) {
    if (!l.ifname) continue;
    // `ip addr` names a veth whose peer is elsewhere `qr-x@if12`; -j gives the bare name.
    out.set(l.ifname, {
      name: l.ifname,
      mac: (l.address ?? '').toLowerCase(),
      up: (l.flags ?? []).includes('UP'),
      master: l.master ?? null,
      addrs: (l.addr_info ?? [])
        .filter((a) => a.family === 'inet')
        .map((a) => ({ local: a.local, prefixlen: a.prefixlen, scope: a.scope })),
    });
  }
  return out;
}

/** Links (with addresses) of a namespace; ns null: the namespace l3ctl runs in. */
export async function observeLinks(runner: Runner, ns: string | null): Promise<Map<string, ObservedLink>> {
  const r = await runner.run(ipIn(ns, ['-j', 'addr', 'show']), { read: true });
  return parseLinks(r.stdout);
}

export async function observeRoutes(runner: Runner, ns: string | null): Promise<ObservedRoute[]> {
  const r = await runner.run(ipIn(ns, ['-j', 'route', 'show', 'table', 'main']), { read: true });
  const list = r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, string>[]) : [];
  return list.map((x) => ({
    dst: x.dst ?? 'default',
    gateway: x.gateway ?? null,
    dev: x.dev ?? null,
    protocol: x.protocol ?? null,
  }));
}

export async function observeRouterNs(
  runner: Runner,
  ns: string | null,
  opts: { shared?: boolean } = {},
  exists = ns === null || listNamespaces().has(ns),
): Promise<ObservedRouterNs> {
  if (!exists) return { ns, exists: false, links: new Map(), routes: [], iptablesSave: '', ipForward: false, arpIgnore: null, bridgeNfCall: null };
  const [links, routes, save, fwd, brnf] = await Promise.all([
    observeLinks(runner, ns),
    observeRoutes(runner, ns),
    runner.run(inNs(ns, ['iptables-save']), { read: true }),
    runner.run(inNs(ns, ['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.promote_secondaries']), { read: true }),
    // The bridge key is absent unless br_netfilter is loaded: sysctl then
    // prints arp_ignore alone and fails, which means "no bridge netfilter".
    opts.shared ? runner.run(inNs(ns, ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore', 'net.bridge.bridge-nf-call-iptables']), { read: true, okCodes: [1, 255] }) : null,
  ]);
  // Both must be 1: see ObservedRouterNs.ipForward.
  const ipForward = fwd.stdout.trim().split('\n').every((v) => v.trim() === '1');
  const shared = brnf ? brnf.stdout.trim().split('\n').map((v) => v.trim()) : [];
  const arpIgnore = shared[0] ?? null;
  const bridgeNfCall = shared[1] !== undefined ? shared[1] === '1' : null;
  return { ns, exists: true, links, routes, iptablesSave: save.stdout, ipForward, arpIgnore, bridgeNfCall };
}
