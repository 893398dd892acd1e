// The agent's options (cli.md, "Configuration keys"): names, defaults, checks.
import { UsageError } from './errors.js';
import type { ConfigValues } from './types.js';
import { isUuid } from './names.js';
import { parseUpstream } from './upstream.js';

export interface ConfigKey {
  name: string;
  default: string | null;
  help: string;
  choices?: string[];
  /**
   * Belongs to this node, not to the site: `export` leaves it out and
   * `apply` keeps the local value (a second node gets the same routers, not
   * the first node's identity or namespaces).
   */
  perNode?: boolean;
  /** Returns the canonical value or throws UsageError. */
  check(v: string): string;
}

const bool = (name: string) => (v: string) => {
  const l = v.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(l)) return 'true';
  if (['false', '0', 'no', 'off'].includes(l)) return 'false';
  throw new UsageError(`invalid value '${v}' for ${name}: expected true or false`);
};
const int = (name: string, min: number, max: number) => (v: string) => {
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`invalid value '${v}' for ${name}: expected an integer from ${min} to ${max}`);
  return String(Number(v));
};
const ifname = (name: string, allowEmpty: boolean) => (v: string) => {
  if (v === '' && allowEmpty) return v;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(v))
    throw new UsageError(`invalid value '${v}' for ${name}: expected an interface name of 1-15 characters [A-Za-z0-9_.-]`);
  return v;
};
const nsname = (name: string) => (v: string) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(v))
    throw new UsageError(`invalid value '${v}' for ${name}: expected a namespace name of [A-Za-z0-9_.-]`);
  return v;
};
const uuid = (name: string) => (v: string) => {
  if (!isUuid(v.toLowerCase())) throw new UsageError(`invalid value '${v}' for ${name}: expected a UUID`);
  return v.toLowerCase();
};

const ipv4 = (name: string) => (v: string) => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) throw new UsageError(`invalid value '${v}' for ${name}: expected an IPv4 address such as 169.254.192.1`);
  return m.slice(1).map(Number).join('.');
};
/** A network by name or id, resolved against the store when it is used (it may be added after). */
const networkRef = (name: string) => (v: string) => {
  if (isUuid(v.toLowerCase())) return v.toLowerCase();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(v)) throw new UsageError(`invalid value '${v}' for ${name}: expected a network name or id`);
  return v;
};

const DRIVER_ALIASES: Record<string, string> = {
  linuxbridge: 'linuxbridge',
  'quantum.agent.linux.interface.BridgeInterfaceDriver': 'linuxbridge',
  'neutron.agent.linux.interface.BridgeInterfaceDriver': 'linuxbridge',
  ovs: 'ovs',
  'quantum.agent.linux.interface.OVSInterfaceDriver': 'ovs',
  'neutron.agent.linux.interface.OVSInterfaceDriver': 'ovs',
};

export const CONFIG_KEYS: ConfigKey[] = [
  {
    name: 'interface_driver',
    default: 'linuxbridge',
    help: 'how ports are plugged: linuxbridge (veth + bridge) or ovs',
    choices: ['linuxbridge', 'ovs'],
    check(v) {
      const d = DRIVER_ALIASES[v];
      if (!d) throw new UsageError(`invalid value '${v}' for interface_driver: expected linuxbridge or ovs`);
      return d;
    },
  },
  { name: 'external_network_bridge', default: 'br-ex', help: "operator's bridge for gateway ports; empty: the external network's own bridge (ovs: the integration bridge)", check: ifname('external_network_bridge', true) },
  { name: 'ovs_integration_bridge', default: 'br-int', help: 'Open vSwitch bridge for internal ports (interface_driver ovs)', check: ifname('ovs_integration_bridge', false) },
  { name: 'send_arp_for_ha', default: '3', help: 'gratuitous ARPs per new address; 0 turns them off', check: int('send_arp_for_ha', 0, 100) },
  { name: 'use_namespaces', default: 'true', help: 'one namespace per router', choices: ['true', 'false'], check: bool('use_namespaces') },
  { name: 'router_id', default: null, help: 'the one router this host handles', perNode: true, check: uuid('router_id') },
  { name: 'handle_internal_only_routers', default: 'true', help: 'handle routers without a gateway', choices: ['true', 'false'], check: bool('handle_internal_only_routers') },
  { name: 'gateway_external_network_id', default: null, help: 'the external network this host serves', check: uuid('gateway_external_network_id') },
  { name: 'enable_metadata_proxy', default: 'true', help: 'metadata NAT rules and proxy per router', choices: ['true', 'false'], check: bool('enable_metadata_proxy') },
  { name: 'metadata_port', default: '9697', help: 'port the metadata proxy listens on in the router namespace', check: int('metadata_port', 1, 65535) },
  { name: 'network_device_mtu', default: null, help: "MTU set on both ends of every port when set (unset: the kernel's, and left as it is)", check: int('network_device_mtu', 68, 65535) },
  { name: 'use_random_fully', default: 'true', help: 'SNAT rules with --random-fully (when iptables has it), against source port collisions', choices: ['true', 'false'], check: bool('use_random_fully') },
  { name: 'periodic_interval', default: '40', help: 'seconds between passes of agent run', check: int('periodic_interval', 1, 86400) },
  { name: 'host_namespace', default: null, help: 'namespace holding bridges and host-side veth ends (created if missing)', perNode: true, check: nsname('host_namespace') },
  {
    name: 'metadata_upstream',
    default: null,
    help: 'unix socket path or http URL the metadata proxy forwards to',
    check(v) {
      try {
        parseUpstream(v);
      } catch (e) {
        throw new UsageError(`invalid value '${v}' for metadata_upstream: ${(e as Error).message}`, 'a unix socket path such as /run/nova/metadata.sock, or http://HOST:PORT');
      }
      return v;
    },
  },
  { name: 'ha_network', default: null, help: 'the internal network the nodes share for VRRP between HA routers (name or id; Neutron: 169.254.192.0/18)', check: networkRef('ha_network') },
  { name: 'ha_node_address', default: null, help: "this node's address on the HA network (unset: derived from /etc/machine-id); each node needs its own", perNode: true, check: ipv4('ha_node_address') },
  { name: 'ha_vrrp_advert_int', default: '2', help: 'seconds between VRRP advertisements of HA routers; a failover takes about 3 of them', check: int('ha_vrrp_advert_int', 1, 255) },
  {
    name: 'ha_vrrp_auth_type',
    default: 'PASS',
    help: 'VRRP authentication of HA routers, used when ha_vrrp_auth_password is set: PASS or AH',
    choices: ['PASS', 'AH'],
    check(v) {
      const t = v.toUpperCase();
      if (t !== 'PASS' && t !== 'AH') throw new UsageError(`invalid value '${v}' for ha_vrrp_auth_type: expected PASS or AH`);
      return t;
    },
  },
  {
    name: 'ha_vrrp_auth_password',
    default: null,
    help: 'VRRP password of HA routers (1-8 characters, the same on every node); unset: no authentication',
    check(v) {
      // keepalived keeps 8 characters; quotes, # and ! would end the value in keepalived.conf.
      if (!/^[\x21-\x7e]{1,8}$/.test(v) || /["'#!]/.test(v)) throw new UsageError(`invalid value for ha_vrrp_auth_password: expected 1-8 printable characters without spaces, quotes, # or !`);
      return v;
    },
  },
];

export const CONFIG_KEY_NAMES = CONFIG_KEYS.map((k) => k.name);

/** Keys of one node (ConfigKey.perNode): never carried from node to node. */
export const isPerNodeKey = (name: string): boolean => CONFIG_KEYS.some((k) => k.name === name && k.perNode);

/**
 * Keys that decide where devices live: changing one under existing ports
 * would strand those ports (`config set` and `apply` refuse it).
 */
export const PLACEMENT_KEYS = ['host_namespace', 'interface_driver', 'use_namespaces'];

export function configKey(name: string): ConfigKey {
  const k = CONFIG_KEYS.find((c) => c.name === name);
  if (!k) {
    throw new UsageError(`unknown config key '${name}'`, `valid keys: ${CONFIG_KEY_NAMES.join(', ')}`);
  }
  return k;
}

/** Effective configuration: stored values over defaults. */
export interface Config {
  interface_driver: 'linuxbridge' | 'ovs';
  external_network_bridge: string;
  ovs_integration_bridge: string;
  send_arp_for_ha: number;
  use_namespaces: boolean;
  router_id: string | null;
  handle_internal_only_routers: boolean;
  gateway_external_network_id: string | null;
  enable_metadata_proxy: boolean;
  metadata_port: number;
  /** Set on both ends of every port (the agent's network_device_mtu); null: left alone. */
  network_device_mtu: number | null;
  periodic_interval: number;
  host_namespace: string | null;
  metadata_upstream: string | null;
  use_random_fully: boolean;
  /** The HA network as configured (a name or id, resolved against the store by src/model/ha.ts). */
  ha_network: string | null;
  ha_node_address: string | null;
  ha_vrrp_advert_int: number;
  ha_vrrp_auth_type: 'PASS' | 'AH';
  ha_vrrp_auth_password: string | null;
}

export function effectiveConfig(values: ConfigValues): Config {
  const get = (n: string) => (n in values ? values[n]! : configKey(n).default);
  return {
    interface_driver: get('interface_driver') as 'linuxbridge' | 'ovs',
    external_network_bridge: get('external_network_bridge') ?? '',
    ovs_integration_bridge: get('ovs_integration_bridge') ?? 'br-int',
    send_arp_for_ha: Number(get('send_arp_for_ha')),
    use_namespaces: get('use_namespaces') === 'true',
    router_id: get('router_id'),
    handle_internal_only_routers: get('handle_internal_only_routers') === 'true',
    gateway_external_network_id: get('gateway_external_network_id'),
    enable_metadata_proxy: get('enable_metadata_proxy') === 'true',
    metadata_port: Number(get('metadata_port')),
    network_device_mtu: get('network_device_mtu') === null ? null : Number(get('network_device_mtu')),
    periodic_interval: Number(get('periodic_interval')),
    host_namespace: get('host_namespace'),
    metadata_upstream: get('metadata_upstream'),
    use_random_fully: get('use_random_fully') === 'true',
    ha_network: get('ha_network'),
    ha_node_address: get('ha_node_address'),
    ha_vrrp_advert_int: Number(get('ha_vrrp_advert_int')),
    ha_vrrp_auth_type: get('ha_vrrp_auth_type') as 'PASS' | 'AH',
    ha_vrrp_auth_password: get('ha_vrrp_auth_password'),
  };
}
