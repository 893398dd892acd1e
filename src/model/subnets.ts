// Subnets and fixed IPs (store version 2): lookups every layer needs, and
// the one-line texts that keep the old single-address columns (cidr,
// gateway_ip, ip_address) meaningful for dual-stack objects.
import type { FixedIp, Network, Port, State, Subnet } from './types.js';

/** The network's subnet of one IP version (at most one of each), or undefined. */
export const subnetOfVersion = (n: Network, version: 4 | 6): Subnet | undefined => n.subnets.find((s) => s.ip_version === version);

/** The port's address on a subnet of one IP version, or undefined. */
export function fixedIpOfVersion(p: Port, n: Network, version: 4 | 6): FixedIp | undefined {
  const s = subnetOfVersion(n, version);
  return s ? p.fixed_ips.find((f) => f.subnet_id === s.id) : undefined;
}

/** Subnets by id, with their network: one map for a whole state (ports refer to subnets by id). */
export function subnetIndex(state: State): Map<string, { subnet: Subnet; network: Network }> {
  const out = new Map<string, { subnet: Subnet; network: Network }>();
  for (const n of state.networks) for (const s of n.subnets) out.set(s.id, { subnet: s, network: n });
  return out;
}

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
