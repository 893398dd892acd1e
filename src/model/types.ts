// Desired state as kept in the store. Field names follow Neutron's API where
// an operator sees them (-c columns, -f json).

/** How IPv6 hosts of a subnet learn their address (Neutron's ipv6_ra_mode / ipv6_address_mode values). */
export type Ipv6Mode = 'slaac' | 'dhcpv6-stateless' | 'dhcpv6-stateful';
export const IPV6_MODES: readonly Ipv6Mode[] = ['slaac', 'dhcpv6-stateless', 'dhcpv6-stateful'];

/** One address range of a network: at most one IPv4 and one IPv6 subnet per network. */
export interface Subnet {
  id: string;
  cidr: string; // canonical network CIDR, e.g. 198.51.100.0/24 or 2001:db8:1::/64
  gateway_ip: string | null;
  ip_version: 4 | 6;
  /** Who sends router advertisements: the router (radvd) with these flags; null: not the router. IPv6 only. */
  ipv6_ra_mode: Ipv6Mode | null;
  /** How hosts get their address (kept for Neutron's API; l3ctl runs no DHCPv6). IPv6 only. */
  ipv6_address_mode: Ipv6Mode | null;
}

export interface Network {
  id: string;
  name: string;
  subnets: Subnet[];
  external: boolean;
  bridge: string | null; // operator-named bridge; null: brq<id[:11]>
}

/** A port's address on one subnet of its network. */
export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

export interface Port {
  id: string;
  network_id: string;
  /** One address per subnet of the network it has an address on (IPv4, IPv6, or both). */
  fixed_ips: FixedIp[];
  mac_address: string;
  admin_state_up: boolean;
}

export interface Route {
  destination: string; // canonical CIDR, IPv4 or IPv6
  nexthop: string; // of the destination's family
}

export interface Router {
  id: string;
  name: string;
  admin_state_up: boolean;
  gateway: Port | null;
  interfaces: Port[];
  routes: Route[];
  /** An HA router: keepalived (VRRP) on every node that has it elects the one holding its addresses. */
  ha: boolean;
  /** Its VRRP id on the HA network (1-254): allocated once and stored, so every node renders the same; null unless ha. */
  ha_vr_id: number | null;
}

export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  fixed_ip_address: string | null;
  router_id: string | null;
}

export type ConfigValues = Record<string, string>;

export interface State {
  version: number;
  config: ConfigValues;
  networks: Network[];
  routers: Router[];
  floatingips: FloatingIp[];
}

/**
 * The store's version; older stores are brought up to it on load
 * (src/store/migrate.ts). 1: one IPv4 subnet per network (cidr, gateway_ip),
 * one address per port (ip_address). 2: routers gain ha, ha_vr_id. 3: networks
 * hold subnets, ports fixed_ips (IPv6).
 */
export const STATE_VERSION = 3;

export function emptyState(): State {
  return { version: STATE_VERSION, config: {}, networks: [], routers: [], floatingips: [] };
}
