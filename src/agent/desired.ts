// What one router should look like in the kernel, derived from the store.
import { DEFAULT_DST, DEFAULT_DST6, broadcastOf, prefixOf } from '../model/addr.js';
import type { Config } from '../model/config.js';
import { gatewayDevice, internalDevice, namespaceName, tapDevice } from '../model/names.js';
import type { Network, Port, Router, State, Subnet } from '../model/types.js';
import { driverFor, type DriverName } from './drivers/index.js';
import type { NatInput } from './nat.js';
import { desiredDaemons, type DesiredDaemon } from './daemons.js';
import type { RaPort } from '../linux/radvd.js';

export interface DesiredPort {
  kind: 'internal' | 'gateway';
  portId: string;
  device: string;
  tap: string;
  bridge: string;
  /** Never created by l3ctl (the operator's external bridge; an Open vSwitch bridge). */
  bridgeMustExist: boolean;
  /** The config key that names the bridge, for errors (null: the network's own). */
  bridgeOption: string | null;
  mac: string;
  /** The port's addresses, one per subnet it has a fixed IP on, in the store's order. */
  addrs: PortAddr[];
  /**
   * net.ipv6.conf.<device>.accept_ra on a router with IPv6 (null: left
   * alone, an IPv4-only router): 0 on internal ports, which advertise and
   * must not learn; on the gateway 0 when the store names the IPv6 default
   * route's gateway, else 2 (learn it from the upstream's advertisements
   * while forwarding), as Neutron.
   */
  acceptRa: 0 | 2 | null;
}

/** One address of a port, with its subnet. */
export interface PortAddr {
  ip: string;
  prefixlen: number;
  version: 4 | 6;
  /** IPv4's broadcast address; null for IPv6, which has none. */
  broadcast: string | null;
  /** The subnet, canonical. */
  cidr: string;
  subnet: Subnet;
}

/** The port's address of one IP version (a port has at most one of each). */
export const addrOf = (p: DesiredPort, version: 4 | 6): PortAddr | undefined => p.addrs.find((a) => a.version === version);

export interface DesiredRoute {
  /** Canonical CIDR; the default route is 0.0.0.0/0. */
  dst: string;
  /** The nexthop; null: a connected route (the subnet of a port, on its device). */
  via: string | null;
  dev: string | null;
  /** A connected route's source: the port's own address. */
  src?: string;
}

/**
 * Where a router's devices live: its own `qrouter-` namespace, or, with
 * use_namespaces false, the host namespace (host_namespace, else the one
 * l3ctl runs in), shared with the bridges, as the agent's root-namespace mode.
 */
export interface Placement {
  ns: string | null;
  shared: boolean;
}

export function placement(config: Config, routerId: string): Placement {
  if (!config.use_namespaces && routerId === config.router_id) return { ns: config.host_namespace, shared: true };
  return { ns: namespaceName(routerId), shared: false };
}

export interface DesiredRouter {
  id: string;
  ns: string | null;
  /** Devices live in the host namespace (use_namespaces false). */
  shared: boolean;
  /** How ports are plugged (interface_driver). */
  driver: DriverName;
  ports: DesiredPort[]; // internal ports, then the gateway
  gateway: DesiredPort | null;
  fips: { fip: string; fixed: string }[];
  routes: DesiredRoute[];
  /** Some port has an IPv6 address: IPv6 forwarding on, accept_ra managed, IPv6 routes read. */
  ipv6: boolean;
  /** Router advertisements (radvd): the internal ports' IPv6 subnets with an RA mode. */
  ra: RaPort[];
  nat: NatInput;
  /** Per-router daemons (the metadata proxy): their config text, not yet where their files go. */
  daemons: DesiredDaemon[];
}

function networkById(state: State, id: string): Network {
  const n = state.networks.find((x) => x.id === id);
  if (!n) throw new Error(`port refers to unknown network ${id}`);
  return n;
}

function desiredPort(state: State, config: Config, port: Port, kind: DesiredPort['kind']): DesiredPort {
  const net = networkById(state, port.network_id);
  const b = driverFor(config.interface_driver).bridgeOf(config, kind, net);
  const addrs = port.fixed_ips.map((f): PortAddr => {
    const subnet = net.subnets.find((x) => x.id === f.subnet_id);
    if (!subnet) throw new Error(`port ${port.id} refers to subnet ${f.subnet_id}, not one of network ${net.id}`);
    return {
      ip: f.ip_address,
      prefixlen: prefixOf(subnet.cidr),
      version: subnet.ip_version,
      broadcast: subnet.ip_version === 4 ? broadcastOf(subnet.cidr) : null,
      cidr: subnet.cidr,
      subnet,
    };
  });
  return {
    kind,
    portId: port.id,
    device: kind === 'gateway' ? gatewayDevice(port.id) : internalDevice(port.id),
    tap: tapDevice(port.id),
    bridge: b.bridge,
    bridgeMustExist: b.mustExist,
    bridgeOption: b.option,
    mac: port.mac_address.toLowerCase(),
    addrs,
    acceptRa: null,
  };
}

/**
 * The devices of a router whose accept_ra it manages, when it has IPv6 (a
 * port with an IPv6 fixed IP); null when it has none. What the namespace's
 * read needs to know before the plan is made.
 */
export function ipv6Devices(state: State, router: Router): string[] | null {
  const v6 = new Set(state.networks.flatMap((n) => n.subnets.filter((s) => s.ip_version === 6).map((s) => s.id)));
  const internal = router.interfaces.filter((p) => p.admin_state_up);
  const ports = [...internal.map((p) => ({ p, dev: internalDevice(p.id) })), ...(router.gateway ? [{ p: router.gateway, dev: gatewayDevice(router.gateway.id) }] : [])];
  if (!ports.some(({ p }) => p.fixed_ips.some((f) => v6.has(f.subnet_id)))) return null;
  return ports.map(({ dev }) => dev);
}

export function desiredRouter(state: State, config: Config, router: Router): DesiredRouter {
  const internal = router.interfaces
    .filter((p) => p.admin_state_up)
    .map((p) => desiredPort(state, config, p, 'internal'));
  const gateway = router.gateway ? desiredPort(state, config, router.gateway, 'gateway') : null;
  const fips = gateway
    ? state.floatingips
        .filter((f) => f.router_id === router.id && f.fixed_ip_address)
        .map((f) => ({ fip: f.floating_ip_address, fixed: f.fixed_ip_address! }))
    : [];
  const ports = gateway ? [...internal, gateway] : internal;
  // The kernel adds a port's connected route with its address; one deleted by hand is drift.
  // IPv6's have no preferred source (the kernel's have none either).
  const routes: DesiredRoute[] = ports.flatMap((p) => p.addrs.map((a) => ({ dst: a.cidr, via: null, dev: p.device, ...(a.version === 4 ? { src: a.ip } : {}) })));
  // The default route of each IP version the gateway has an address in, via that subnet's gateway IP.
  const defaults = new Map<4 | 6, string>();
  for (const a of gateway?.addrs ?? []) if (a.subnet.gateway_ip) defaults.set(a.version, a.subnet.gateway_ip);
  for (const [version, via] of defaults) routes.push({ dst: version === 4 ? DEFAULT_DST : DEFAULT_DST6, via, dev: gateway!.device });
  for (const r of router.routes) routes.push({ dst: r.destination, via: r.nexthop, dev: null });
  const ipv6 = ports.some((p) => addrOf(p, 6));
  if (ipv6) {
    for (const p of internal) p.acceptRa = 0;
    if (gateway) gateway.acceptRa = defaults.has(6) ? 0 : 2;
  }
  const ra: RaPort[] = internal.flatMap((p) => {
    const subnets = p.addrs.filter((a) => a.version === 6 && a.subnet.ipv6_ra_mode).map((a) => ({ cidr: a.cidr, raMode: a.subnet.ipv6_ra_mode }));
    return subnets.length ? [{ device: p.device, subnets }] : [];
  });
  const place = placement(config, router.id);
  const metadataPort = config.enable_metadata_proxy && internal.some((p) => addrOf(p, 4)) ? config.metadata_port : null;
  // NAT is IPv4's: the gateway's IPv4 address, the internal IPv4 subnets. IPv6 is routed as it is.
  const gw4 = gateway ? addrOf(gateway, 4) : undefined;
  return {
    id: router.id,
    ...place,
    driver: config.interface_driver,
    ports,
    gateway,
    fips,
    routes,
    ipv6,
    ra,
    nat: {
      gatewayDevice: gw4 ? gateway!.device : null,
      gatewayIp: gw4?.ip ?? null,
      internalCidrs: internal.flatMap((p) => p.addrs.filter((a) => a.version === 4).map((a) => a.cidr)),
      floatingIps: fips,
      metadataPort,
      randomFully: config.use_random_fully,
      shared: place.shared,
    },
    daemons: desiredDaemons(router.id, config, metadataPort, ra),
  };
}
