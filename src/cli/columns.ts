// The -c columns of each kind of object, in their documented order (cli.md,
// "Fields"): Neutron's API field names. Data only, so that the command table
// can declare them without loading the nouns that print them.

export const NETWORK_COLUMNS = ['id', 'name', 'cidr', 'gateway_ip', 'router:external', 'bridge'];
/** network add/show: the row, then each subnet in full. */
export const NETWORK_SHOW_COLUMNS = [...NETWORK_COLUMNS, 'subnets'];
export const SUBNET_COLUMNS = ['id', 'network_id', 'cidr', 'ip_version', 'gateway_ip', 'ipv6_ra_mode', 'ipv6_address_mode'];
export const ROUTER_COLUMNS = ['id', 'name', 'admin_state_up', 'external_gateway_info', 'interfaces', 'routes', 'floating_ips', 'ha'];
/** `router list` also says what keepalived says of an HA router on this node (read, not stored). */
export const ROUTER_LIST_COLUMNS = [...ROUTER_COLUMNS, 'ha_state'];
/** router show: the router's row, then where it lives, what it should be and what the kernel has. */
export const ROUTER_SHOW_COLUMNS = [...ROUTER_LIST_COLUMNS, 'ha_vr_id', 'namespace', 'desired', 'live', 'drift', 'notices'];
export const PORT_COLUMNS = ['id', 'router_id', 'network_id', 'ip_address', 'mac_address', 'device'];
export const FIP_COLUMNS = ['id', 'floating_ip_address', 'fixed_ip_address', 'router_id', 'status', 'floating_network_id'];
export const ROUTE_COLUMNS = ['router_id', 'destination', 'nexthop'];
export const CONFIG_COLUMNS = ['key', 'value', 'default', 'source'];
/** diagnose: one row per check. */
export const DIAGNOSE_COLUMNS = ['check', 'status', 'found', 'command', 'fix'];
/** agent check: one row per difference between the store and the kernel. */
export const FINDING_COLUMNS = ['router', 'router_id', 'kind', 'object', 'expected', 'live'];
/** agent status (table and value: flat; json keeps the agent's `configurations` nesting). */
export const REPORT_COLUMNS = [
  'binary', 'host', 'topic', 'agent_type', 'use_namespaces', 'router_id', 'handle_internal_only_routers',
  'gateway_external_network_id', 'interface_driver', 'routers', 'ex_gw_ports', 'interfaces', 'floating_ips', 'time',
];
/** lab check: one row per check with real traffic (src/lab/check.ts CHECK_COLUMNS, written out so the table loads no lab code). */
export const LAB_CHECK_COLUMNS = ['check', 'expected', 'seen', 'result'];
