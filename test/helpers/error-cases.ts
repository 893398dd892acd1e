// The bad inputs of issue 4, as one table shared by the unit variant (a
// hand-written store, no kernel: test/unit/cli-errors.test.ts) and the e2e
// variant (a real topology: test/e2e/errors.test.ts). Every case must exit 2
// with a first stderr line naming the bad value, and change nothing.
//
// The topology both variants have (TOPOLOGY_COMMANDS builds it for real):
//   ext  203.0.113.0/24 gateway 203.0.113.1, external
//   priv 198.51.100.0/24 (gateway 198.51.100.1)
//   n3   192.0.2.0/25   (no router on it)
//   over 198.51.100.0/25 (overlaps priv: allowed, no router on it)
//   r1: gateway on ext at 203.0.113.10, interface on priv at 198.51.100.1,
//       route 192.0.2.128/25 via 198.51.100.254,
//       floating IP 203.0.113.20 -> 198.51.100.5
import type { State } from '../../src/model/types.js';
import { net, port } from './one-subnet.js';
import { baseCommands } from './e2e.js';

export interface ErrorCase {
  what: string;
  args: string[];
  /** The first stderr line must match. */
  first: RegExp;
  /** When given, some `hint:` line must match. */
  hint?: RegExp;
  code?: number;
}

/** priv's id, so a case can reuse its first 11 characters (its bridge name). */
export const PRIV_ID = 'd1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6';

export const TOPOLOGY_COMMANDS = (hostNs: string): string[][] => [
  ...baseCommands(hostNs),
  ['network', 'add', 'priv', '--cidr', '198.51.100.0/24', '--id', PRIV_ID],
  ['network', 'add', 'n3', '--cidr', '192.0.2.0/25'],
  ['network', 'add', 'over', '--cidr', '198.51.100.0/25'],
  ['router', 'add', 'r1'],
  ['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10'],
  ['interface', 'add', 'r1', 'priv'],
  ['route', 'add', 'r1', '192.0.2.128/25', '198.51.100.254'],
  ['fip', 'associate', '203.0.113.20', '198.51.100.5'],
];

const EXT = 'e0000001-0000-4000-8000-000000000001';
const PRIV = PRIV_ID;
const N3 = 'e0000003-0000-4000-8000-000000000003';
const R1 = 'e0000004-0000-4000-8000-000000000004';

// The same topology, hand-written (no kernel): the unit variant's store.
export const HAND_WRITTEN: State = {
  version: 3,
  config: { host_namespace: 'l3ctl-t-unit-never-created', external_network_bridge: '', send_arp_for_ha: '0' },
  networks: [
    net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
    net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
    net({ id: N3, name: 'n3', cidr: '192.0.2.0/25', gateway_ip: '192.0.2.1', external: false, bridge: null }),
    net({ id: 'e0000008-0000-4000-8000-000000000008', name: 'over', cidr: '198.51.100.0/25', gateway_ip: '198.51.100.1', external: false, bridge: null }),
  ],
  routers: [
    {
      id: R1,
      name: 'r1',
      admin_state_up: true,
      ha: false,
      ha_vr_id: null,
      gateway: port({ id: 'e0000005-0000-4000-8000-000000000005', network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:05', admin_state_up: true }),
      interfaces: [port({ id: 'e0000006-0000-4000-8000-000000000006', network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:06', admin_state_up: true })],
      routes: [{ destination: '192.0.2.128/25', nexthop: '198.51.100.254' }],
    },
  ],
  floatingips: [
    { id: 'e0000007-0000-4000-8000-000000000007', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R1 },
  ],
};

const E = (s: string) => new RegExp(`^l3ctl: error: ${s}`);
const NEW_ID = '0b8d2c5e-1111-4222-8333-944455566677';

export const ERROR_CASES: ErrorCase[] = [
  // Malformed CIDRs and addresses.
  { what: 'CIDR prefix over 32', args: ['network', 'add', 'n9', '--cidr', '198.51.100.0/33'], first: E(`invalid CIDR '198\\.51\\.100\\.0/33'.*expected a CIDR such as`) },
  { what: 'CIDR not an address', args: ['network', 'add', 'n9', '--cidr', 'banana'], first: E(`invalid CIDR 'banana'.*expected a CIDR such as`) },
  { what: 'gateway IP octet over 255', args: ['network', 'add', 'n9', '--cidr', '192.0.2.128/25', '--gateway-ip', '198.51.100.300'], first: E(`invalid gateway IP '198\\.51\\.100\\.300'.*expected an IPv4 address`) },
  { what: 'gateway IP outside its subnet', args: ['network', 'add', 'n9', '--cidr', '192.0.2.128/25', '--gateway-ip', '192.0.2.5'], first: E(`gateway IP 192\\.0\\.2\\.5 of network 'n9' is outside 192\\.0\\.2\\.128/25: expected a host address`) },
  { what: 'gateway IP the broadcast address', args: ['network', 'add', 'n9', '--cidr', '192.0.2.128/25', '--gateway-ip', '192.0.2.255'], first: E(`gateway IP 192\\.0\\.2\\.255 .*broadcast address`) },
  { what: 'route destination malformed', args: ['route', 'add', 'r1', '192.0.2.300/24', '198.51.100.254'], first: E(`invalid destination '192\\.0\\.2\\.300/24'`) },
  { what: 'route nexthop malformed', args: ['route', 'add', 'r1', '192.0.2.128/25', 'banana'], first: E(`invalid nexthop 'banana'.*expected an IPv4 address`) },
  { what: 'fixed IP malformed', args: ['fip', 'associate', '203.0.113.21', '198.51.100.300'], first: E(`invalid fixed IP '198\\.51\\.100\\.300'`) },
  // Conflicts with what exists.
  // Networks may overlap (tenants reuse address space); one router's subnets may not.
  { what: 'interface on a subnet overlapping another of the router', args: ['interface', 'add', 'r1', 'over', '--ip', '198.51.100.2'], first: E(`198\\.51\\.100\\.0/25 of network 'over' overlaps 198\\.51\\.100\\.0/24 of network 'priv' on router 'r1'`) },
  { what: 'network id whose bridge name another network has', args: ['network', 'add', 'n9', '--cidr', '192.0.2.128/25', '--id', 'd1e2f3a4-b5ff-4fff-8fff-ffffffffffff'], first: E(`bridge brqd1e2f3a4-b5 of network 'n9' is already the kernel name of network 'priv'`) },
  { what: 'duplicate network name', args: ['network', 'add', 'priv', '--cidr', '192.0.2.128/25'], first: E(`a network named 'priv' already exists with a different definition`) },
  { what: 'duplicate router name with another id', args: ['router', 'add', 'r1', '--id', NEW_ID], first: E(`a router named 'r1' already exists with a different definition`) },
  // Names.
  { what: 'name with a space', args: ['router', 'add', 'a b'], first: E(`invalid router name 'a b' \\(' ' is not allowed\\): expected 1-64 characters`) },
  { what: 'name with ;', args: ['router', 'add', 'a;rm'], first: E(`invalid router name 'a;rm' \\(';' is not allowed\\)`) },
  { what: 'name with $', args: ['network', 'add', 'a$HOME', '--cidr', '192.0.2.128/25'], first: E(`invalid network name 'a\\$HOME' \\('\\$' is not allowed\\)`) },
  { what: "name with '", args: ['router', 'add', "it's"], first: E(`invalid router name 'it's' \\(''' is not allowed\\)`) },
  { what: 'name with "', args: ['router', 'add', 'a"b'], first: E(`invalid router name 'a"b' \\('"' is not allowed\\)`) },
  { what: 'name of 65 characters', args: ['router', 'add', 'r'.repeat(65)], first: E(`invalid router name 'r{65}' \\(it is 65 characters long\\)`) },
  { what: 'name starting with .', args: ['router', 'add', '.r'], first: E(`invalid router name '\\.r' \\(it must start with a letter or digit\\)`) },
  // Ids.
  { what: 'malformed router --id', args: ['router', 'add', 'r9', '--id', '1234'], first: E(`invalid router id '1234': expected a UUID`) },
  { what: 'malformed network --id', args: ['network', 'add', 'n9', '--cidr', '192.0.2.128/25', '--id', 'not-a-uuid'], first: E(`invalid network id 'not-a-uuid': expected a UUID`) },
  { what: 'malformed port --id', args: ['interface', 'add', 'r1', 'n3', '--id', 'xyz'], first: E(`invalid port id 'xyz': expected a UUID`) },
  // A name that is another object's id could never be told apart from it (priv's id is the same in the e2e topology).
  { what: 'network name that is another network id', args: ['network', 'add', PRIV_ID, '--cidr', '192.0.2.128/25'], first: E(`network name '${PRIV_ID}' is the id of network 'priv': expected a name that is no network's id`) },
  { what: 'network name that is another network id, in capitals', args: ['network', 'add', PRIV_ID.toUpperCase(), '--cidr', '192.0.2.128/25'], first: E(`network name '${PRIV_ID.toUpperCase()}' is the id of network 'priv'`) },
  { what: 'ha_network an external network', args: ['config', 'set', 'ha_network', 'ext'], first: E(`ha_network 'ext' is an external network`) },
  { what: 'a negative number is a value, refused for its range', args: ['config', 'set', 'send_arp_for_ha', '-1'], first: E(`invalid value '-1' for send_arp_for_ha: expected an integer from 0 to 100`) },
  { what: 'subnet delete in the older NETWORK SUBNET form', args: ['subnet', 'delete', 'n3', '192.0.2.0/25'], first: E(`too many arguments for 'delete'`), hint: /^hint: did you mean `l3ctl subnet delete 192\.0\.2\.0\/25`\?$/ },
  { what: 'unknown subnet', args: ['subnet', 'delete', '192.0.2.128/25'], first: E(`unknown subnet '192\.0\.2\.128/25': expected the CIDR, id or id prefix of an existing subnet`), hint: /^hint: subnets: 203\.0\.113\.0\/24, / },
  { what: 'fip create with an address (openstackclient habit)', args: ['fip', 'create', '203.0.113.30'], first: E(`unknown command 'create'`), hint: /^hint: did you mean `l3ctl fip add 203\.0\.113\.30`\?$/ },
  { what: 'fixed IP the broadcast address of the subnet', args: ['fip', 'associate', '203.0.113.21', '198.51.100.255'], first: E(`fixed IP 198\.51\.100\.255 is the broadcast address of 198\.51\.100\.0/24: expected a host address from 198\.51\.100\.1 to 198\.51\.100\.254`) },
  { what: '--bridge named like another network bridge', args: ['network', 'add', 'nb', '--cidr', '192.0.2.128/25', '--bridge', `brq${PRIV_ID.slice(0, 11)}`], first: E(`bridge brq${PRIV_ID.slice(0, 11)} of network 'nb' is already the kernel name of network 'priv': expected a bridge name no other network uses`) },
  { what: 'id prefix shorter than 4 characters', args: ['network', 'show', PRIV_ID.slice(0, 3)], first: E(`unknown network '${PRIV_ID.slice(0, 3)}'`), hint: /^hint: an id prefix needs at least 4 characters$/ },
  // Unknown names, with the closest one as hint.
  { what: 'unknown router', args: ['router', 'show', 'r2'], first: E(`unknown router 'r2'`), hint: /^hint: did you mean 'r1'\?/ },
  { what: 'unknown router in a mutation', args: ['route', 'add', 'rl', '192.0.2.128/25', '198.51.100.254'], first: E(`unknown router 'rl'`), hint: /did you mean 'r1'/ },
  { what: 'unknown network', args: ['interface', 'add', 'r1', 'privv'], first: E(`unknown network 'privv'`), hint: /did you mean 'priv'/ },
  { what: 'unknown port', args: ['interface', 'remove', 'r1', 'prv'], first: E(`router 'r1' has no interface on 'prv'`), hint: /did you mean 'priv'/ },
  { what: 'unknown floating IP', args: ['fip', 'disassociate', '203.0.113.2'], first: E(`unknown floating IP '203\\.0\\.113\\.2'`), hint: /did you mean '203\.0\.113\.20'/ },
  { what: 'unknown config key (set)', args: ['config', 'set', 'send_arp_for_hb', '1'], first: E(`unknown config key 'send_arp_for_hb'`), hint: /did you mean 'send_arp_for_ha'/ },
  { what: 'unknown config key (get)', args: ['config', 'get', 'router_idd'], first: E(`unknown config key 'router_idd'`), hint: /did you mean 'router_id'/ },
  // External vs internal.
  { what: 'external network as interface', args: ['interface', 'add', 'r1', 'ext'], first: E(`network 'ext' is external`) },
  { what: 'internal network as gateway', args: ['gateway', 'set', 'r1', 'priv'], first: E(`network 'priv' is not external.*expected an external network`) },
  // Interface addresses.
  { what: 'interface IP outside its subnet', args: ['interface', 'add', 'r1', 'n3', '--ip', '198.51.100.7'], first: E(`interface IP 198\\.51\\.100\\.7 on network 'n3' is outside 192\\.0\\.2\\.0/25: expected a host address from 192\\.0\\.2\\.1 to 192\\.0\\.2\\.126`) },
  { what: 'interface IP the network address', args: ['interface', 'add', 'r1', 'n3', '--ip', '192.0.2.0'], first: E(`interface IP 192\\.0\\.2\\.0 on network 'n3' is the network address`) },
  { what: 'interface IP the broadcast address', args: ['interface', 'add', 'r1', 'n3', '--ip', '192.0.2.127'], first: E(`interface IP 192\\.0\\.2\\.127 on network 'n3' is the broadcast address`) },
  { what: 'second port of a router on one subnet', args: ['interface', 'add', 'r1', 'priv', '--ip', '198.51.100.9'], first: E(`router 'r1' already has a port on network 'priv'`) },
  { what: 'bad MAC', args: ['interface', 'add', 'r1', 'n3', '--mac', 'zz:16:3e:00:00:01'], first: E(`invalid MAC address 'zz:16:3e:00:00:01'.*expected a unicast address`) },
  { what: 'multicast MAC', args: ['interface', 'add', 'r1', 'n3', '--mac', '01:16:3e:00:00:01'], first: E(`invalid MAC address '01:16:3e:00:00:01' \\(a multicast address`) },
  { what: 'bad gateway MAC', args: ['gateway', 'set', 'r1', 'ext', '--mac', 'fa:16:3e:00:01'], first: E(`invalid MAC address 'fa:16:3e:00:01'`) },
  // Gateway and floating IPs.
  { what: 'gateway IP outside the external subnet', args: ['gateway', 'set', 'r1', 'ext', '--ip', '198.51.100.10'], first: E(`gateway address 198\\.51\\.100\\.10 on external network 'ext' is outside 203\\.0\\.113\\.0/24`) },
  { what: 'gateway IP the upstream gateway', args: ['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.1'], first: E(`gateway address 203\\.0\\.113\\.1 is already used by the gateway IP of network 'ext'`) },
  { what: 'FIP outside the external subnet', args: ['fip', 'add', '198.51.100.77'], first: E(`floating IP 198\\.51\\.100\\.77 is on no external network`), hint: /ext \(203\.0\.113\.0\/24\)/ },
  { what: 'FIP outside the external subnet (associate)', args: ['fip', 'associate', '192.0.2.9', '198.51.100.6'], first: E(`floating IP 192\\.0\\.2\\.9 is on no external network`) },
  { what: 'FIP equal to the router gateway address', args: ['fip', 'associate', '203.0.113.10', '198.51.100.6'], first: E(`floating IP 203\\.0\\.113\\.10 is already used by the gateway of router 'r1'`) },
  // The object the command changes is named as the one at fault, whichever is claimed first.
  { what: 'gateway address moved onto an allocated FIP', args: ['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.20'], first: E(`gateway address 203\.0\.113\.20 is already used by floating IP 203\.0\.113\.20: expected a free address`) },
  { what: 'FIP equal to the upstream gateway', args: ['fip', 'add', '203.0.113.1'], first: E(`floating IP 203\\.0\\.113\\.1 is already used by the gateway IP of network 'ext'`) },
  { what: 'FIP the broadcast address', args: ['fip', 'add', '203.0.113.255'], first: E(`floating IP 203\\.0\\.113\\.255 on external network 'ext' is the broadcast address`) },
  { what: 'fixed IP already mapped by another FIP', args: ['fip', 'associate', '203.0.113.21', '198.51.100.5'], first: E(`fixed IP 198\\.51\\.100\\.5 already has floating IP 203\\.0\\.113\\.20`), hint: /fip disassociate 203\.0\.113\.20/ },
  { what: 'fixed IP on none of the router subnets', args: ['fip', 'associate', '203.0.113.21', '192.0.2.9', '--router', 'r1'], first: E(`fixed IP 192\\.0\\.2\\.9 is on none of the internal subnets of router 'r1': expected a host address in 198\\.51\\.100\\.0/24`) },
  { what: 'fixed IP on no router subnet', args: ['fip', 'associate', '203.0.113.21', '192.0.2.9'], first: E(`fixed IP 192\\.0\\.2\\.9 is on no router's internal subnet`) },
  { what: "fixed IP the router's own address", args: ['fip', 'associate', '203.0.113.21', '198.51.100.1'], first: E(`fixed IP 198\\.51\\.100\\.1 is the router's own interface address`) },
  // Routes.
  { what: 'route to 0.0.0.0/0', args: ['route', 'add', 'r1', '0.0.0.0/0', '198.51.100.254'], first: E(`route 0\\.0\\.0\\.0/0 via 198\\.51\\.100\\.254 of router 'r1': a /0 destination is the default route, which the gateway owns`) },
  { what: 'route onto a subnet of the router', args: ['route', 'add', 'r1', '198.51.100.0/25', '198.51.100.254'], first: E(`route 198\\.51\\.100\\.0/25 via 198\\.51\\.100\\.254 of router 'r1': 198\\.51\\.100\\.0/25 overlaps 198\\.51\\.100\\.0/24 of network 'priv'`) },
  { what: "route via the router's own address", args: ['route', 'add', 'r1', '192.0.2.0/26', '198.51.100.1'], first: E(`nexthop 198\\.51\\.100\\.1 of route 192\\.0\\.2\\.0/26 is the router's own address`) },
  { what: 'route via a network address', args: ['route', 'add', 'r1', '192.0.2.0/26', '198.51.100.0'], first: E(`nexthop 198\\.51\\.100\\.0 of route 192\\.0\\.2\\.0/26 is the network address`) },
  { what: 'route nexthop on none of the subnets', args: ['route', 'add', 'r1', '192.0.2.128/25', '192.0.2.9'], first: E(`nexthop 192\\.0\\.2\\.9 of route 192\\.0\\.2\\.128/25 is on none of the subnets of router 'r1': expected an address in`) },
  // Config values.
  { what: 'config value not an integer', args: ['config', 'set', 'send_arp_for_ha', 'lots'], first: E(`invalid value 'lots' for send_arp_for_ha: expected an integer`) },
  { what: 'config value not a boolean', args: ['config', 'set', 'use_namespaces', 'maybe'], first: E(`invalid value 'maybe' for use_namespaces: expected true or false`) },
  { what: 'config value out of range', args: ['config', 'set', 'metadata_port', '70000'], first: E(`invalid value '70000' for metadata_port`) },
  { what: 'config bridge name with a space', args: ['config', 'set', 'external_network_bridge', 'br ex'], first: E(`invalid value 'br ex' for external_network_bridge`) },
  // Deleting what is in use.
  { what: 'delete a network a router uses', args: ['network', 'delete', 'priv'], first: E(`network 'priv' is in use by router r1`) },
  { what: 'delete a network a router uses (--yes)', args: ['network', 'delete', 'ext', '--yes'], first: E(`network 'ext' is in use by router r1, floating IP 203\\.0\\.113\\.20`) },
  { what: 'clear a gateway a FIP needs', args: ['gateway', 'clear', 'r1'], first: E(`router 'r1' gateway is in use by floating IP 203\\.0\\.113\\.20`) },
  // Commander's own errors.
  { what: 'unknown subcommand', args: ['router', 'frob'], first: E(`unknown command 'frob'`), hint: /^hint: / },
  { what: 'misspelt subcommand', args: ['router', 'ad', 'r9'], first: E(`unknown command 'ad'`), hint: /^hint: did you mean add\?/ },
  { what: 'unknown noun', args: ['routr', 'list'], first: E(`unknown command 'routr'`), hint: /did you mean one of route, router\?/ },
  { what: 'unknown option', args: ['router', 'list', '--bogus'], first: E(`unknown option '--bogus'`) },
  { what: 'unknown global option', args: ['--bogus', 'router', 'list'], first: E(`unknown option '--bogus'`) },
  { what: 'misspelt option', args: ['router', 'list', '--formt', 'json'], first: E(`unknown option '--formt'`), hint: /did you mean --format\?/ },
  { what: 'bad choice for -f', args: ['-f', 'xml', 'router', 'list'], first: E(`option '-f, --format <format>' argument 'xml' is invalid\\. Allowed choices are table, json, value, yaml, csv`) },
  { what: 'export as csv', args: ['export', '-f', 'csv'], first: E(`export writes a document: expected -f yaml or -f json, got -f csv`) },
  { what: 'export as a table', args: ['export', '-f', 'table'], first: E(`export writes a document: expected -f yaml or -f json, got -f table`) },
  { what: 'apply without a file', args: ['apply'], first: E(`missing required argument 'file'`), hint: /^hint: usage: l3ctl apply \[options\] <file>/ },
  { what: 'missing required argument', args: ['router', 'add'], first: E(`missing required argument 'name'`), hint: /^hint: usage: l3ctl router add \[options\] <name>/ },
  { what: 'missing last argument', args: ['route', 'add', 'r1', '192.0.2.128/25'], first: E(`missing required argument 'nexthop'`) },
  { what: 'missing required option', args: ['network', 'add', 'n9'], first: E(`required option '--cidr <cidr>' not specified`) },
  { what: 'option without its value', args: ['interface', 'add', 'r1', 'n3', '--ip'], first: E(`option '--ip <ip>' argument missing`) },
  { what: 'too many arguments', args: ['router', 'add', 'r9', 'r10'], first: E(`too many arguments for 'add'`) },
  { what: 'bare noun', args: ['router'], first: E(`'l3ctl router' needs a command`) },
  { what: 'no command at all', args: [], first: E(`'l3ctl' needs a command`) },
  // IPv6 (issue 19): subnets, modes, and what stays IPv4.
  { what: 'link-local IPv6 subnet', args: ['subnet', 'add', 'n3', 'fe80::/64'], first: E(`invalid subnet: fe80::/64 is in the link-local fe80::/10 range`) },
  { what: 'multicast IPv6 subnet', args: ['subnet', 'add', 'n3', 'ff02::/64'], first: E(`invalid subnet: ff02::/64 is in the multicast ff00::/8 range`) },
  { what: 'IPv6 prefix over 128', args: ['subnet', 'add', 'n3', '2001:db8:5::/129'], first: E(`invalid CIDR '2001:db8:5::/129' \\(prefix length 129 is more than 128\\)`) },
  { what: 'SLAAC on a prefix that is not /64', args: ['subnet', 'add', 'n3', '2001:db8:5::/65', '--ipv6-ra-mode', 'slaac'], first: E(`invalid subnet: ipv6_ra_mode slaac needs a /64 prefix .*not 2001:db8:5::/65`) },
  { what: 'RA and address modes that differ', args: ['subnet', 'add', 'n3', '2001:db8:5::/64', '--ipv6-ra-mode', 'slaac', '--ipv6-address-mode', 'dhcpv6-stateful'], first: E(`invalid subnet: ipv6_ra_mode slaac and ipv6_address_mode dhcpv6-stateful of 2001:db8:5::/64 differ`) },
  { what: 'an IPv6 mode on an IPv4 subnet', args: ['network', 'add', 'n9', '--cidr', '192.0.2.128/25', '--ipv6-ra-mode', 'slaac'], first: E(`invalid subnet: ipv6_ra_mode slaac on IPv4 subnet 192\\.0\\.2\\.128/25`) },
  { what: 'a bad RA mode', args: ['subnet', 'add', 'n3', '2001:db8:5::/64', '--ipv6-ra-mode', 'dhcp'], first: /^l3ctl: error: .*dhcp/ },
  { what: 'a second IPv4 subnet', args: ['subnet', 'add', 'n3', '192.0.2.128/25'], first: E(`network 'n3' has two IPv4 subnets, 192\\.0\\.2\\.0/25 and 192\\.0\\.2\\.128/25`) },
  { what: 'IPv6 gateway IP outside its subnet', args: ['subnet', 'add', 'n3', '2001:db8:5::/64', '--gateway-ip', '2001:db8:6::1'], first: E(`gateway IP 2001:db8:6::1 of network 'n3' is outside 2001:db8:5::/64`) },
  { what: 'IPv6 floating IP', args: ['fip', 'add', '2001:db8::5'], first: E(`floating IP 2001:db8::5 is IPv6: floating IPs are IPv4 only`) },
  { what: 'IPv6 fixed IP for a floating IP', args: ['fip', 'associate', '203.0.113.21', '2001:db8:1::5'], first: E(`fixed IP 2001:db8:1::5 is IPv6: floating IPs are IPv4 only`) },
  { what: 'IPv6 route via an IPv4 nexthop', args: ['route', 'add', 'r1', '2001:db8:9::/64', '198.51.100.254'], first: E(`nexthop 198\\.51\\.100\\.254 of route 2001:db8:9::/64 is IPv4, the destination IPv6`) },
  { what: 'IPv6 interface IP on an IPv4-only network', args: ['interface', 'add', 'r1', 'n3', '--ip', '2001:db8:1::1'], first: E(`network 'n3' has no IPv6 subnet for --ip 2001:db8:1::1`) },
];
