// What one router should look like in the kernel, derived from the store.
import { DEFAULT_DST, broadcastOf, networkOf, prefixOf } from '../model/addr.js';
import type { Config } from '../model/config.js';
import { gatewayDevice, internalDevice, namespaceName, tapDevice } from '../model/names.js';
import type { Network, Port, Router, State } from '../model/types.js';
import { driverFor, type DriverName } from './drivers/index.js';
import type { NatInput } from './nat.js';
import { desiredDaemons, type DesiredDaemon } from './daemons.js';

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
}

function networkById(state: State, id: string): Network {
  const n = state.networks.find((x) => x.id === id);
  if (!n) throw new Error(`port refers to unknown network ${id}`);
  return n;
}

function desiredPort(state: State, config: Config, port: Port, kind: DesiredPort['kind']): DesiredPort {
  const net = networkById(state, port.network_id);
  const b = driverFor(config.interface_driver).bridgeOf(config, kind, net);
  return {
    kind,
    portId: port.id,
    device: kind === 'gateway' ? gatewayDevice(port.id) : internalDevice(port.id),
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
  const routes: DesiredRoute[] = ports.map((p) => ({ dst: p.networkCidr, via: null, dev: p.device, src: p.ip }));
  if (gateway && router.gateway) {
    const gwIp = networkById(state, router.gateway.network_id).gateway_ip;
    if (gwIp) routes.push({ dst: DEFAULT_DST, via: gwIp, dev: gateway.device });
  }
  for (const r of router.routes) routes.push({ dst: r.destination, via: r.nexthop, dev: null });
  const place = placement(config, router.id);
  const metadataPort = config.enable_metadata_proxy && internal.length ? config.metadata_port : null;
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
    daemons: desiredDaemons(router.id, config, metadataPort),
  };
}
