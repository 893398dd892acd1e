// What one router should look like in the kernel, derived from the store.
import { DEFAULT_DST, broadcastOf, networkOf, prefixOf } from '../model/addr.js';
import type { Config } from '../model/config.js';
import { checkHa, haNetworkOf, haNodeAddress, haPortIdentity } from '../model/ha.js';
import { gatewayDevice, haDevice, internalDevice, namespaceName, tapDevice } from '../model/names.js';
import type { Network, Port, Router, State } from '../model/types.js';
import { keepalivedOwned, primaryVip, renderKeepalivedConf, type HaInstance, type VirtualAddress } from '../linux/keepalived.js';
import { driverFor, type DriverName } from './drivers/index.js';
import type { NatInput } from './nat.js';
import { desiredDaemons, type DesiredDaemon } from './daemons.js';

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
  ip: string;
  prefixlen: number;
  broadcast: string;
  networkCidr: string;
}

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
  return {
    kind,
    portId: port.id,
    device: DEVICE[kind](port.id),
    tap: tapDevice(port.id),
    bridge: b.bridge,
    bridgeMustExist: b.mustExist,
    bridgeOption: b.option,
    mac: port.mac_address.toLowerCase(),
    ip: port.ip_address,
    prefixlen: prefixOf(net.cidr),
    broadcast: broadcastOf(net.cidr),
    networkCidr: networkOf(net.cidr),
  };
}

/** The HA port of ROUTER on this node: on the HA network, at this node's address there. */
export function desiredHaPort(state: State, config: Config, routerId: string, node: NodeIdentity): DesiredPort {
  const net = haNetworkOf(state, config);
  const address = haNodeAddress(config, net, node.machineId);
  const { id, mac } = haPortIdentity(routerId, address, node.key);
  return desiredPort(state, config, { id, network_id: net.id, ip_address: address, mac_address: mac, admin_state_up: true }, 'ha');
}

function desiredHa(state: State, config: Config, router: Router, node: NodeIdentity, ports: DesiredPort[], gateway: DesiredPort | null, fips: { fip: string }[], gwRoute: DesiredRoute | null): DesiredHa {
  const port = desiredHaPort(state, config, router.id, node);
  const vrId = router.ha_vr_id!;
  const owned = keepalivedOwned({
    ports: ports.map((p) => ({ device: p.device, ip: p.ip, prefixlen: p.prefixlen })),
    gateway: gateway ? { device: gateway.device } : null,
    fips,
    routes: [...(gwRoute ? [{ dst: 'default', via: gwRoute.via!, dev: gwRoute.dev }] : []), ...router.routes.map((r) => ({ dst: r.destination, via: r.nexthop, dev: null }))],
  });
  const instance: Omit<HaInstance, 'dir'> = {
    vrId,
    haDevice: port.device,
    haCidrs: [port.networkCidr],
    advertInt: config.ha_vrrp_advert_int,
    auth: config.ha_vrrp_auth_password ? { type: config.ha_vrrp_auth_type, password: config.ha_vrrp_auth_password } : null,
    ...owned,
  };
  const siblingMacs = state.routers
    .filter((r) => r.ha && r.id !== router.id)
    .map((r) => haPortIdentity(r.id, port.ip, node.key).mac);
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
  const gwIp = gateway && router.gateway ? networkById(state, router.gateway.network_id).gateway_ip : null;
  const gwRoute: DesiredRoute | null = gateway && gwIp ? { dst: DEFAULT_DST, via: gwIp, dev: gateway.device } : null;
  // An HA router's addresses and routes are keepalived's (on the master only); l3ctl plugs its ports, HA port included.
  if (router.ha && placement(config, router.id).shared) checkHa(state, config); // says why an HA router cannot live in the host's namespace
  const ha = router.ha ? desiredHa(state, config, router, node, routerPorts, gateway, fips, gwRoute) : null;
  const ports = ha ? [...routerPorts, ha.port] : routerPorts;
  // The kernel adds a port's connected route with its address; one deleted by hand is drift.
  const routes: DesiredRoute[] = (ha ? [ha.port] : ports).map((p) => ({ dst: p.networkCidr, via: null, dev: p.device, src: p.ip }));
  if (!ha) {
    if (gwRoute) routes.push(gwRoute);
    for (const r of router.routes) routes.push({ dst: r.destination, via: r.nexthop, dev: null });
  }
  const place = placement(config, router.id);
  const metadataPort = config.enable_metadata_proxy && internal.length ? config.metadata_port : null;
  const daemons = desiredDaemons(router.id, config, metadataPort);
  if (ha) {
    const instance = ha.instance;
    daemons.push({
      kind: 'keepalived',
      role: `VRRP id ${ha.vrId} on ${ha.port.device} (${ha.port.ip}), advert every ${instance.advertInt} s`,
      config: (dir) => renderKeepalivedConf({ ...instance, dir }),
    });
  }
  return {
    id: router.id,
    ...place,
    driver: config.interface_driver,
    ports,
    gateway,
    fips,
    routes,
    nat: {
      gatewayDevice: gateway?.device ?? null,
      gatewayIp: gateway?.ip ?? null,
      internalCidrs: internal.map((p) => p.networkCidr),
      floatingIps: fips,
      metadataPort,
      randomFully: config.use_random_fully,
      shared: place.shared,
    },
    daemons,
    ha,
  };
}
