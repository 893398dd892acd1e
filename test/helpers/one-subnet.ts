// Fixtures with subnets and fixed IPs (store version 3) written as briefly as the old shapes: a network
// with one IPv4 subnet (its id derived from the network id, as the store's
// migration derives it) and a port with one address on it.
import { legacySubnetId } from '../../src/store/migrate.js';
import type { Network, Port, Subnet } from '../../src/model/types.js';

export interface NetV1 {
  id: string;
  name: string;
  cidr: string;
  gateway_ip: string | null;
  external: boolean;
  bridge: string | null;
}

export interface PortV1 {
  id: string;
  network_id: string;
  ip_address: string;
  mac_address: string;
  admin_state_up: boolean;
}

/** The one subnet an older (version 1 or 2) network becomes. */
export const subnetOf = (n: Pick<NetV1, 'id' | 'cidr' | 'gateway_ip'>): Subnet => ({
  id: legacySubnetId(n.id),
  cidr: n.cidr,
  gateway_ip: n.gateway_ip,
  ip_version: n.cidr.includes(':') ? 6 : 4,
  ipv6_ra_mode: null,
  ipv6_address_mode: null,
});

export const net = (n: NetV1): Network => ({ id: n.id, name: n.name, subnets: [subnetOf(n)], external: n.external, bridge: n.bridge });

export const port = (p: PortV1): Port => ({
  id: p.id,
  network_id: p.network_id,
  fixed_ips: [{ subnet_id: legacySubnetId(p.network_id), ip_address: p.ip_address }],
  mac_address: p.mac_address,
  admin_state_up: p.admin_state_up,
});

/** The port's (first) address: what version 1 called ip_address. */
export const ipOf = (p: Port): string => p.fixed_ips[0]!.ip_address;
/** The network's (first) subnet CIDR. */
export const cidrOf = (n: Network): string => n.subnets[0]!.cidr;
