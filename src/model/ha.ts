// HA routers in the store and the config: which network carries VRRP, this
// node's address on it, and the identity of a router's HA port on this node.
// Pure. The HA port is not stored: it is this node's own (the same router on
// another node has another), derived from the router id and the node's
// address, so a router copied between nodes (export | apply) brings its VRRP
// id and nothing node-specific.
import { createHash } from 'node:crypto';
import { fromInt, hostRangeV4 as hostRange, isHostOf, toInt } from './addr.js';
import type { Config } from './config.js';
import { UsageError } from './errors.js';
import { subnetOfVersion } from './subnets.js';
import type { Network, Router, State, Subnet } from './types.js';

/** Neutron's default range for the HA network (l3_ha_net_cidr). */
export const HA_NET_DEFAULT_CIDR = '169.254.192.0/18';
/** Where keepalived's VRRP ids come from: 1-254, as Neutron allocates them per HA network. */
export const VR_ID_MIN = 1;
export const VR_ID_MAX = 254;

const SETUP_HINT = `l3ctl network add ha --cidr ${HA_NET_DEFAULT_CIDR} --gateway-ip none --bridge BRIDGE && l3ctl config set ha_network ha (the same network on every node, its bridge joined between them)`;

/**
 * The HA network: an internal network of the store that config ha_network
 * names, used by nothing but HA ports (the nodes share it for VRRP). Throws a
 * UsageError saying what to do when there is none.
 */
export function haNetworkOf(state: State, config: Pick<Config, 'ha_network'>): Network {
  const ref = config.ha_network;
  if (!ref) throw new UsageError('ha_network is not set: an HA router needs the internal network the nodes share for VRRP', SETUP_HINT);
  const n = state.networks.find((x) => x.id === ref) ?? state.networks.find((x) => x.name === ref);
  if (!n) throw new UsageError(`ha_network '${ref}' is not a network of this store: expected the internal network the nodes share for VRRP`, SETUP_HINT);
  if (n.external) throw new UsageError(`ha_network '${n.name}' is an external network: expected an internal network the nodes share, used only for VRRP`, SETUP_HINT);
  const user = state.routers.find((r) => r.interfaces.some((p) => p.network_id === n.id));
  if (user) throw new UsageError(`ha_network '${n.name}' is not dedicated to HA: router '${user.name}' has an interface on it`, `l3ctl interface remove ${user.name} ${n.name}, or give HA its own network`);
  return n;
}

/**
 * HA routers are IPv4 only: l3ctl keeps IPv6 off in an HA router's
 * namespace (a standby's ports carry the master's MACs and must stay
 * silent, and keepalived here manages IPv4 addresses only). On a dual-stack
 * network an HA router's port takes the IPv4 subnet alone.
 */
export const haTakesSubnet = (router: Pick<Router, 'ha'>, subnet: Pick<Subnet, 'ip_version'>): boolean => !router.ha || subnet.ip_version === 4;

/** Why an HA router gets no IPv6 address, for errors and warnings. */
export const HA_IPV4_ONLY = 'HA routers are IPv4 only (IPv6 is off in their namespace; a dual-stack network gives them its IPv4 subnet alone)';

/** The refusal of an IPv6 address for an HA router's port. */
export function haIpv6Refused(router: Pick<Router, 'name'>, what: string): UsageError {
  return new UsageError(`${what} is IPv6 and router '${router.name}' is an HA router: ${HA_IPV4_ONLY}`, 'IPv6 needs a legacy router (l3ctl router add NAME without --ha)');
}

/** The HA network's IPv4 subnet (VRRP here is IPv4's): a UsageError when it has none. */
export function haSubnetOf(net: Network): Subnet {
  const sn = subnetOfVersion(net, 4);
  if (!sn) throw new UsageError(`ha_network '${net.name}' has no IPv4 subnet: expected one for VRRP`, SETUP_HINT);
  return sn;
}

/**
 * This node's address on the HA network: config ha_node_address, else one
 * derived from the machine id (stable, spread over the whole range, never
 * the network's gateway IP). Two nodes may still draw the same: the HA
 * port's duplicate address detection reports it.
 */
export function haNodeAddress(config: Pick<Config, 'ha_node_address'>, network: Network, machineId: string | null): string {
  const net = { name: network.name, ...haSubnetOf(network) };
  if (config.ha_node_address) {
    if (!isHostOf(net.cidr, config.ha_node_address) || config.ha_node_address === net.gateway_ip) {
      const { first, last } = hostRange(net.cidr);
      throw new UsageError(
        `ha_node_address ${config.ha_node_address} is not a host address of ha_network '${net.name}' (${net.cidr}): expected one from ${fromInt(first)} to ${fromInt(last)}${net.gateway_ip ? ` other than its gateway IP ${net.gateway_ip}` : ''}`,
        'l3ctl config set ha_node_address ADDRESS (each node its own)',
      );
    }
    return config.ha_node_address;
  }
  const id = (machineId ?? '').trim();
  if (!/^[0-9a-f]{32}$/i.test(id)) {
    throw new UsageError("ha_node_address is not set and this host has no machine id to derive it from (/etc/machine-id)", 'l3ctl config set ha_node_address ADDRESS (a host address of the HA network, each node its own)');
  }
  const { first, last } = hostRange(net.cidr);
  const count = last - first + 1;
  const gw = net.gateway_ip ? toInt(net.gateway_ip) : null;
  let n = first + (createHash('sha256').update(`l3ctl-ha-node:${id.toLowerCase()}`).digest().readUInt32BE(0) % count);
  if (n === gw) n = n === last ? first : n + 1;
  return fromInt(n);
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

/** The first two bytes of every HA port's MAC: locally administered, unicast, apart from Neutron's fa:16:3e. */
export const HA_MAC_PREFIX = 'fa:17';

/**
 * A router's HA port on this node: a UUID (version 5 layout) for its device
 * names, and a MAC. Both come from the router id, the node address and
 * NODE (what tells this node from another: its machine id and store path),
 * so that two nodes never share an HA MAC even when they share an address:
 * `arping -D` ignores answers from its own MAC, and would miss that
 * collision. The MAC carries the node address's low 16 bits, for people
 * reading an error.
 */
export function haPortIdentity(routerId: string, nodeAddress: string, node = ''): { id: string; mac: string } {
  const h = createHash('sha1').update(`l3ctl-ha-port:${routerId}:${nodeAddress}:${node}`).digest();
  const r = [h[16]!, h[17]!];
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  const id = `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
  const a = toInt(nodeAddress);
  const mac = `${HA_MAC_PREFIX}:${hex(Math.floor(a / 256) % 256)}:${hex(a % 256)}:${hex(r[0]!)}:${hex(r[1]!)}`;
  return { id, mac };
}

/** The lowest VRRP id no other HA router of the store has; stored with the router, so every node renders the same one. */
export function allocateVrId(routers: Router[]): number {
  const used = new Set(routers.filter((r) => r.ha && r.ha_vr_id !== null).map((r) => r.ha_vr_id!));
  for (let id = VR_ID_MIN; id <= VR_ID_MAX; id++) if (!used.has(id)) return id;
  throw new UsageError(`no free VRRP id: all ${VR_ID_MAX} ids of the HA network are taken by HA routers`, 'delete an HA router, or make one a legacy router (router set ROUTER --no-ha)');
}

/**
 * What must hold before an HA router is applied: the HA network is usable
 * and, when set, ha_node_address lies on it. Throws UsageError (exit 2).
 */
export function checkHa(state: State, config: Pick<Config, 'ha_network' | 'ha_node_address' | 'use_namespaces'>): void {
  const ha = state.routers.find((r) => r.ha);
  if (!ha) return;
  // keepalived and the IPv6 switch-off belong in the router's own namespace, never the host's.
  if (!config.use_namespaces) throw new UsageError(`HA router '${ha.name}' needs use_namespaces true: an HA router lives in a namespace of its own`, 'l3ctl config set use_namespaces true, or: l3ctl router set ROUTER --no-ha');
  const net = haNetworkOf(state, config);
  if (config.ha_node_address) haNodeAddress(config, net, null);
}

/**
 * Make ROUTER an HA router or a legacy one (`router add --ha`, `router set
 * --ha/--no-ha`): only while it has no ports, as its addresses would change
 * hands. Returns whether anything changed.
 */
export function setRouterHa(state: State, router: Router, ha: boolean): boolean {
  if (router.ha === ha) return false;
  if (router.interfaces.length || router.gateway) {
    throw new UsageError(
      `cannot make router '${router.name}' ${ha ? 'an HA router' : 'a legacy (non-HA) router'} while it has ports`,
      `remove its interfaces and gateway first (l3ctl interface list ${router.name})`,
    );
  }
  router.ha_vr_id = ha ? allocateVrId(state.routers.filter((r) => r !== router)) : null;
  router.ha = ha;
  return true;
}
