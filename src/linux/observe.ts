// What the kernel reports now, parsed once per pass into typed, normalised
// observations: `ip -j addr`, `ip -j route` (and `ip -6 -j route` where a
// router has IPv6), `iptables-save -c`, sysctls. A namespace that vanished is
// a result (exists: false), not a crash.
import { canonicalRouteDst, overlaps, parseCidr, type IpVersion } from '../model/addr.js';
import { ApplyError } from '../model/errors.js';
import { isRouterDevice } from '../model/names.js';
import { emptySave, parseSave, type ParsedSave } from './iptables.js';
import type { Runner } from './runner.js';

export interface ObservedAddr {
  local: string;
  prefixlen: number;
  scope: string;
  family: IpVersion;
  /** IPv4's broadcast (`brd`); null: none set (IPv6 has none). */
  broadcast: string | null;
}

export interface ObservedLink {
  name: string;
  mac: string;
  up: boolean;
  /**
   * LOWER_UP: something holds the other side (a veth peer up, ovs-vswitchd
   * on an internal port's tap). An OVS port stranded by an ovs-vswitchd
   * restart is up without it.
   */
  carrier: boolean;
  master: string | null;
  /** Unknown (undefined) only where a test builds a link by hand. */
  mtu?: number;
  /**
   * A veth's other end as ip names it: `here` the peer's name when it is in
   * this namespace, `elsewhere` when it is in another one; null: no veth
   * with a peer (a tap device, a dummy). Undefined only where a test builds
   * a link by hand.
   */
  peer?: { here: string } | { elsewhere: true; index?: number } | null;
  /** The device's index in its namespace (what a veth peer elsewhere names it by). */
  ifindex?: number;
  addrs: ObservedAddr[];
  /**
   * Global IPv6 addresses the kernel formed itself from router
   * advertisements (SLAAC, `dynamic`), as `ip/prefixlen`: not in addrs.
   * Drift on a port l3ctl tells not to learn (accept_ra 0).
   */
  learnt?: string[];
  /** Some IPv6 address is on it (a link-local one at least, once up): IPv6 is not disabled on it. */
  ipv6?: boolean;
}

export interface ObservedRoute {
  /** Canonical CIDR: `ip -j` prints `192.0.2.5` for a /32 and `default` for 0/0 (::/0). */
  dst: string;
  family: IpVersion;
  gateway: string | null;
  dev: string | null;
  protocol: string | null;
  scope: string | null;
  prefsrc: string | null;
}

export interface ObservedSysctls {
  /** net.ipv4.ip_forward is 1. */
  ipForward: boolean;
  /**
   * net.ipv4.conf.all.promote_secondaries is 1 (so that replacing a port's
   * address in the same subnet, new added before old deleted, does not
   * delete the new one with the old primary — and the routes through it).
   */
  promoteSecondaries: boolean;
  /**
   * Read only where a router shares a namespace of l3ctl's own with the
   * bridges: arp_ignore and bridge-nf-call-iptables (null: not read, or no
   * bridge netfilter on this kernel).
   */
  arpIgnore: string | null;
  bridgeNfCall: boolean | null;
  /** net.ipv6.conf.all.forwarding is 1; null: not read (a router without IPv6). */
  ipv6Forwarding: boolean | null;
  /** net.ipv6.conf.<device>.accept_ra of the devices asked for that exist. */
  acceptRa: Map<string, string>;
  /**
   * Read only for an HA router's namespace: IPv6 is off there (all and
   * default disable_ipv6 are 1); null: not read, or no IPv6 on this kernel.
   */
  ipv6Off: boolean | null;
}

export interface ObservedNs {
  /** null: the namespace l3ctl runs in. */
  ns: string | null;
  exists: boolean;
  links: Map<string, ObservedLink>;
  routes: ObservedRoute[];
  iptables: ParsedSave;
  sysctl: ObservedSysctls;
}

/** The namespace holding the bridges and host-side veth ends. */
export interface ObservedHost {
  /** null: the namespace l3ctl runs in. */
  ns: string | null;
  exists: boolean;
  links: Map<string, ObservedLink>;
}

/** The reads of a pass: quick, and started together for many namespaces, so they share shells. */
const QUICK = { read: true, batch: true } as const;

const inNs = (ns: string | null, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);
const ipIn = (ns: string | null, args: string[]) => (ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);

interface IpJsonLink {
  ifindex?: number;
  ifname: string;
  address?: string;
  flags?: string[];
  master?: string;
  mtu?: number;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string; broadcast?: string; dynamic?: boolean }[];
}

/**
 * IPv6 addresses that are ours to compare: global and permanent. Link-local
 * ones and those the kernel makes itself (SLAAC, with a lifetime: `dynamic`)
 * are the kernel's.
 */
const ownV6 = (a: { scope: string; dynamic?: boolean }) => a.scope === 'global' && !a.dynamic;

export function parseLinks(stdout: string): Map<string, ObservedLink> {
  const out = new Map<string, ObservedLink>();
  const list = stdout.trim() ? (JSON.parse(stdout) as IpJsonLink[]) : [];
  for (const l of list) {
    if (!l.ifname) continue;
    // `ip addr` names a veth whose peer is elsewhere `qr-x@if12`; -j gives the bare name.
    out.set(l.ifname, {
      name: l.ifname,
      mac: (l.address ?? '').toLowerCase(),
      up: (l.flags ?? []).includes('UP'),
      carrier: (l.flags ?? []).includes('LOWER_UP'),
      master: l.master ?? null,
      ...(l.mtu ? { mtu: l.mtu } : {}),
      peer: l.link ? { here: l.link } : l.link_index !== undefined || l.link_netnsid !== undefined ? { elsewhere: true as const, ...(l.link_index !== undefined ? { index: l.link_index } : {}) } : null,
      ...(l.ifindex !== undefined ? { ifindex: l.ifindex } : {}),
      addrs: (l.addr_info ?? [])
        .filter((a) => a.family === 'inet' || (a.family === 'inet6' && ownV6(a)))
        .map((a) => ({ local: a.local, prefixlen: a.prefixlen, scope: a.scope, family: a.family === 'inet' ? 4 : 6, broadcast: a.broadcast ?? null })),
      learnt: (l.addr_info ?? []).filter((a) => a.family === 'inet6' && a.scope === 'global' && a.dynamic).map((a) => `${a.local}/${a.prefixlen}`),
      ipv6: (l.addr_info ?? []).some((a) => a.family === 'inet6'),
    });
  }
  return out;
}

/** IPv6 routes the kernel keeps for itself: link-local and multicast prefixes. */
const kernelsV6 = (dst: string) => !!parseCidr(dst) && (overlaps(dst, 'fe80::/10') || overlaps(dst, 'ff00::/8'));

/** `ip -j route` output of one IP version (`ip -6 -j route`: 6). */
export function parseRoutes(stdout: string, family: IpVersion = 4): ObservedRoute[] {
  const list = stdout.trim() ? (JSON.parse(stdout) as Record<string, string>[]) : [];
  const routes = list.map((x) => ({
    dst: canonicalRouteDst(x.dst ?? 'default', family),
    family,
    gateway: x.gateway ?? null,
    dev: x.dev ?? null,
    protocol: x.protocol ?? null,
    scope: x.scope ?? null,
    prefsrc: x.prefsrc ?? null,
  }));
  return family === 6 ? routes.filter((r) => r.dst === '::/0' || !kernelsV6(r.dst)) : routes;
}

/** Links (with addresses) of a namespace; ns null: the namespace l3ctl runs in. */
export async function observeLinks(runner: Runner, ns: string | null): Promise<Map<string, ObservedLink>> {
  const r = await runner.run(ipIn(ns, ['-j', 'addr', 'show']), QUICK);
  return parseLinks(r.stdout);
}

export async function observeHost(runner: Runner, hostNs: string | null): Promise<ObservedHost> {
  if (hostNs && !(await runner.namespaces()).has(hostNs)) return { ns: hostNs, exists: false, links: new Map() };
  return { ns: hostNs, exists: true, links: await observeLinks(runner, hostNs) };
}

export function absentNs(ns: string | null): ObservedNs {
  return { ns, exists: false, links: new Map(), routes: [], iptables: emptySave(), sysctl: { ipForward: false, promoteSecondaries: false, arpIgnore: null, bridgeNfCall: null, ipv6Forwarding: null, acceptRa: new Map(), ipv6Off: false } };
}

export const SYSCTL_MARK = '#l3ctl-sysctl';

/**
 * What the planner reads in a namespace, by one shell run inside it: links
 * and routes (one `ip -j` batch, a JSON array a line), our rules
 * (`iptables-save -c`), then the sysctls named by its arguments. Entering
 * the namespace is the dearest part of a read: once, not three times, is a
 * quarter less of a converged sync's reads. The text is fixed; only the
 * sysctl keys vary, and they travel as arguments.
 */
export const OBSERVE_SCRIPT = `printf 'addr show\\nroute show table main\\n' | ip -j -batch - && iptables-save -c && echo '${SYSCTL_MARK}' && exec sysctl -e "$@"`;

/** What OBSERVE_SCRIPT prints for these parts (`saveText` empty or ending in a newline): splitObserved's inverse, for made-up kernels. */
export function joinObserved(p: { linksText: string; routes: string; saveText: string; sysctlText: string }): string {
  return `${p.linksText}\n${p.routes}\n${p.saveText}${SYSCTL_MARK}\n${p.sysctlText}`;
}

/** That read of a namespace with no links, routes, rules or sysctls to show. */
export const EMPTY_OBSERVATION = joinObserved({ linksText: '[]', routes: '[]', saveText: '', sysctlText: '' });

/** OBSERVE_SCRIPT's output in its parts. */
export function splitObserved(stdout: string, ns: string | null): { linksText: string; routes: string; saveText: string; sysctlText: string } {
  const lines = stdout.split('\n');
  const mark = lines.indexOf(SYSCTL_MARK, 2);
  if (mark < 0) throw new ApplyError(`the read of namespace ${ns ?? '(this one)'} ended early: no sysctl section in its output`);
  return { linksText: lines[0]!, routes: lines[1]!, saveText: lines.slice(2, mark).join('\n') + '\n', sysctlText: lines.slice(mark + 1).join('\n') };
}

export interface ObserveOptions {
  /** The router shares a namespace of l3ctl's own with the bridges (arp_ignore, bridge netfilter matter). */
  shared?: boolean;
  /** An HA router: whether IPv6 is off in its namespace is read too. */
  ha?: boolean;
  /**
   * The router has IPv6: its IPv6 routes are read too, with IPv6 forwarding
   * and the accept_ra of these devices. (`ip -batch` takes no `-6` per
   * line, so the IPv6 routes are one more read.)
   */
  ipv6?: { devices: string[] };
}

const ACCEPT_RA_RE = /^net\.ipv6\.conf\.(.+)\.accept_ra$/;

/** `sysctl -e KEY…` output (`key = value` lines; keys that do not exist are left out) as a map. */
export function parseNamedSysctls(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) = (.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/**
 * One namespace as the planner needs it. `shared`: a router lives in a
 * namespace of l3ctl's own together with the bridges, whose ARP and bridge
 * netfilter settings then matter.
 */
export async function observeNs(runner: Runner, ns: string | null, opts: ObserveOptions = {}): Promise<ObservedNs> {
  if (ns !== null && !(await runner.namespaces()).has(ns)) return absentNs(ns);
  // One process a namespace (OBSERVE_SCRIPT). A key that is not there is
  // left out: the bridge key unless br_netfilter is loaded ("no bridge
  // netfilter"), a device not made yet, IPv6 absent from the kernel. A
  // router with IPv6 reads its IPv6 routes too.
  const keys = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.promote_secondaries', ...(opts.shared ? ['net.ipv4.conf.all.arp_ignore', 'net.bridge.bridge-nf-call-iptables'] : [])];
  const v6 = opts.ipv6;
  const v6Keys = v6 ? ['net.ipv6.conf.all.forwarding', ...v6.devices.map((d) => `net.ipv6.conf.${d}.accept_ra`)] : [];
  // An HA router: IPv6 must be off. Without IPv6 in the kernel the keys are absent, and there is nothing to turn off.
  const haKeys = opts.ha ? ['net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6'] : [];
  const [read, routes6] = await Promise.all([
    // By name (`-e`: a key that does not exist is left out: no bridge netfilter, a device not made yet, no IPv6).
    runner.run(inNs(ns, ['/bin/sh', '-c', OBSERVE_SCRIPT, 'l3ctl-observe', ...keys, ...v6Keys, ...haKeys]), QUICK),
    v6 ? readRoutes6(runner, ns) : null,
  ]);
  const { linksText, routes, saveText, sysctlText } = splitObserved(read.stdout, ns);
  const links = parseLinks(linksText);
  const named = parseNamedSysctls(sysctlText);
  const off = haKeys.flatMap((k) => named.get(k) ?? []);
  // No IPv6 wanted, but an address of ours left over: its routes are read to be cleaned up with it.
  const leftover = !v6 && [...links.values()].some((l) => isRouterDevice(l.name) && l.addrs.some((a) => a.family === 6));
  const v6Routes = routes6 ?? (leftover ? await readRoutes6(runner, ns) : []);
  const acceptRa = new Map<string, string>();
  for (const [k, val] of named) {
    const m = ACCEPT_RA_RE.exec(k);
    if (m && m[1] !== 'all' && m[1] !== 'default') acceptRa.set(m[1]!, val);
  }
  const bridgeNf = named.get('net.bridge.bridge-nf-call-iptables');
  return {
    ns,
    exists: true,
    links,
    routes: [...parseRoutes(routes), ...v6Routes],
    iptables: parseSave(saveText),
    sysctl: {
      ipForward: named.get('net.ipv4.ip_forward') === '1',
      promoteSecondaries: named.get('net.ipv4.conf.all.promote_secondaries') === '1',
      arpIgnore: opts.shared ? named.get('net.ipv4.conf.all.arp_ignore') ?? null : null,
      bridgeNfCall: opts.shared && bridgeNf !== undefined ? bridgeNf === '1' : null,
      ipv6Forwarding: v6 ? named.get('net.ipv6.conf.all.forwarding') === '1' : null,
      acceptRa,
      ipv6Off: opts.ha && off.length === 2 ? off.every((x) => x === '1') : null,
    },
  };
}

async function readRoutes6(runner: Runner, ns: string | null): Promise<ObservedRoute[]> {
  const r = await runner.run(ipIn(ns, ['-6', '-j', 'route', 'show', 'table', 'main']), QUICK);
  return parseRoutes(r.stdout, 6);
}

const versionRead = new WeakMap<Runner, Promise<string | null>>();

/** `iptables --version`, read once per runner: only needed when no save header tells it. */
export function iptablesVersion(runner: Runner): Promise<string | null> {
  let v = versionRead.get(runner);
  if (!v) {
    v = runner
      .run(['iptables', '--version'], { read: true })
      .then((r) => /(v\d+\.\d+\.\d+(?: \([^)]*\))?)/.exec(r.stdout)?.[1] ?? null)
      .catch(() => null);
    versionRead.set(runner, v);
  }
  return v;
}
