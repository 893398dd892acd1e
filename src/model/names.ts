// Kernel names, derived from ids exactly as the L3 agent derives them.
import type { Network } from './types.js';

export const NS_PREFIX = 'qrouter-';
export const INTERNAL_DEV_PREFIX = 'qr-';
export const EXTERNAL_DEV_PREFIX = 'qg-';
/** An HA router's port on the HA network (Neutron's `ha-` device). */
export const HA_DEV_PREFIX = 'ha-';
export const TAP_PREFIX = 'tap';
export const BRIDGE_PREFIX = 'brq';
export const CHAIN_PREFIX = 'l3ctl-';

const short = (id: string) => id.slice(0, 11);

export const namespaceName = (routerId: string) => NS_PREFIX + routerId;
export const internalDevice = (portId: string) => INTERNAL_DEV_PREFIX + short(portId);
export const gatewayDevice = (portId: string) => EXTERNAL_DEV_PREFIX + short(portId);
export const haDevice = (portId: string) => HA_DEV_PREFIX + short(portId);
export const tapDevice = (portId: string) => TAP_PREFIX + short(portId);
export const networkBridge = (net: Pick<Network, 'id' | 'bridge'>) =>
  net.bridge ?? BRIDGE_PREFIX + short(net.id);
export const chain = (name: string) => CHAIN_PREFIX + name;

/** A router port device (`qr-`/`qg-`/`ha-`): the only devices l3ctl adds or removes in a router's namespace. */
export const isRouterDevice = (name: string) => name.startsWith(INTERNAL_DEV_PREFIX) || name.startsWith(EXTERNAL_DEV_PREFIX) || name.startsWith(HA_DEV_PREFIX);

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isUuid = (s: string) => UUID_RE.test(s);

/** The router id of a `qrouter-<uuid>` namespace name, or null. */
export function routerIdOfNamespace(ns: string): string | null {
  if (!ns.startsWith(NS_PREFIX)) return null;
  const id = ns.slice(NS_PREFIX.length);
  return isUuid(id) ? id : null;
}
