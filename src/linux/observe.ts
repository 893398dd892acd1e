// What the kernel reports now, parsed once per pass into typed, normalised
// observations: `ip -j addr`, `ip -j route`, `iptables-save -c`, sysctls. A
// namespace that vanished is a result (exists: false), not a crash.
import { canonicalRouteDst } from '../model/addr.js';
import { emptySave, parseSave, type ParsedSave } from './iptables.js';
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
  /**
   * LOWER_UP: something holds the other side (a veth peer up, ovs-vswitchd
   * on an internal port's tap). An OVS port stranded by an ovs-vswitchd
   * restart is up without it.
   */
  carrier: boolean;
  master: string | null;
  addrs: ObservedAddr[];
}

export interface ObservedRoute {
  /** Canonical CIDR: `ip -j` prints `192.0.2.5` for a /32 and `default` for 0/0. */
  dst: string;
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

const inNs = (ns: string | null, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);
const ipIn = (ns: string | null, args: string[]) => (ns ? ['ip', '-n', ns, ...args] : ['ip', ...args]);

interface IpJsonLink {
  ifname: string;
  address?: string;
  flags?: string[];
  master?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

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
      addrs: (l.addr_info ?? [])
        .filter((a) => a.family === 'inet')
        .map((a) => ({ local: a.local, prefixlen: a.prefixlen, scope: a.scope })),
    });
  }
  return out;
}

export function parseRoutes(stdout: string): ObservedRoute[] {
  const list = stdout.trim() ? (JSON.parse(stdout) as Record<string, string>[]) : [];
  return list.map((x) => ({
    dst: canonicalRouteDst(x.dst ?? 'default'),
    gateway: x.gateway ?? null,
    dev: x.dev ?? null,
    protocol: x.protocol ?? null,
    scope: x.scope ?? null,
    prefsrc: x.prefsrc ?? null,
  }));
}

/** Links (with addresses) of a namespace; ns null: the namespace l3ctl runs in. */
export async function observeLinks(runner: Runner, ns: string | null): Promise<Map<string, ObservedLink>> {
  const r = await runner.run(ipIn(ns, ['-j', 'addr', 'show']), { read: true });
  return parseLinks(r.stdout);
}

export async function observeHost(runner: Runner, hostNs: string | null): Promise<ObservedHost> {
  if (hostNs && !(await runner.namespaces()).has(hostNs)) return { ns: hostNs, exists: false, links: new Map() };
  return { ns: hostNs, exists: true, links: await observeLinks(runner, hostNs) };
}

export function absentNs(ns: string | null): ObservedNs {
  return { ns, exists: false, links: new Map(), routes: [], iptables: emptySave(), sysctl: { ipForward: false, promoteSecondaries: false, arpIgnore: null, bridgeNfCall: null, ipv6Off: false } };
}

/**
 * One namespace as the planner needs it. `shared`: a router lives in a
 * namespace of l3ctl's own together with the bridges, whose ARP and bridge
 * netfilter settings then matter.
 */
export async function observeNs(runner: Runner, ns: string | null, opts: { shared?: boolean; ha?: boolean } = {}): Promise<ObservedNs> {
  if (ns !== null && !(await runner.namespaces()).has(ns)) return absentNs(ns);
  // Three processes a namespace: links and routes in one `ip -batch` (one
  // JSON array a line), our rules, and the sysctls. In a namespace shared
  // with the bridges, the bridge key is absent unless br_netfilter is loaded:
  // sysctl then prints the others and fails, which means "no bridge netfilter".
  const keys = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.promote_secondaries', ...(opts.shared ? ['net.ipv4.conf.all.arp_ignore', 'net.bridge.bridge-nf-call-iptables'] : [])];
  const [ip, save, sysctl, ipv6] = await Promise.all([
    runner.run(ipIn(ns, ['-j', '-batch', '-']), { read: true, input: 'addr show\nroute show table main\n' }),
    runner.run(inNs(ns, ['iptables-save', '-c']), { read: true }),
    runner.run(inNs(ns, ['sysctl', '-n', ...keys]), { read: true, okCodes: opts.shared ? [1, 255] : [] }),
    // An HA router: IPv6 must be off. Without IPv6 in the kernel the keys are absent: sysctl fails, and there is nothing to turn off.
    opts.ha ? runner.run(inNs(ns, ['sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6']), { read: true, okCodes: [1, 255] }) : null,
  ]);
  const v6 = ipv6 ? ipv6.stdout.trim().split('\n').map((x) => x.trim()).filter(Boolean) : null;
  const [links = '', routes = ''] = ip.stdout.split('\n');
  const v = sysctl.stdout.trim().split('\n').map((x) => x.trim());
  return {
    ns,
    exists: true,
    links: parseLinks(links),
    routes: parseRoutes(routes),
    iptables: parseSave(save.stdout),
    sysctl: {
      ipForward: v[0] === '1',
      promoteSecondaries: v[1] === '1',
      arpIgnore: opts.shared ? v[2] ?? null : null,
      bridgeNfCall: opts.shared && v[3] !== undefined ? v[3] === '1' : null,
      ipv6Off: v6 && v6.length === 2 ? v6.every((x) => x === '1') : null,
    },
  };
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
