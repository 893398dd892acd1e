// Stores written directly as JSON (src/model/types.ts), so that a benchmark
// of 500 routers or 5,000 floating IPs does not first spend minutes running
// hundreds of commands. Every generated state passes the same checkState the
// commands use, so l3ctl accepts it as if the commands had built it.
//
// Addresses: the documentation ranges only (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24): one external /24 holds at most 250 floating IPs.
import { randomUUID, randomBytes } from 'node:crypto';
import { fromInt, toInt } from '../../src/model/addr.js';
import { checkState } from '../../src/model/validate.js';
import { STATE_VERSION, type FloatingIp, type Network, type Port, type Router, type State } from '../../src/model/types.js';

const ip = (base: string, offset: number) => fromInt(toInt(base) + offset);

/** Builds a State object by object; ids are fresh UUIDs, MACs fa:16:3e:… unique within the store. */
export class StoreBuilder {
  readonly s: State;
  private macSeq: number;

  constructor(config: Record<string, string> = {}) {
    this.s = { version: STATE_VERSION, config: { ...config }, networks: [], routers: [], floatingips: [] };
    this.macSeq = randomBytes(3).readUIntBE(0, 3) & 0x0fffff; // room for a million ports without wrapping
  }

  private mac(): string {
    const n = this.macSeq++ & 0xffffff;
    return `fa:16:3e:${[n >> 16, (n >> 8) & 0xff, n & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  }

  private port(net: Network, address: string): Port {
    return { id: randomUUID(), network_id: net.id, fixed_ips: [{ subnet_id: net.subnets[0]!.id, ip_address: address }], mac_address: this.mac(), admin_state_up: true };
  }

  /** A network with one IPv4 subnet. */
  network(name: string, cidr: string, opts: { gateway_ip?: string | null; external?: boolean } = {}): Network {
    const gateway_ip = opts.gateway_ip === undefined ? ip(cidr.split('/')[0]!, 1) : opts.gateway_ip;
    const subnet = { id: randomUUID(), cidr, gateway_ip, ip_version: 4 as const, ipv6_ra_mode: null, ipv6_address_mode: null };
    const n: Network = { id: randomUUID(), name, subnets: [subnet], external: !!opts.external, bridge: null };
    this.s.networks.push(n);
    return n;
  }

  router(name: string): Router {
    const r: Router = { id: randomUUID(), name, admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null };
    this.s.routers.push(r);
    return r;
  }

  gateway(r: Router, net: Network, address: string): void {
    r.gateway = this.port(net, address);
  }

  iface(r: Router, net: Network, address: string): void {
    r.interfaces.push(this.port(net, address));
  }

  fip(address: string, net: Network, r: Router | null, fixed: string | null): FloatingIp {
    const f: FloatingIp = { id: randomUUID(), floating_ip_address: address, floating_network_id: net.id, fixed_ip_address: r ? fixed : null, router_id: r?.id ?? null };
    this.s.floatingips.push(f);
    return f;
  }

  /** The state, after the same whole-state check the commands apply (throws UsageError otherwise). */
  done(): State {
    checkState(this.s);
    return this.s;
  }
}

/** Config of a kernel benchmark: its own host namespace, gateways on the network's own bridge, no gratuitous ARP. */
export const kernelConfig = (hostNs: string) => ({ host_namespace: hostNs, external_network_bridge: '', send_arp_for_ha: '0' });

export const routerNamespaces = (s: State) => s.routers.map((r) => `qrouter-${r.id}`);

/**
 * `router list` store: `count` (≤ 500) routers, each with one port on one of
 * two shared internal /24s; the first 250 also have a gateway. No kernel.
 */
export function listStore(count = 500): State {
  if (count > 500) throw new Error('listStore: at most 500 routers fit the documentation ranges');
  const b = new StoreBuilder();
  const ext = b.network('ext', '203.0.113.0/24', { external: true });
  const nets = [b.network('tenant-a', '198.51.100.0/24'), b.network('tenant-b', '192.0.2.0/24')];
  for (let i = 0; i < count; i++) {
    const r = b.router(`router-${String(i).padStart(3, '0')}`);
    const half = Math.floor(i / 250);
    b.iface(r, nets[half]!, ip(nets[half]!.subnets[0]!.cidr.split('/')[0]!, 2 + (i % 250)));
    if (i < 250) b.gateway(r, ext, ip('203.0.113.0', 2 + i));
  }
  return b.done();
}

export interface NeutronShape {
  state: State;
  /** A free external address and the fixed IP it should reach on router 0 (phase b). */
  spare: { fip: string; fixed: string; router: string };
}

/**
 * The Neutron anchor harness's topology (harness.py Topology): R routers,
 * each a gateway on 203.0.113.0/24 (upstream .1), I internal subnets (/28s
 * carved from 198.51.100.0/24 then 192.0.2.0/24, larger when F needs it; the
 * router takes the first host) and F floating IPs, FIP j reaching host
 * 1 + j div I of subnet j mod I. Addresses are handed out in the harness's
 * order (router r's gateway, then its FIPs).
 */
export function neutronShape(R: number, I: number, F: number, config: Record<string, string>, prefix = 'r'): NeutronShape {
  const vmsPerSubnet = Math.ceil((F + 1) / Math.max(I, 1)) + 1;
  let plen = 28;
  while (1 << (32 - plen) < vmsPerSubnet + 3) plen--;
  const size = 1 << (32 - plen);
  const subnets: string[] = [];
  for (const pool of ['198.51.100.0', '192.0.2.0']) for (let o = 0; o + size <= 256; o += size) subnets.push(`${ip(pool, o)}/${plen}`);
  if (R * I > subnets.length) throw new Error(`neutronShape: ${R * I} internal subnets of /${plen} do not fit the documentation ranges`);
  if (R * (F + 1) + 2 > 253) throw new Error('neutronShape: too many gateways and FIPs for 203.0.113.0/24');
  const b = new StoreBuilder(config);
  const ext = b.network('ext', '203.0.113.0/24', { external: true });
  let next = 2;
  const vm = (r: number, j: number) => ip(subnets[r * I + (j % I)]!.split('/')[0]!, 2 + Math.floor(j / I));
  for (let r = 0; r < R; r++) {
    const router = b.router(`${prefix}${r}`);
    b.gateway(router, ext, ip('203.0.113.0', next++));
    for (let i = 0; i < I; i++) {
      const cidr = subnets[r * I + i]!;
      const net = b.network(`${prefix}${r}-net${i}`, cidr);
      b.iface(router, net, net.subnets[0]!.gateway_ip!);
    }
    for (let j = 0; j < F; j++) b.fip(ip('203.0.113.0', next++), ext, router, vm(r, j));
  }
  return { state: b.done(), spare: { fip: ip('203.0.113.0', next), fixed: vm(0, F), router: `${prefix}0` } };
}

/**
 * Scale shape, the same per router at any count up to 200: a gateway, one
 * port on each of two shared internal /24s, and one floating IP on every
 * fourth router (200 gateways + 50 FIPs fill 203.0.113.0/24).
 */
export function scaleShape(R: number, config: Record<string, string>): State {
  if (R > 200) throw new Error('scaleShape: at most 200 routers');
  const b = new StoreBuilder(config);
  const ext = b.network('ext', '203.0.113.0/24', { external: true });
  const a = b.network('shared-a', '198.51.100.0/24');
  const c = b.network('shared-b', '192.0.2.0/24');
  for (let k = 0; k < R; k++) {
    const r = b.router(`s${k}`);
    b.gateway(r, ext, ip('203.0.113.0', 2 + k));
    b.iface(r, a, ip('198.51.100.0', 2 + k));
    b.iface(r, c, ip('192.0.2.0', 2 + k));
    if (k % 4 === 0) b.fip(ip('203.0.113.0', 202 + k / 4), ext, r, ip('192.0.2.0', 202 + k / 4));
  }
  return b.done();
}

export interface GrowthShape {
  state: State;
  big: { router: string; fips: number; spare: { fip: string; fixed: string } };
  small: { router: string; fips: number; spare: { fip: string; fixed: string } };
}

/** Two routers side by side: one holding `bigFips` floating IPs, one holding `smallFips`. */
export function growthShape(config: Record<string, string>, bigFips = 200, smallFips = 3): GrowthShape {
  const b = new StoreBuilder(config);
  const ext = b.network('ext', '203.0.113.0/24', { external: true });
  const nb = b.network('big-net', '198.51.100.0/24');
  const ns = b.network('small-net', '192.0.2.0/24');
  const big = b.router('big');
  const small = b.router('small');
  b.gateway(big, ext, '203.0.113.2');
  b.gateway(small, ext, '203.0.113.3');
  b.iface(big, nb, '198.51.100.1');
  b.iface(small, ns, '192.0.2.1');
  let next = 4;
  for (let j = 0; j < bigFips; j++) b.fip(ip('203.0.113.0', next++), ext, big, ip('198.51.100.0', 2 + j));
  for (let j = 0; j < smallFips; j++) b.fip(ip('203.0.113.0', next++), ext, small, ip('192.0.2.0', 2 + j));
  if (next > 249) throw new Error('growthShape: too many FIPs for 203.0.113.0/24');
  return {
    state: b.done(),
    big: { router: 'big', fips: bigFips, spare: { fip: '203.0.113.250', fixed: '198.51.100.250' } },
    small: { router: 'small', fips: smallFips, spare: { fip: '203.0.113.251', fixed: '192.0.2.250' } },
  };
}

/** One router with `count` floating IPs on 203.0.113.0/24 (→ 198.51.100.0/24), at most 250. */
export function manyFipsShape(count: number, config: Record<string, string>): State {
  if (count > 250) throw new Error('manyFipsShape: at most 250 FIPs (the documentation ranges hold no more)');
  const [extCidr, intCidr] = ['203.0.113.0/24', '198.51.100.0/24'];
  const b = new StoreBuilder(config);
  const ext = b.network('ext', extCidr, { external: true });
  const int = b.network('int', intCidr);
  const r = b.router('r0');
  const extBase = extCidr.split('/')[0]!;
  const intBase = intCidr.split('/')[0]!;
  b.gateway(r, ext, ip(extBase, 2));
  b.iface(r, int, ip(intBase, 1));
  for (let j = 0; j < count; j++) b.fip(ip(extBase, 3 + j), ext, r, ip(intBase, 2 + j));
  return b.done();
}
