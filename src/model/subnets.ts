// Subnets and fixed IPs (store version 3): lookups every layer needs, and
// the one-line texts that keep the old single-address columns (cidr,
// gateway_ip, ip_address) meaningful for dual-stack objects.
import type { Network, Port, Subnet } from './types.js';

/** The network's subnet of one IP version (at most one of each), or undefined. */
export const subnetOfVersion = (n: Network, version: 4 | 6): Subnet | undefined => n.subnets.find((s) => s.ip_version === version);

/**
 * The old single-value columns, for output: one value per subnet or
 * address, joined by commas (`198.51.100.0/24,2001:db8:1::/64`), so an
 * IPv4-only object prints exactly as before and a dual-stack one shows every
 * value in one field of `-f value`.
 */
export const joined = (xs: string[]): string => xs.join(',');
export const cidrsText = (n: Network): string => joined(n.subnets.map((s) => s.cidr));
export const gatewayIpsText = (n: Network): string | null => {
  const gws = n.subnets.flatMap((s) => (s.gateway_ip ? [s.gateway_ip] : []));
  return gws.length ? joined(gws) : null;
};
export const addressesText = (p: Port): string => joined(p.fixed_ips.map((f) => f.ip_address));
