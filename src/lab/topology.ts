// The lab's topology: its names, the l3ctl commands that build it, its test
// hosts (namespaces with one veth on a network's bridge), and the guard that
// keeps it out of a store holding anything else.
import { createHash } from 'node:crypto';
import { UsageError } from '../model/errors.js';
import { networkBridge } from '../model/names.js';
import type { State } from '../model/types.js';
import { observeLinks } from '../linux/observe.js';
import type { Runner } from '../linux/runner.js';

export { LAB_STORE_PATH, ROUTER } from '../model/lab.js';
import { LAB_STORE_PATH, ROUTER } from '../model/lab.js';
export const DEFAULT_PREFIX = 'l3ctl-lab';

// Documentation addresses only (RFC 5737, RFC 3849).
export const EXT = { name: 'lab-ext', cidr: '203.0.113.0/24', gateway: '203.0.113.1' } as const;
export const PRIV = { name: 'lab-priv', cidr: '198.51.100.0/24', gateway: '198.51.100.1' } as const;
/** The networks' IPv6 subnets: the lab is dual-stack; the inside one advertised by radvd for SLAAC. */
export const EXT6 = { cidr: '2001:db8:ff::/64', gateway: '2001:db8:ff::1' } as const;
export const PRIV6 = { cidr: '2001:db8:1::/64', gateway: '2001:db8:1::1' } as const;
export const GATEWAY_IP = '203.0.113.10';
export const GATEWAY_IP6 = '2001:db8:ff::10';
export const FIP = '203.0.113.20';
export const VM1_IP = '198.51.100.5';
export const VM2_IP = '198.51.100.6';
export const ROUTE = { destination: '192.0.2.0/24', nexthop: '198.51.100.254' } as const;

export interface LabNames {
  prefix: string;
  hostNs: string;
  upstream: string;
  vm1: string;
  vm2: string;
  /** Every namespace the lab makes itself (the router's is l3ctl's). */
  all: string[];
}

/** The prefix comes from L3CTL_LAB_PREFIX (hidden; tests use it so they never meet a real lab). */
export function labNames(prefix = process.env.L3CTL_LAB_PREFIX || DEFAULT_PREFIX): LabNames {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(prefix)) {
    throw new UsageError(`invalid lab prefix '${prefix}': expected 1-40 characters of A-Z a-z 0-9 _ . -`);
  }
  const n = { prefix, hostNs: `${prefix}-host`, upstream: `${prefix}-up`, vm1: `${prefix}-vm1`, vm2: `${prefix}-vm2` };
  return { ...n, all: [n.upstream, n.vm1, n.vm2, n.hostNs] };
}

/**
 * Ids derived from the prefix (name-based, UUID version 5 layout): the same
 * lab always gets the same bridges and router namespace, so `--dry-run` can
 * name them before they exist and two labs with different prefixes never meet.
 */
export function labId(prefix: string, what: string): string {
  const h = createHash('sha1').update(`l3ctl-lab:${prefix}:${what}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The l3ctl commands that build the lab, in order; each is idempotent on its own. */
export function buildSteps(names: LabNames): string[][] {
  const id = (w: string) => labId(names.prefix, w);
  return [
    ['config', 'set', 'host_namespace', names.hostNs],
    ['config', 'set', 'external_network_bridge', ''],
    ['network', 'add', EXT.name, '--cidr', EXT.cidr, '--gateway-ip', EXT.gateway, '--external', '--id', id(EXT.name)],
    ['network', 'add', PRIV.name, '--cidr', PRIV.cidr, '--gateway-ip', PRIV.gateway, '--id', id(PRIV.name)],
    ['subnet', 'add', EXT.name, EXT6.cidr, '--gateway-ip', EXT6.gateway, '--id', id(`${EXT.name}-v6`)],
    ['subnet', 'add', PRIV.name, PRIV6.cidr, '--gateway-ip', PRIV6.gateway, '--ipv6-ra-mode', 'slaac', '--ipv6-address-mode', 'slaac', '--id', id(`${PRIV.name}-v6`)],
    ['router', 'add', ROUTER, '--id', id(ROUTER)],
    ['gateway', 'set', ROUTER, EXT.name, '--ip', GATEWAY_IP, '--ip', GATEWAY_IP6],
    ['interface', 'add', ROUTER, PRIV.name, '--ip', PRIV.gateway, '--ip', PRIV6.gateway],
    ['fip', 'associate', FIP, VM1_IP, '--router', ROUTER],
    ['route', 'add', ROUTER, ROUTE.destination, ROUTE.nexthop],
  ];
}

/** The lab's objects that can be in its store. */
const LAB_NETWORKS = new Set<string>([EXT.name, PRIV.name]);

/**
 * Null when `state` holds nothing but (part of) this lab; otherwise why not.
 * The lab deletes its store on `down`, so it must never adopt someone's routers.
 */
export function foreignContent(state: State, names: LabNames): string | null {
  const other = [
    ...state.networks.filter((n) => !LAB_NETWORKS.has(n.name)).map((n) => `network '${n.name}'`),
    ...state.routers.filter((r) => r.name !== ROUTER).map((r) => `router '${r.name}'`),
    ...state.floatingips
      .filter((f) => !state.networks.some((n) => n.id === f.floating_network_id && LAB_NETWORKS.has(n.name)))
      .map((f) => `floating IP ${f.floating_ip_address}`),
  ];
  if (other.length) return `it holds ${other.slice(0, 3).join(', ')}${other.length > 3 ? ', …' : ''}, which the lab did not make`;
  const hostNs = state.config.host_namespace;
  if (hostNs !== undefined && hostNs !== names.hostNs) return `it belongs to the lab in namespace ${hostNs}`;
  return null;
}

/**
 * The lab works only in a store it made: absent, or holding nothing but the
 * lab. `exists`: the file is there (a store the lab made always has the
 * lab's host_namespace: its first command sets it).
 */
export function assertLabStore(state: State, names: LabNames, storePath: string, exists = true): void {
  const why = foreignContent(state, names) ?? (exists && state.config.host_namespace === undefined ? 'the lab did not make it (no host_namespace is set in it)' : null);
  if (why) {
    throw new UsageError(
      `store ${storePath} is not a lab store: ${why}`,
      `the lab needs a store of its own: omit --store (it then uses ${LAB_STORE_PATH}) or pass a new file: l3ctl lab --store /path/to/lab.json up`,
    );
  }
}

export interface TestHost {
  ns: string;
  /** The host-side end of its veth, in the lab's host namespace. */
  veth: string;
  network: string;
  cidr: string;
  gateway: string | null;
  /**
   * IPv6: an address of its own (no DAD) and a route (upstream: the tenant
   * prefix via the router), or `slaac`: its address and default route from
   * the router's advertisements alone (accept_ra 2).
   */
  ipv6?: { cidr: string; route: { dst: string; via: string } } | { slaac: true };
}

export function testHosts(names: LabNames): TestHost[] {
  return [
    { ns: names.upstream, veth: 'veth-up', network: EXT.name, cidr: `${EXT.gateway}/24`, gateway: null, ipv6: { cidr: `${EXT6.gateway}/64`, route: { dst: PRIV6.cidr, via: GATEWAY_IP6 } } },
    { ns: names.vm1, veth: 'veth-vm1', network: PRIV.name, cidr: `${VM1_IP}/24`, gateway: PRIV.gateway },
    // The dual-stack VM.
    { ns: names.vm2, veth: 'veth-vm2', network: PRIV.name, cidr: `${VM2_IP}/24`, gateway: PRIV.gateway, ipv6: { slaac: true } },
  ];
}

const ACCEPT_RA = 'net.ipv6.conf.eth0.accept_ra';
const DISABLE_IPV6 = 'net.ipv6.conf.eth0.disable_ipv6=1';

/** The bridge a lab network's ports hang on: from the store, else from the id the lab would give it. */
export function labBridge(state: State, names: LabNames, network: string): string {
  const n = state.networks.find((x) => x.name === network);
  return networkBridge(n ?? { id: labId(names.prefix, network), bridge: null });
}

const batch = (ns: string, lines: string[]) => ({ argv: ['ip', '-n', ns, '-batch', '-'], input: lines.join('\n') + '\n' });

/** Is the test host exactly as the lab builds it? Reads only. */
async function hostInPlace(runner: Runner, h: TestHost, hostNs: string, bridge: string): Promise<boolean> {
  const nss = await runner.namespaces();
  if (!nss.has(h.ns) || !nss.has(hostNs)) return false;
  const side = (await observeLinks(runner, hostNs)).get(h.veth);
  if (!side || !side.up || side.master !== bridge) return false;
  const eth0 = (await observeLinks(runner, h.ns)).get('eth0');
  const [addr, len] = h.cidr.split('/');
  if (!eth0 || !eth0.up || !eth0.addrs.some((a) => a.local === addr && String(a.prefixlen) === len)) return false;
  if (!(await ipv6InPlace(runner, h, eth0.addrs))) return false;
  if (!h.gateway) return true;
  const r = await runner.run(['ip', '-n', h.ns, '-j', 'route', 'show', 'default'], { read: true });
  const routes = (r.stdout.trim() ? JSON.parse(r.stdout) : []) as { gateway?: string }[];
  return routes.some((x) => x.gateway === h.gateway);
}

async function ipv6InPlace(runner: Runner, h: TestHost, addrs: { local: string; prefixlen: number }[]): Promise<boolean> {
  const v6 = h.ipv6;
  if (!v6) return true;
  if ('slaac' in v6) return (await runner.run(['ip', 'netns', 'exec', h.ns, 'sysctl', '-n', ACCEPT_RA], { read: true, okCodes: [1, 255] })).stdout.trim() === '2';
  const [addr, len] = v6.cidr.split('/');
  if (!addrs.some((a) => a.local === addr && String(a.prefixlen) === len)) return false;
  const r = await runner.run(['ip', '-n', h.ns, '-6', '-j', 'route', 'show', v6.route.dst], { read: true });
  return ((r.stdout.trim() ? JSON.parse(r.stdout) : []) as { gateway?: string }[]).some((x) => x.gateway === v6.route.via);
}

/**
 * Make the test host as the lab wants it: nothing when it already is,
 * otherwise (re)built from scratch. Returns what it did.
 */
export async function ensureTestHost(runner: Runner, h: TestHost, hostNs: string, bridge: string): Promise<'in place' | 'created'> {
  if (await hostInPlace(runner, h, hostNs, bridge)) return 'in place';
  const nss = await runner.namespaces();
  // Remove a half-built one. The host end first: a veth pair dies with its
  // namespace only once the kernel gets round to it, and the name is reused.
  if (nss.has(hostNs) && (await observeLinks(runner, hostNs)).has(h.veth)) {
    await runner.run(['ip', '-n', hostNs, 'link', 'del', h.veth]);
  }
  if (nss.has(h.ns)) await runner.run(['ip', 'netns', 'del', h.ns]);
  await runner.run(['ip', 'netns', 'add', h.ns]);
  const host = batch(hostNs, [
    `link add ${h.veth} type veth peer name eth0 netns ${h.ns}`,
    `link set ${h.veth} master ${bridge}`,
    `link set ${h.veth} up`,
  ]);
  await runner.run(host.argv, { input: host.input });
  const v6 = h.ipv6;
  // Before the link comes up: it then asks for an advertisement at once (no 30-100 s wait for radvd's next one).
  if (v6 && 'slaac' in v6) await runner.run(['ip', 'netns', 'exec', h.ns, 'sysctl', '-q', '-w', `${ACCEPT_RA}=2`]);
  // An IPv4-only host stays so: on the dual-stack network it would otherwise form a SLAAC address whenever an advertisement comes.
  if (!v6) await runner.run(['ip', 'netns', 'exec', h.ns, 'sysctl', '-q', '-w', DISABLE_IPV6]);
  const inside = batch(h.ns, [
    'link set lo up',
    `addr add ${h.cidr} dev eth0`,
    ...(v6 && 'cidr' in v6 ? [`addr add ${v6.cidr} dev eth0 nodad`] : []),
    'link set eth0 up',
    ...(h.gateway ? [`route add default via ${h.gateway}`] : []),
    ...(v6 && 'route' in v6 ? [`route add ${v6.route.dst} via ${v6.route.via}`] : []),
  ]);
  await runner.run(inside.argv, { input: inside.input });
  return 'created';
}
