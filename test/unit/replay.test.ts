// Replay (Tailscale's TestRouterStates): a sequence of desired states made
// pseudorandomly from a fixed seed (routers, ports, gateways, floating IPs,
// routes, enable/disable, config changes) is driven through the agent's pass
// (observe → plan → apply, the real functions) against the fake system.
// After each state the whole fake kernel must equal what an expectation
// derived from the state alone says (written here from the design, without
// the planner, the NAT generator or the daemon code: agent-behaviour.md for
// the kernel, the README for the metadata proxy's and radvd's processes and
// files, issue 19 for IPv6), and planning again must give nothing. Two of the
// internal networks and the external one are dual-stack, one internal IPv6
// subnet with SLAAC router advertisements.
// The same states are then replayed in shuffled orders: every state must be
// reachable from every other.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkState } from '../../src/model/validate.js';
import { emptyState, type FixedIp, type Network, type Port, type Router, type State } from '../../src/model/types.js';
import path from 'node:path';
import { FakeSystem } from '../helpers/fakesys.js';
import { converge, replan } from '../helpers/world.js';
import { net } from '../helpers/one-subnet.js';

const SEED = 32;
const STATES = 40;
const HOST = 'l3ctl-t-unit-replay';

/** A small, fast, seedable generator (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- addresses, written out by hand so the expectation needs no library ----

const ipInt = (ip: string) => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const intIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
const cidrOf = (c: string) => ({ base: ipInt(c.split('/')[0]!), len: Number(c.split('/')[1]) });
const inCidr = (c: string, ip: string) => {
  const { base, len } = cidrOf(c);
  return Math.floor(ipInt(ip) / 2 ** (32 - len)) === Math.floor(base / 2 ** (32 - len));
};
const bcast = (c: string) => intIp(cidrOf(c).base + 2 ** (32 - cidrOf(c).len) - 1);
const host = (c: string, k: number) => intIp(cidrOf(c).base + k);

// ---- the generator of desired states ----

// IPv6 subnets are /64s written `P::/64`; a port's IPv6 address is `P::` and
// the hexadecimal of its IPv4 address's offset in its subnet (one per port,
// as the IPv4 one), so the expectation can tell everything from the prefix.
const v6Subnet = (netId: string, prefix: string, ra: 'slaac' | null, gateway: string | null) => ({
  id: `${netId.slice(0, 8)}-6666-4666-8666-${netId.slice(-12)}`, cidr: `${prefix}/64`, gateway_ip: gateway, ip_version: 6 as const, ipv6_ra_mode: ra, ipv6_address_mode: ra,
});
const dual = (n: Network, prefix: string, ra: 'slaac' | null, gateway: string | null): Network => ({ ...n, subnets: [...n.subnets, v6Subnet(n.id, prefix, ra, gateway)] });
const EXT_ID = 'e0000000-0000-4000-8000-000000000001';
const EXT: Network = dual(net({ id: EXT_ID, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }), '2001:db8:ff::', null, '2001:db8:ff::1');
const INTERNAL: Network[] = ['198.51.100.0/26', '198.51.100.64/26', '198.51.100.128/26', '192.0.2.0/26', '192.0.2.64/26'].map((cidr, i) => {
  const n = net({ id: `a${i}000000-0000-4000-8000-00000000000${i}`, name: `net${i}`, cidr, gateway_ip: null, external: false, bridge: null });
  // net0: router advertisements (SLAAC); net3: IPv6 addressed some other way (no RA mode).
  return i === 0 ? dual(n, '2001:db8:10::', 'slaac', null) : i === 3 ? dual(n, '2001:db8:13::', null, null) : n;
});
const ROUTE_DSTS = ['192.0.2.128/26', '192.0.2.192/27', '192.0.2.224/32', '192.0.2.240/28', '2001:db8:99::/64', '2001:db8:98::5/128'];

const v4Of = (p: Port) => p.fixed_ips[0]!.ip_address;
const v4Cidr = (n: Network) => n.subnets[0]!.cidr;
const v6Prefix = (n: Network) => n.subnets[1]?.cidr.slice(0, -3) ?? null;
const isV6 = (x: string) => x.includes(':');
/** P::k for offset k. */
const host6 = (prefix: string, k: number) => `${prefix}${k.toString(16)}`;
/** The port's addresses: the IPv4 one given, and on a dual-stack network the IPv6 one of the same offset. */
function fixedIps(n: Network, ip4: string): FixedIp[] {
  const k = ipInt(ip4) - cidrOf(v4Cidr(n)).base;
  const prefix = v6Prefix(n);
  return [{ subnet_id: n.subnets[0]!.id, ip_address: ip4 }, ...(prefix ? [{ subnet_id: n.subnets[1]!.id, ip_address: host6(prefix, k) }] : [])];
}

class Generator {
  private n = 0;
  /** The name of the last change made. */
  last = '';
  private readonly used = new Set<string>();
  constructor(private readonly rnd: () => number) {}

  pick<T>(xs: T[]): T | undefined {
    return xs.length ? xs[Math.floor(this.rnd() * xs.length)] : undefined;
  }

  /** A fresh UUID whose first 11 characters (the device names' part) are unique. */
  id(): string {
    this.n++;
    const h = (this.n + 0x10000000).toString(16);
    return `${h}-00${h.slice(-2)}-4000-8000-${String(this.n).padStart(12, '0')}`;
  }

  mac(): string {
    this.n++;
    return `fa:16:3e:00:${(this.n >> 8).toString(16).padStart(2, '0')}:${(this.n & 255).toString(16).padStart(2, '0')}`;
  }

  /** A free host address of `cidr` from offset `from` on. */
  free(s: State, cidr: string, from: number): string {
    const used = new Set([
      ...s.routers.flatMap((r) => [...r.interfaces, ...(r.gateway ? [r.gateway] : [])].map(v4Of)),
      ...s.floatingips.flatMap((f) => [f.floating_ip_address, f.fixed_ip_address ?? '']),
      ...s.routers.flatMap((r) => r.routes.map((x) => x.nexthop)),
      ...s.networks.map((x) => x.subnets[0]!.gateway_ip ?? ''),
    ]);
    for (let k = from; ; k++) if (!used.has(host(cidr, k))) return host(cidr, k);
  }

  port(s: State, net: Network, from: number): Port {
    return { id: this.id(), network_id: net.id, fixed_ips: fixedIps(net, this.free(s, v4Cidr(net), from)), mac_address: this.mac(), admin_state_up: true };
  }

  /** One random change to `s`; false when it does not apply. */
  step(s: State, growing: boolean): boolean {
    const r = this.pick(s.routers);
    const netOf = (p: Port) => s.networks.find((x) => x.id === p.network_id)!;
    const cidr = (p: Port) => v4Cidr(netOf(p));
    // [weight while growing, weight while churning, name, change].
    const ops: [number, number, string, () => boolean][] = [
      [1, 0.7, 'router-add', () => {
        if (s.routers.length >= 3) return false;
        s.routers.push({ id: this.id(), name: `r${this.n}`, admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null });
        return true;
      }],
      [0.5, 0.7, 'router-delete', () => {
        if (!r) return false;
        s.routers = s.routers.filter((x) => x !== r);
        s.floatingips = s.floatingips.filter((f) => f.router_id !== r.id);
        return true;
      }],
      [0.7, 1.5, 'router-toggle', () => !!r && ((r.admin_state_up = !r.admin_state_up), true)],
      [3, 1.5, 'port-add', () => {
        const net = this.pick(INTERNAL.filter((x) => !r?.interfaces.some((p) => p.network_id === x.id)));
        if (!r || !net) return false;
        r.interfaces.push(this.port(s, net, 1));
        return true;
      }],
      [1, 2, 'port-remove', () => {
        const p = this.pick(r?.interfaces ?? []);
        if (!r || !p) return false;
        r.interfaces = r.interfaces.filter((x) => x !== p);
        return true;
      }],
      [0.7, 1.5, 'port-toggle', () => {
        const p = this.pick(r?.interfaces ?? []);
        return !!p && ((p.admin_state_up = !p.admin_state_up), true);
      }],
      [1, 2.5, 'port-replumb', () => {
        // Re-plumbed under the same port id: a new address in its subnet, a new MAC.
        const p = this.pick(r?.interfaces ?? []);
        if (!p) return false;
        Object.assign(p, { fixed_ips: fixedIps(netOf(p), this.free(s, cidr(p), 1)), mac_address: this.mac() });
        return true;
      }],
      [2, 1, 'gateway-set', () => {
        if (!r) return false;
        r.gateway = this.port(s, EXT, 10);
        return true;
      }],
      [0.4, 1, 'gateway-clear', () => {
        if (!r?.gateway) return false;
        r.gateway = null;
        s.floatingips = s.floatingips.filter((f) => f.router_id !== r.id);
        return true;
      }],
      [1, 2, 'gateway-replumb', () => {
        if (!r?.gateway) return false;
        r.gateway.fixed_ips = fixedIps(EXT, this.free(s, v4Cidr(EXT), 10));
        return true;
      }],
      [4, 1.5, 'fip-add', () => {
        const p = this.pick(r?.interfaces ?? []);
        if (!r?.gateway || !p) return false;
        s.floatingips.push({ id: this.id(), floating_ip_address: this.free(s, v4Cidr(EXT), 100), floating_network_id: EXT.id, fixed_ip_address: this.free(s, cidr(p), 30), router_id: r.id });
        return true;
      }],
      [0.7, 2, 'fip-delete', () => {
        const f = this.pick(s.floatingips);
        if (!f) return false;
        s.floatingips = s.floatingips.filter((x) => x !== f);
        return true;
      }],
      [1.5, 2, 'fip-remap', () => {
        // Remapped to another fixed IP behind the same router.
        const f = this.pick(s.floatingips);
        const owner = s.routers.find((x) => x.id === f?.router_id);
        const p = this.pick(owner?.interfaces ?? []);
        if (!f || !p) return false;
        f.fixed_ip_address = this.free(s, cidr(p), 30);
        return true;
      }],
      [3, 1.5, 'route-add', () => {
        const dst = this.pick(ROUTE_DSTS.filter((d) => !r?.routes.some((x) => x.destination === d)));
        // An IPv6 destination goes via a host of an IPv6 subnet.
        const p = this.pick(r?.interfaces.filter((x) => x.admin_state_up && (!dst || !isV6(dst) || v6Prefix(netOf(x)))) ?? []);
        if (!r || !dst || !p) return false;
        const k = 50 + Math.floor(this.rnd() * 5);
        r.routes.push({ destination: dst, nexthop: isV6(dst) ? host6(v6Prefix(netOf(p))!, k) : host(cidr(p), k) });
        return true;
      }],
      [1, 2, 'route-remove', () => {
        const x = this.pick(r?.routes ?? []);
        if (!r || !x) return false;
        r.routes = r.routes.filter((y) => y !== x);
        return true;
      }],
      // One change per config key, so that each shows up while churning (the metadata proxy starts and stops under every kind of router).
      ...([['send_arp_for_ha', '0', '3'], ['use_random_fully', 'false', 'true'], ['enable_metadata_proxy', 'false', 'true']] as const).map(
        ([k, a, b]): [number, number, string, () => boolean] => [0.4, 0.6, `config ${k}`, () => ((s.config[k] = s.config[k] === a ? b : a), true)],
      ),
    ];
    // While churning, a change not made yet is often tried first: every kind shows up.
    const unused = ops.filter((o) => !this.used.has(o[2]));
    if (!growing && unused.length && this.rnd() < 0.5) {
      const o = this.pick(unused)!;
      this.last = o[2];
      const done = o[3]();
      if (done) this.used.add(o[2]);
      return done;
    }
    const weight = (o: (typeof ops)[number]) => (growing ? o[0] : o[1]);
    let x = this.rnd() * ops.reduce((a, o) => a + weight(o), 0);
    for (const o of ops) {
      const [, , name, op] = o;
      x -= weight(o);
      if (x >= 0) continue;
      this.last = name;
      const done = op();
      if (done) this.used.add(name);
      return done;
    }
    return false;
  }
}

/**
 * What issue 10 asks validation to refuse on top of today's checkState:
 * an extra route whose nexthop is not on an admin-up port of its router
 * (item 7: the kernel refuses such a route), or whose destination overlaps
 * a subnet of the router (item 2).
 */
function intended(s: State): boolean {
  const nets = (r: Router, up: boolean) => r.interfaces.filter((p) => !up || p.admin_state_up).map((p) => s.networks.find((n) => n.id === p.network_id)!);
  return s.routers.every((r) => r.routes.every((x) => {
    const own = r.interfaces.some((p) => p.fixed_ips.some((f) => f.ip_address === x.nexthop));
    // IPv6: every prefix here is a /64, and no destination is inside one.
    if (isV6(x.destination)) return !own && nets(r, true).some((n) => v6Prefix(n) && x.nexthop.startsWith(v6Prefix(n)!));
    return nets(r, true).some((n) => inCidr(v4Cidr(n), x.nexthop)) && !own && nets(r, false).every((n) => !overlaps(v4Cidr(n), x.destination));
  }));
}
const overlaps = (a: string, b: string) => inCidr(a, b.split('/')[0]!) || inCidr(b, a.split('/')[0]!);

/** The changes that made each state, for the generator's own test. */
const madeBy = new WeakMap<State, string>();

function states(seed: number, count: number): State[] {
  const g = new Generator(prng(seed));
  let s = emptyState();
  s.config = { host_namespace: HOST, external_network_bridge: '', send_arp_for_ha: '3' };
  s.networks = [EXT, ...INTERNAL];
  s.routers.push({ id: g.id(), name: 'r0', admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null });
  const out: State[] = [];
  let tries = 0;
  while (out.length < count) {
    assert.ok(++tries < count * 100, 'the generator keeps making invalid states');
    const next = structuredClone(s);
    // The first half grows the world, the second half churns it.
    if (!g.step(next, out.length < count / 2)) continue;
    try {
      checkState(next);
    } catch {
      continue;
    }
    if (!intended(next)) continue;
    s = next;
    const copy = structuredClone(s);
    madeBy.set(copy, g.last);
    out.push(copy);
  }
  return out;
}

// ---- the expectation: the kernel this state asks for, in the fake's text ----

const short = (id: string) => id.slice(0, 11);
const bridgeOf = (netId: string) => `brq${short(netId)}`;
const SYSCTL_DEFAULTS = { 'net.bridge.bridge-nf-call-iptables': '1', 'net.ipv4.conf.all.arp_ignore': '0', 'net.ipv4.conf.all.promote_secondaries': '0', 'net.ipv4.ip_forward': '0', 'net.ipv6.conf.all.disable_ipv6': '0', 'net.ipv6.conf.all.forwarding': '0', 'net.ipv6.conf.default.disable_ipv6': '0' };
const sysctlLines = (v: Record<string, string>) => Object.entries(v).map(([k, x]) => `  sysctl ${k}=${x}`);
const LO = ['  link lo loopback up', '    inet 127.0.0.1/8 scope host'];
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Kernel dump order as a sortable key: IPv4 before IPv6, then by address, then prefix length. */
const routeKey = (dst: string, v6: boolean) => {
  if (v6) {
    const [ip, len] = dst === 'default' ? ['::', '0'] : dst.includes('/') ? dst.split('/') : [dst, '128'];
    const [head, tail] = ip!.split('::').map((x) => (x ? x.split(':') : []));
    const groups = [...head!, ...Array<string>(8 - head!.length - (tail?.length ?? 0)).fill('0'), ...(tail ?? [])];
    return `6 ${groups.map((g) => g.padStart(4, '0')).join('')} ${len!.padStart(3, '0')}`;
  }
  const [ip, len] = dst === 'default' ? ['0.0.0.0', '0'] : dst.includes('/') ? dst.split('/') : [dst, '32'];
  return `4 ${String(ipInt(ip!)).padStart(10, '0')} ${len!.padStart(3, '0')}`;
};

/**
 * The metadata proxy of a handled router, by the README: with
 * enable_metadata_proxy on (the default) and at least one internal port (one
 * that is up: a port set down is unplugged), one haproxy in the router's
 * namespace, its files in `<store>.d/routers/<router id>/`.
 */
const proxied = (s: State, r: Router) => s.config.enable_metadata_proxy !== 'false' && r.interfaces.some((p) => p.admin_state_up);
const proxyDir = (storePath: string, r: Router) => `${path.resolve(storePath)}.d/routers/${r.id}`;
const proxyArgv = (dir: string) => `haproxy -f ${dir}/haproxy.conf -p ${dir}/haproxy.pid -D`;

/**
 * radvd of a handled router, by issue 19: one in its namespace when an
 * internal port that is up has an address on an IPv6 subnet with an RA mode
 * (here net0's), its files beside the proxy's.
 */
const advertised = (s: State, r: Router) => r.interfaces.some((p) => p.admin_state_up && p.network_id === INTERNAL[0]!.id);
const radvdArgv = (dir: string) => `radvd -C ${dir}/radvd.conf -p ${dir}/radvd.pid -m logfile -l ${dir}/radvd.log`;

/**
 * What IPv6 leaves behind where it is no longer wanted (forwarding on,
 * accept_ra 0: never turned back, as Neutron) is not the state's to say: the
 * kernel's value then, for those keys only.
 */
interface Leftovers {
  forwarding(ns: string): string;
  acceptRa(ns: string, dev: string): string;
}

function expectedKernel(s: State, storePath: string, left: Leftovers): string {
  const cfg = { randomFully: s.config.use_random_fully !== 'false', metadata: s.config.enable_metadata_proxy !== 'false' };
  const net = (id: string) => s.networks.find((n) => n.id === id)!;
  const up = s.routers.filter((r) => r.admin_state_up);
  const ports = (r: Router) => [...r.interfaces.filter((p) => p.admin_state_up).map((p) => ({ p, dev: `qr-${short(p.id)}` })), ...(r.gateway ? [{ p: r.gateway, dev: `qg-${short(r.gateway.id)}` }] : [])];
  const out: string[] = [];

  out.push('netns (root)', ...LO, ...sysctlLines(SYSCTL_DEFAULTS));

  const hostLinks = [
    ...s.networks.map((n) => `  link ${bridgeOf(n.id)} bridge up disable_ipv6=1`),
    ...up.flatMap((r) => ports(r).map(({ p, dev }) => `  link tap${short(p.id)} veth up master=${bridgeOf(p.network_id)} peer=${dev}@qrouter-${r.id}`)),
  ];
  out.push(`netns ${HOST}`, ...[...hostLinks, LO[0]!].sort(byText).flatMap((l) => (l === LO[0] ? LO : [l])), ...sysctlLines(SYSCTL_DEFAULTS));

  for (const r of [...up].sort((a, b) => byText(a.id, b.id))) {
    const ns = `qrouter-${r.id}`;
    const fips = r.gateway ? s.floatingips.filter((f) => f.router_id === r.id && f.fixed_ip_address).sort((a, b) => ipInt(a.floating_ip_address) - ipInt(b.floating_ip_address)) : [];
    // A router with an IPv6 address anywhere: IPv6 forwarding on, accept_ra 0 on every port (the
    // upstream names the IPv6 gateway, so the gateway learns nothing from advertisements either).
    const v6 = ports(r).some(({ p }) => p.fixed_ips.some((f) => isV6(f.ip_address)));
    const links = ports(r).map(({ p, dev }) => {
      const c = v4Cidr(net(p.network_id));
      const addrs = [
        `inet ${v4Of(p)}/${cidrOf(c).len} brd ${bcast(c)}`,
        ...(dev.startsWith('qg-') ? fips.map((f) => `inet ${f.floating_ip_address}/32 brd ${f.floating_ip_address}`) : []),
      ].sort(byText);
      const addrs6 = p.fixed_ips.filter((f) => isV6(f.ip_address)).map((f) => `inet6 ${f.ip_address}/64`).sort(byText);
      const ra = v6 ? '0' : left.acceptRa(ns, dev);
      return { dev, text: [`  link ${dev} veth up peer=tap${short(p.id)}@${HOST} mac=${p.mac_address}${ra === '1' ? '' : ` accept_ra=${ra}`}`, ...[...addrs, ...addrs6].map((a) => `    ${a} scope global`)] };
    });
    const routes = ports(r).flatMap(({ p, dev }) => {
      const n = net(p.network_id);
      const six = p.fixed_ips.some((f) => isV6(f.ip_address)) ? [{ dst: `${v6Prefix(n)}/64`, v6: true, text: `${v6Prefix(n)}/64 dev ${dev} proto kernel metric 256 pref medium` }] : [];
      return [{ dst: v4Cidr(n), v6: false, text: `${v4Cidr(n)} dev ${dev} proto kernel scope link src ${v4Of(p)}` }, ...six];
    });
    const qg = r.gateway ? `qg-${short(r.gateway.id)}` : null;
    if (r.gateway && qg) {
      routes.push({ dst: 'default', v6: false, text: `default via ${net(r.gateway.network_id).subnets[0]!.gateway_ip} dev ${qg}` });
      if (r.gateway.fixed_ips.some((f) => isV6(f.ip_address))) routes.push({ dst: 'default', v6: true, text: `default via ${net(r.gateway.network_id).subnets[1]!.gateway_ip} dev ${qg} metric 1024 pref medium` });
    }
    for (const x of r.routes) {
      if (isV6(x.destination)) {
        const via = ports(r).find(({ p }) => p.fixed_ips.some((f) => isV6(f.ip_address)) && x.nexthop.startsWith(v6Prefix(net(p.network_id))!))!;
        const dst = x.destination.endsWith('/128') ? x.destination.slice(0, -4) : x.destination;
        routes.push({ dst, v6: true, text: `${dst} via ${x.nexthop} dev ${via.dev} metric 1024 pref medium` });
        continue;
      }
      const via = ports(r).find(({ p }) => inCidr(v4Cidr(net(p.network_id)), x.nexthop))!;
      const dst = x.destination.endsWith('/32') ? x.destination.slice(0, -3) : x.destination;
      routes.push({ dst, v6: false, text: `${dst} via ${x.nexthop} dev ${via.dev}` });
    }
    out.push(
      `netns ${ns}`,
      ...[{ dev: 'lo', text: LO }, ...links].sort((a, b) => byText(a.dev, b.dev)).flatMap((l) => l.text),
      ...routes.sort((a, b) => byText(routeKey(a.dst, a.v6), routeKey(b.dst, b.v6))).map((x) => `  route ${x.text}`),
      ...sysctlLines({ ...SYSCTL_DEFAULTS, 'net.ipv4.conf.all.promote_secondaries': '1', 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': v6 ? '1' : left.forwarding(ns) }),
      ...iptables(r, fips.map((f) => ({ fip: f.floating_ip_address, fixed: f.fixed_ip_address! })), qg, cfg, s),
      ...[
        ...(proxied(s, r) ? [`  process ${proxyArgv(proxyDir(storePath, r))}`] : []),
        ...(advertised(s, r) ? [`  process ${radvdArgv(proxyDir(storePath, r))}`] : []),
      ].sort(byText),
    );
  }
  // Only the daemons of routers handled now have files: a stopped one's are removed (its directory once empty).
  const files = up
    .filter((r) => proxied(s, r) || advertised(s, r))
    .sort((a, b) => byText(proxyDir(storePath, a), proxyDir(storePath, b)))
    .flatMap((r) => {
      const d = proxyDir(storePath, r);
      const names = [...(proxied(s, r) ? ['haproxy.conf', 'haproxy.loaded', 'haproxy.pid'] : []), ...(advertised(s, r) ? ['radvd.conf', 'radvd.loaded', 'radvd.pid'] : [])];
      return [`  dir ${d}`, ...names.sort(byText).map((f) => `  file ${d}/${f}`)];
    });
  if (files.length) out.push('files', ...files);
  return out.join('\n') + '\n';
}

/** Our iptables section as agent-behaviour.md describes it, as the fake prints its tables. */
function iptables(r: Router, fips: { fip: string; fixed: string }[], qg: string | null, cfg: { randomFully: boolean; metadata: boolean }, s: State): string[] {
  const internal = r.interfaces.filter((p) => p.admin_state_up).map((p) => v4Cidr(s.networks.find((n) => n.id === p.network_id)!)).sort((a, b) => cidrOf(a).base - cidrOf(b).base);
  const rf = cfg.randomFully ? ' --random-fully' : '';
  const metadata = cfg.metadata && internal.length > 0;
  const gw = r.gateway ? v4Of(r.gateway) : undefined;
  const chain = (name: string, rules: string[], policy?: string) => [`    chain ${name}${policy ? ` ${policy}` : ''}`, ...rules.map((x) => `      -A ${name} ${x}`)];
  return [
    '  table filter',
    ...chain('INPUT', ['-j l3ctl-INPUT'], 'ACCEPT'),
    ...chain('FORWARD', ['-j l3ctl-filter-top', '-j l3ctl-FORWARD'], 'ACCEPT'),
    ...chain('OUTPUT', ['-j l3ctl-filter-top', '-j l3ctl-OUTPUT'], 'ACCEPT'),
    ...chain('l3ctl-FORWARD', []),
    // 127.0.0.1 may reach the proxy; any other connection to its port that was not redirected is dropped.
    ...chain('l3ctl-INPUT', metadata ? ['-d 127.0.0.1/32 -p tcp -m tcp --dport 9697 -j ACCEPT', '-p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP'] : []),
    ...chain('l3ctl-OUTPUT', []),
    ...chain('l3ctl-filter-top', ['-j l3ctl-local']),
    ...chain('l3ctl-local', []),
    '  table nat',
    ...chain('PREROUTING', ['-j l3ctl-PREROUTING'], 'ACCEPT'),
    ...chain('INPUT', [], 'ACCEPT'),
    ...chain('OUTPUT', ['-j l3ctl-OUTPUT'], 'ACCEPT'),
    ...chain('POSTROUTING', ['-j l3ctl-POSTROUTING', '-j l3ctl-postrouting-bottom'], 'ACCEPT'),
    ...chain('l3ctl-OUTPUT', fips.map((f) => `-d ${f.fip}/32 -j DNAT --to-destination ${f.fixed}`)),
    ...chain('l3ctl-POSTROUTING', qg ? [`! -i ${qg} ! -o ${qg} -m conntrack ! --ctstate DNAT -j ACCEPT`] : []),
    ...chain('l3ctl-PREROUTING', [
      ...(metadata ? ['-d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697'] : []),
      ...fips.map((f) => `-d ${f.fip}/32 -j DNAT --to-destination ${f.fixed}`),
    ]),
    ...chain('l3ctl-float-snat', fips.map((f) => `-s ${f.fixed}/32 -j SNAT --to-source ${f.fip}${rf}`)),
    ...chain('l3ctl-postrouting-bottom', ['-j l3ctl-snat']),
    ...chain('l3ctl-snat', ['-j l3ctl-float-snat', ...(qg ? [...internal.map((c) => `-s ${c} -j SNAT --to-source ${gw}${rf}`), `-o ${qg} -j SNAT --to-source ${gw}${rf}`] : [])]),
  ];
}

// ---- the replay ----

function shuffled<T>(xs: T[], rnd: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const describeState = (s: State) =>
  s.routers.map((r) => `${r.name}${r.admin_state_up ? '' : '(down)'}: ${r.interfaces.length} ports${r.gateway ? ', gw' : ''}, ${s.floatingips.filter((f) => f.router_id === r.id).length} fips, ${r.routes.length} routes`).join('; ') +
  ` [${Object.entries(s.config).filter(([k]) => k !== 'host_namespace').map(([k, v]) => `${k}=${v}`).join(' ')}]`;

const leftovers = (f: FakeSystem): Leftovers => ({
  forwarding: (ns) => f.sysctl(ns, 'net.ipv6.conf.all.forwarding') ?? '?',
  acceptRa: (ns, dev) => f.link(ns, dev)?.acceptRa ?? '?',
});

async function replay(f: FakeSystem, seq: State[], label: string): Promise<void> {
  for (const [i, s] of seq.entries()) {
    const where = `${label}, state ${i + 1}/${seq.length}: ${describeState(s)}`;
    await converge(f, s);
    assert.equal(f.toString({ counters: false }), expectedKernel(s, f.storePath, leftovers(f)), where);
    const again = await replan(f, s);
    assert.deepEqual(again, [], `${where}: planning again is not empty`);
    f.verify();
  }
}

describe('replay of pseudorandom desired states', () => {
  const seq = states(SEED, STATES);

  it('the generator makes a varied, valid sequence', (t) => {
    for (const [i, s] of seq.entries()) t.diagnostic(`${i + 1}: ${madeBy.get(s)}: ${describeState(s)}`);
    assert.equal(seq.length, STATES);
    for (const s of seq) checkState(s);
    const seen = (p: (s: State) => boolean) => seq.filter(p).length;
    assert.ok(seen((s) => s.routers.length > 1) > 0, 'several routers');
    assert.ok(seen((s) => s.floatingips.length > 0) > 0, 'floating IPs');
    assert.ok(seen((s) => s.routers.some((r) => r.routes.length > 0)) > 0, 'extra routes');
    assert.ok(seen((s) => s.routers.some((r) => r.gateway)) > 0, 'gateways');
    assert.ok(seen((s) => s.routers.some((r) => !r.admin_state_up)) > 0, 'a disabled router');
    assert.ok(new Set(seq.map((s) => JSON.stringify(s.config))).size > 1, 'config changes');
    for (const [k, values] of [['send_arp_for_ha', ['0', '3']], ['use_random_fully', ['false', 'true']], ['enable_metadata_proxy', ['false', 'true']]] as const) {
      const defaults: Record<string, string> = { send_arp_for_ha: '3', use_random_fully: 'true', enable_metadata_proxy: 'true' };
      for (const v of values) assert.ok(seen((s) => (s.config[k] ?? defaults[k]) === v) > 0, `${k}=${v} in the sequence`);
    }
    const withPorts = (s: State) => s.routers.some((r) => r.admin_state_up && r.interfaces.some((p) => p.admin_state_up));
    assert.ok(seen((s) => s.routers.some((r) => r.admin_state_up && proxied(s, r))) > 0, 'a metadata proxy running');
    assert.ok(seen((s) => withPorts(s) && s.config.enable_metadata_proxy === 'false') > 0, 'internal ports with the proxy off');
    assert.ok(seen((s) => s.routers.some((r) => r.admin_state_up && advertised(s, r))) > 0, 'radvd running');
    assert.ok(seen((s) => s.routers.some((r) => r.routes.some((x) => isV6(x.destination)))) > 0, 'an IPv6 extra route');
    assert.ok(seen((s) => s.routers.some((r) => r.admin_state_up && !advertised(s, r) && r.interfaces.some((p) => p.admin_state_up && p.fixed_ips.some((f) => isV6(f.ip_address))))) > 0, 'IPv6 on an internal port without router advertisements');
    const kinds = new Set(seq.map((s) => madeBy.get(s)));
    for (const k of ['router-add', 'router-delete', 'router-toggle', 'port-add', 'port-remove', 'port-toggle', 'port-replumb', 'gateway-set', 'gateway-clear', 'gateway-replumb', 'fip-add', 'fip-delete', 'fip-remap', 'route-add', 'route-remove', 'config send_arp_for_ha', 'config use_random_fully', 'config enable_metadata_proxy']) {
      assert.ok(kinds.has(k), `no ${k} in the sequence`);
    }
  });

  it('in order: after each state the fake kernel is what the state asks for, and re-planning is empty', async () => {
    await replay(new FakeSystem(), seq, 'in order');
  });

  for (const k of [1, 2, 3]) {
    it(`shuffled (order ${k}): every state is reachable from any other`, async () => {
      await replay(new FakeSystem(), shuffled(seq, prng(SEED + k)), `shuffle ${k}`);
    });
  }

  it('the expectation can fail: a kernel one step behind is not the next state', async () => {
    const f = new FakeSystem();
    await converge(f, seq[0]!);
    const differs = seq.slice(1).find((s) => expectedKernel(s, f.storePath, leftovers(f)) !== expectedKernel(seq[0]!, f.storePath, leftovers(f)))!;
    assert.notEqual(f.toString({ counters: false }), expectedKernel(differs, f.storePath, leftovers(f)));
  });
});
