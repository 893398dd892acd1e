// What one router should look like in the kernel, derived from the store.
import { DEFAULT_DST, DEFAULT_DST6, broadcastOf, prefixOf } from '../model/addr.js';
import type { Config } from '../model/config.js';
import { checkHa, haNetworkOf, haNodeAddress, haPortIdentity, haSubnetOf } from '../model/ha.js';
import { gatewayDevice, haDevice, internalDevice, namespaceName, tapDevice } from '../model/names.js';
import type { Network, Port, Router, State, Subnet } from '../model/types.js';
import { keepalivedOwned, primaryVip, renderKeepalivedConf, type HaInstance, type VirtualAddress } from '../linux/keepalived.js';
import { driverFor, type DriverName } from './drivers/index.js';
import type { NatInput } from './nat.js';
import { desiredDaemons, type DesiredDaemon } from './daemons.js';
import type { RaPort } from '../linux/radvd.js';

export interface DesiredPort {
  /** `ha`: an HA router's port on the HA network (this node's own; not stored). */
  kind: 'internal' | 'gateway' | 'ha';
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
  /** network_device_mtu: set on both ends when plugged, and kept (null: left alone). */
  mtu: number | null;
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

/** Addresses as `ip` takes and prints them: IP/PREFIXLEN, space-separated. */
export const addrsText = (xs: { ip: string; prefixlen: number }[]): string => xs.map((a) => `${a.ip}/${a.prefixlen}`).join(' ');

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

/** What this node is, for its HA ports. */
export interface NodeIdentity {
  /** Its machine id, from which an unset ha_node_address is derived. */
  machineId: string | null;
  /** What tells it from other nodes (machine id and store path): in its HA ports' MACs. */
  key: string;
}

/**
 * An HA router as this node runs it: its HA port, and what keepalived, not
 * l3ctl, adds and removes (the master's addresses and routes).
 */
export interface DesiredHa {
  vrId: number;
  port: DesiredPort;
  /** MACs of this node's other HA ports: their answers to the HA port's duplicate address detection are not a collision. */
  siblingMacs: string[];
  /** keepalived.conf without its directory (the plan knows where the daemon's files go). */
  instance: Omit<HaInstance, 'dir'>;
  /** keepalived's addresses, the primary VIP on the HA port included: on the master only. */
  owned: VirtualAddress[];
  /** Destinations of keepalived's routes (canonical): on the master only. */
  ownedRoutes: string[];
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
  /** An HA router: its HA port (also in ports) and keepalived's share; null for a legacy router. */
  ha: DesiredHa | null;
}

function networkById(state: State, id: string): Network {
  const n = state.networks.find((x) => x.id === id);
  if (!n) throw new Error(`port refers to unknown network ${id}`);
  return n;
}

const DEVICE: Record<DesiredPort['kind'], (id: string) => string> = { internal: internalDevice, gateway: gatewayDevice, ha: haDevice };

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
    device: DEVICE[kind](port.id),
    tap: tapDevice(port.id),
    bridge: b.bridge,
    bridgeMustExist: b.mustExist,
    bridgeOption: b.option,
    mac: port.mac_address.toLowerCase(),
    addrs,
    acceptRa: null,
    mtu: config.network_device_mtu,
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

/** The HA port of ROUTER on this node: on the HA network (IPv4), at this node's address there. */
export function desiredHaPort(state: State, config: Config, routerId: string, node: NodeIdentity): DesiredPort {
  const net = haNetworkOf(state, config);
  const address = haNodeAddress(config, net, node.machineId);
  const { id, mac } = haPortIdentity(routerId, address, node.key);
  const fixed_ips = [{ subnet_id: haSubnetOf(net).id, ip_address: address }];
  return desiredPort(state, config, { id, network_id: net.id, fixed_ips, mac_address: mac, admin_state_up: true }, 'ha');
}

/** A port's IPv4 address: an HA router has no other (checkState refuses IPv6 on HA routers). */
const v4Of = (p: DesiredPort): PortAddr => {
  const a = addrOf(p, 4);
  if (!a) throw new Error(`HA router port ${p.device} has no IPv4 address`);
  return a;
};

function desiredHa(state: State, config: Config, router: Router, node: NodeIdentity, ports: DesiredPort[], gateway: DesiredPort | null, fips: { fip: string }[], gwRoute: DesiredRoute | null): DesiredHa {
  const port = desiredHaPort(state, config, router.id, node);
  const vrId = router.ha_vr_id!;
  const owned = keepalivedOwned({
    ports: ports.flatMap((p) => p.addrs.filter((a) => a.version === 4).map((a) => ({ device: p.device, ip: a.ip, prefixlen: a.prefixlen }))),
    gateway: gateway ? { device: gateway.device } : null,
    fips,
    routes: [...(gwRoute ? [{ dst: 'default', via: gwRoute.via!, dev: gwRoute.dev }] : []), ...router.routes.map((r) => ({ dst: r.destination, via: r.nexthop, dev: null }))],
  });
  const instance: Omit<HaInstance, 'dir'> = {
    vrId,
    haDevice: port.device,
    haCidrs: [v4Of(port).cidr],
    advertInt: config.ha_vrrp_advert_int,
    auth: config.ha_vrrp_auth_password ? { type: config.ha_vrrp_auth_type, password: config.ha_vrrp_auth_password } : null,
    ...owned,
  };
  const siblingMacs = state.routers
    .filter((r) => r.ha && r.id !== router.id)
    .map((r) => haPortIdentity(r.id, v4Of(port).ip, node.key).mac);
  return {
    vrId,
    port,
    siblingMacs,
    instance,
    owned: [{ cidr: primaryVip(vrId, instance.haCidrs), dev: port.device }, ...owned.addresses],
    ownedRoutes: [...(gwRoute ? [DEFAULT_DST] : []), ...router.routes.map((r) => r.destination)],
  };
}

export function desiredRouter(state: State, config: Config, router: Router, node: NodeIdentity = { machineId: null, key: '' }): DesiredRouter {
  const internal = router.interfaces
    .filter((p) => p.admin_state_up)
    .map((p) => desiredPort(state, config, p, 'internal'));
  const gateway = router.gateway ? desiredPort(state, config, router.gateway, 'gateway') : null;
  const fips = gateway
    ? state.floatingips
        .filter((f) => f.router_id === router.id && f.fixed_ip_address)
        .map((f) => ({ fip: f.floating_ip_address, fixed: f.fixed_ip_address! }))
    : [];
  const routerPorts = gateway ? [...internal, gateway] : internal;
  // The default route of each IP version the gateway has an address in, via that subnet's gateway IP.
  const defaults = new Map<4 | 6, string>();
  for (const a of gateway?.addrs ?? []) if (a.subnet.gateway_ip) defaults.set(a.version, a.subnet.gateway_ip);
  const gw4Ip = defaults.get(4);
  const gwRoute: DesiredRoute | null = gateway && gw4Ip ? { dst: DEFAULT_DST, via: gw4Ip, dev: gateway.device } : null;
  // An HA router's addresses and routes are keepalived's (on the master only); l3ctl plugs its ports, HA port included.
  if (router.ha && placement(config, router.id).shared) checkHa(state, config); // says why an HA router cannot live in the host's namespace
  const ha = router.ha ? desiredHa(state, config, router, node, routerPorts, gateway, fips, gwRoute) : null;
  const ports = ha ? [...routerPorts, ha.port] : routerPorts;
  // The kernel adds a port's connected route with its address; one deleted by hand is drift.
  // IPv6's have no preferred source (the kernel's have none either).
  const connected = (p: DesiredPort): DesiredRoute[] => p.addrs.map((a) => ({ dst: a.cidr, via: null, dev: p.device, ...(a.version === 4 ? { src: a.ip } : {}) }));
  const routes: DesiredRoute[] = (ha ? [ha.port] : ports).flatMap(connected);
  if (!ha) {
    for (const [version, via] of defaults) routes.push({ dst: version === 4 ? DEFAULT_DST : DEFAULT_DST6, via, dev: gateway!.device });
    for (const r of router.routes) routes.push({ dst: r.destination, via: r.nexthop, dev: null });
  }
  // An HA router is IPv4 only (its namespace has IPv6 switched off: a standby must stay silent).
  const ipv6 = !ha && ports.some((p) => addrOf(p, 6));
  if (ipv6) {
    for (const p of internal) p.acceptRa = 0;
    if (gateway) gateway.acceptRa = defaults.has(6) ? 0 : 2;
  }
  const ra: RaPort[] = ha
    ? []
    : internal.flatMap((p) => {
        const subnets = p.addrs.filter((a) => a.version === 6 && a.subnet.ipv6_ra_mode).map((a) => ({ cidr: a.cidr, raMode: a.subnet.ipv6_ra_mode }));
        return subnets.length ? [{ device: p.device, subnets }] : [];
      });
  const place = placement(config, router.id);
  const metadataPort = config.enable_metadata_proxy && internal.some((p) => addrOf(p, 4)) ? config.metadata_port : null;
  const daemons = desiredDaemons(router.id, config, metadataPort, ra);
  if (ha) {
    const instance = ha.instance;
    daemons.push({
      kind: 'keepalived',
      role: `VRRP id ${ha.vrId} on ${ha.port.device} (${v4Of(ha.port).ip}), advert every ${instance.advertInt} s`,
      config: (dir) => renderKeepalivedConf({ ...instance, dir }),
    });
  }
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
    daemons,
    ha,
  };
}
