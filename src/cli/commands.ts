// The command table: every command of l3ctl as data. Parsing (parse.ts), help
// (help.ts), the man page, the README's list and the tab-completion tree
// (cmdtree.json) are all read off it. A noun's module is imported only when
// one of its verbs runs; `run` picks the verb's function out of it.
//
// To add an option to a verb: add an opt(…) line to its entry below, the
// field to the verb's options interface in its noun module, and regenerate
// the docs (node dist/src/cli/gendocs.js).
import { arg, command, noun, opt, type Command } from './define.js';
import {
  CONFIG_COLUMNS,
  DIAGNOSE_COLUMNS,
  FINDING_COLUMNS,
  FIP_COLUMNS,
  LAB_CHECK_COLUMNS,
  NETWORK_COLUMNS,
  NETWORK_SHOW_COLUMNS,
  PORT_COLUMNS,
  REPORT_COLUMNS,
  ROUTE_COLUMNS,
  ROUTER_COLUMNS,
  ROUTER_LIST_COLUMNS,
  ROUTER_SHOW_COLUMNS,
  SUBNET_COLUMNS,
} from './columns.js';
import type { OptSpec } from './cmdtree-types.js';
import { IPV6_MODES } from '../model/types.js';

export const SUMMARY =
  'Build Linux routers the way the Quantum/Neutron L3 agent does: namespaces, qr-/qg- ports, SNAT, floating IPs, extra routes.';

/** table is for people; json, yaml, value and csv print the API fields for programs. */
export const FORMATS = ['table', 'json', 'value', 'yaml', 'csv'] as const;
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export const LOG_FORMATS = ['text', 'json'] as const;

/** A new subnet's options beside its CIDR (network add, subnet add). */
const SUBNET_OPTIONS = [
  opt('--gateway-ip <ip>', "the subnet's gateway address, or 'none' (default: its first address, e.g. 198.51.100.1 or 2001:db8:1::1)"),
  opt('--ipv6-ra-mode <mode>', 'IPv6: the router advertises the prefix (radvd) with these flags', { choices: IPV6_MODES }),
  opt('--ipv6-address-mode <mode>', "IPv6: how hosts get their address (kept as Neutron's; l3ctl runs no DHCPv6)", { choices: IPV6_MODES }),
];

/** Valid before or after the command (cli.md, "Global options"). */
export const GLOBAL_OPTIONS: OptSpec[] = [
  opt('--version', 'print the version'),
  opt('--store <path>', 'state file (env L3CTL_STORE; default /var/lib/l3ctl/state.json)', { kind: 'file' }),
  opt('-f, --format <format>', 'output format; table is for people, the others print every API field for programs', { choices: FORMATS }),
  opt('-c, --column <column>', 'only this column: an API field name or a table heading (repeatable, in this order)', { kind: 'column', repeat: true }),
  opt('--dry-run', 'print every system command that would run; change nothing'),
  opt('-y, --yes', 'answer yes to every confirmation'),
  opt('--no-input', 'never prompt'),
  opt('--no-color', 'no colours (also NO_COLOR)'),
  opt('-v, --verbose', 'echo each system command and its duration to stderr'),
  opt('-q, --quiet', 'print nothing on success'),
];

export const HELP_OPTION: OptSpec = opt('-h, --help', 'show help');

/** A list's --long: the table's other columns (formats for programs print every field anyway). */
const LONG_OPTION: OptSpec = opt('--long', 'more columns: ids and every other field');

export const COMMANDS: Command[] = [
  noun('network', { summary: 'networks and their subnets (an IPv4 subnet, an IPv6 subnet, or one of each)', examples: ['l3ctl network list'] }, () => import('./network.js'), [
    {
      name: 'add',
      mutates: true,
      summary: 'add a network with its first subnet, IPv4 or IPv6 (subnet add adds the other); creates its bridge',
      examples: ['l3ctl network add ext --cidr 203.0.113.0/24 --gateway-ip 203.0.113.1 --external', 'l3ctl network add priv --cidr 198.51.100.0/24', 'l3ctl network add priv6 --cidr 2001:db8:1::/64 --ipv6-ra-mode slaac --ipv6-address-mode slaac'],
      args: [arg('<name>')],
      options: [
        opt('--cidr <cidr>', 'the first subnet, e.g. 198.51.100.0/24 or 2001:db8:1::/64', { required: true }),
        ...SUBNET_OPTIONS,
        opt('--external', 'an external network: router gateways and floating IPs live on it'),
        opt('--bridge <bridge>', 'plug ports into this bridge instead of brq<id> (made when missing, never deleted: it may be shared)'),
        opt('--id <uuid>', 'use this id instead of a new one'),
      ],
      columns: NETWORK_SHOW_COLUMNS,
      run: (m) => m.networkAdd,
    },
    {
      name: 'delete',
      mutates: true,
      confirms: true,
      summary: 'delete a network and its brq bridge (a --bridge one stays; refused while a router or floating IP uses it, or while devices l3ctl did not plug in are on the bridge)',
      examples: ['l3ctl network delete priv', 'l3ctl network delete priv --force'],
      args: [arg('<network>', 'network')],
      options: [opt('--force', 'delete the bridge even with devices l3ctl did not plug in on it (they stay, unplugged)')],
      run: (m) => m.networkDelete,
    },
    {
      name: 'list',
      summary: 'list networks',
      examples: ['l3ctl network list', 'l3ctl network list -f value -c name -c cidr'],
      options: [LONG_OPTION],
      columns: NETWORK_COLUMNS,
      run: (m) => m.networkList,
    },
    {
      name: 'show',
      summary: 'show one network and its subnets',
      examples: ['l3ctl network show ext -f json'],
      args: [arg('<network>', 'network')],
      columns: NETWORK_SHOW_COLUMNS,
      run: (m) => m.networkShow,
    },
  ]),

  noun('subnet', { summary: "a network's address ranges: at most one IPv4 and one IPv6 subnet each", examples: ['l3ctl subnet list'] }, () => import('./subnet.js'), [
    {
      name: 'add',
      mutates: true,
      summary: "add a subnet to a network (router ports on it get an address there with interface add or gateway set)",
      examples: ['l3ctl subnet add priv 2001:db8:1::/64 --ipv6-ra-mode slaac --ipv6-address-mode slaac', 'l3ctl subnet add ext 2001:db8:ff::/64 --gateway-ip 2001:db8:ff::1'],
      args: [arg('<network>', 'network'), arg('<cidr>')],
      options: [...SUBNET_OPTIONS, opt('--id <uuid>', 'use this id instead of a new one')],
      columns: SUBNET_COLUMNS,
      run: (m) => m.subnetAdd,
    },
    {
      name: 'delete',
      mutates: true,
      summary: 'delete a subnet, given by CIDR or id (refused while a router port or floating IP has an address on it)',
      examples: ['l3ctl subnet delete 2001:db8:1::/64', 'l3ctl subnet delete 5d1c0b7e   # an id prefix: a CIDR that networks behind different routers share'],
      args: [arg('<subnet>', 'subnet')],
      run: (m) => m.subnetDelete,
    },
    {
      name: 'list',
      summary: 'list subnets (of one network)',
      examples: ['l3ctl subnet list', 'l3ctl subnet list priv -f value -c cidr -c ipv6_ra_mode'],
      args: [arg('[network]', 'network')],
      options: [LONG_OPTION],
      columns: SUBNET_COLUMNS,
      run: (m) => m.subnetList,
    },
  ]),

  noun('router', { summary: 'routers: one namespace each', examples: ['l3ctl router list'] }, () => import('./router.js'), [
    {
      name: 'add',
      mutates: true,
      summary: 'add a router and build its namespace',
      examples: ['l3ctl router add r1'],
      args: [arg('<name>')],
      options: [
        opt('--id <uuid>', 'use this id instead of a new one'),
        opt('--disabled', 'keep it in the store only (admin state down)'),
        opt('--ha', 'an HA router: keepalived (VRRP) on every node that has it elects the one holding its addresses (needs config ha_network)'),
      ],
      columns: ROUTER_COLUMNS,
      run: (m) => m.routerAdd,
    },
    {
      name: 'delete',
      mutates: true,
      confirms: true,
      summary: 'delete routers: floating IPs are disassociated, ports and namespace removed',
      examples: ['l3ctl router delete r1', 'l3ctl router delete r1 r2 --yes'],
      args: [arg('<router...>', 'router')],
      run: (m) => m.routerDelete,
    },
    {
      name: 'list',
      summary: 'list routers (--long: with a live status from the kernel; HA: what keepalived says on this node)',
      examples: ['l3ctl router list', 'l3ctl router list --long', 'l3ctl router list -f value -c id -c name', 'l3ctl router list -c name -c ha_state'],
      options: [opt('--long', 'more columns: ids, HA, and a live status (ACTIVE, DOWN, DRIFT) read from the kernel')],
      columns: ROUTER_LIST_COLUMNS,
      run: (m) => m.routerList,
    },
    {
      name: 'show',
      summary: 'what differs between the store and the kernel, and a one-line summary of what matches (--all: everything side by side)',
      examples: ['l3ctl router show r1', 'l3ctl router show r1 --all', 'l3ctl router show r1 -f json'],
      args: [arg('<router>', 'router')],
      options: [opt('--all', 'every device, route, NAT rule and daemon, desired and live side by side')],
      columns: ROUTER_SHOW_COLUMNS,
      run: (m) => m.routerShow,
    },
    {
      name: 'enable',
      mutates: true,
      summary: 'set admin state up and build the router in the kernel',
      examples: ['l3ctl router enable r1'],
      args: [arg('<router>', 'router')],
      run: (m) => m.routerEnable,
    },
    {
      name: 'disable',
      mutates: true,
      confirms: true,
      summary: 'tear the router down in the kernel, keep it in the store',
      examples: ['l3ctl router disable r1'],
      args: [arg('<router>', 'router')],
      run: (m) => m.routerDisable,
    },
    {
      name: 'exec',
      summary: "run a command inside the router's namespace; its exit status is passed through, and SIGTERM, SIGHUP or SIGINT sent to l3ctl go on to it",
      examples: ['l3ctl router exec r1 ping -c 1 203.0.113.1', 'l3ctl router exec r1 ip addr'],
      args: [arg('<router>', 'router'), arg('<command...>', 'command', { rest: true, description: 'the command and its arguments: every word after ROUTER, options included' })],
      run: (m) => m.routerExec,
    },
    {
      name: 'set',
      mutates: true,
      summary: 'change a router: --ha / --no-ha while it has no ports',
      examples: ['l3ctl router set r1 --ha'],
      args: [arg('<router>', 'router')],
      options: [opt('--ha', 'make it an HA router (a VRRP id is allocated)'), opt('--no-ha', 'make it a legacy router')],
      columns: ROUTER_COLUMNS,
      run: (m) => m.routerSet,
    },
    {
      name: 'standby',
      mutates: true,
      summary: 'hand an HA router over to a peer node: this node (the master) steps back to backup; keepalived keeps running',
      examples: ['l3ctl router standby r1'],
      args: [arg('<router>', 'router')],
      run: (m) => m.routerStandby,
    },
  ]),

  noun('interface', { summary: "a router's internal ports (qr- devices)", examples: ['l3ctl interface list r1'] }, () => import('./interface.js'), [
    {
      name: 'add',
      mutates: true,
      summary: "plug a router into an internal network: an address on each of its subnets (default: each subnet's gateway IP)",
      examples: ['l3ctl interface add r1 priv', 'l3ctl interface add r1 priv --ip 198.51.100.254 --ip 2001:db8:1::fe'],
      args: [arg('<router>', 'router'), arg('<network>', 'network:internal')],
      options: [
        opt('--ip <ip>', "the router's address on the subnet of this IP version (once per version)", { repeat: true }),
        opt('--mac <mac>', 'MAC address of the qr- device (default: fa:16:3e:…)'),
        opt('--id <uuid>', 'port id'),
      ],
      columns: PORT_COLUMNS,
      run: (m) => m.interfaceAdd,
    },
    {
      name: 'remove',
      mutates: true,
      confirms: true,
      summary: "unplug a router from an internal network; a subnet's CIDR takes only that address off a dual-stack port",
      examples: ['l3ctl interface remove r1 priv', 'l3ctl interface remove r1 2001:db8:1::/64'],
      args: [arg('<router>', 'router'), arg('<network-or-port>', 'port')],
      run: (m) => m.interfaceRemove,
    },
    {
      name: 'list',
      summary: "list routers' internal ports",
      examples: ['l3ctl interface list r1', 'l3ctl interface list r1 -f json'],
      args: [arg('[router]', 'router')],
      options: [LONG_OPTION],
      columns: PORT_COLUMNS,
      run: (m) => m.interfaceList,
    },
  ]),

  noun('gateway', { summary: "a router's gateway port (qg- device) on an external network", examples: ['l3ctl gateway set r1 ext'] }, () => import('./gateway.js'), [
    {
      name: 'set',
      mutates: true,
      summary: 'connect a router to an external network: gateway port with an address on each subnet, default routes, SNAT (IPv4)',
      examples: ['l3ctl gateway set r1 ext --ip 203.0.113.10', 'l3ctl gateway set r1 ext'],
      args: [arg('<router>', 'router'), arg('<network>', 'network:external')],
      options: [opt('--ip <ip>', 'gateway address on the subnet of this IP version (once per version; default: the first free one)', { repeat: true }), opt('--mac <mac>', 'MAC address of the qg- device')],
      columns: ROUTER_COLUMNS,
      run: (m) => m.gatewaySet,
    },
    {
      name: 'clear',
      mutates: true,
      summary: "remove a router's gateway (refused while it has floating IPs)",
      examples: ['l3ctl gateway clear r1'],
      args: [arg('<router>', 'router')],
      run: (m) => m.gatewayClear,
    },
  ]),

  noun('fip', { summary: 'floating IPs: one-to-one NAT of an external address to a fixed IP (IPv4 only: IPv6 is routed without NAT)', examples: ['l3ctl fip list'] }, () => import('./fip.js'), [
    {
      name: 'add',
      mutates: true,
      summary: 'allocate a floating IP (the first free address when IP is omitted)',
      examples: ['l3ctl fip add 203.0.113.20', 'l3ctl fip add --network ext'],
      args: [arg('[ip]')],
      options: [opt('--network <network>', 'external network (default: the only one)', { kind: 'network:external' })],
      columns: FIP_COLUMNS,
      run: (m) => m.fipAdd,
    },
    {
      name: 'delete',
      mutates: true,
      confirms: true,
      summary: 'release a floating IP (disassociates it first)',
      examples: ['l3ctl fip delete 203.0.113.20'],
      args: [arg('<fip>', 'fip')],
      run: (m) => m.fipDelete,
    },
    {
      name: 'associate',
      mutates: true,
      confirms: true,
      summary: 'map a floating IP to a fixed IP behind a router (allocates the FIP when needed)',
      examples: ['l3ctl fip associate 203.0.113.20 198.51.100.5', 'l3ctl fip associate 203.0.113.20 198.51.100.5 --router r1'],
      args: [arg('<fip>', 'fip'), arg('<fixed-ip>')],
      options: [opt('--router <router>', 'the router (default: the one router with a subnet holding FIXED_IP)', { kind: 'router:fixed-ip' })],
      columns: FIP_COLUMNS,
      run: (m) => m.fipAssociate,
    },
    {
      name: 'disassociate',
      mutates: true,
      summary: 'remove the mapping: address, NAT rules and conntrack entries',
      examples: ['l3ctl fip disassociate 203.0.113.20'],
      args: [arg('<fip>', 'fip:associated')],
      columns: FIP_COLUMNS,
      run: (m) => m.fipDisassociate,
    },
    {
      name: 'list',
      summary: 'list floating IPs',
      examples: ['l3ctl fip list', 'l3ctl fip list --long', 'l3ctl fip list --router r1 -f value -c floating_ip_address -c fixed_ip_address'],
      options: [opt('--router <router>', 'only those of this router', { kind: 'router' }), opt('--long', 'more columns: ids, and a live status (ACTIVE, DOWN, DRIFT) read from the kernel')],
      columns: FIP_COLUMNS,
      run: (m) => m.fipList,
    },
  ]),

  noun('route', { summary: "a router's extra routes", examples: ['l3ctl route list r1'] }, () => import('./route.js'), [
    {
      name: 'add',
      mutates: true,
      summary: "add or replace an extra route, IPv4 or IPv6 (NEXTHOP must lie on one of the router's subnets)",
      examples: ['l3ctl route add r1 192.0.2.0/24 198.51.100.254', 'l3ctl route add r1 2001:db8:99::/64 2001:db8:1::fe'],
      args: [arg('<router>', 'router'), arg('<destination>'), arg('<nexthop>')],
      run: (m) => m.routeAdd,
    },
    {
      name: 'delete',
      mutates: true,
      summary: 'delete an extra route',
      examples: ['l3ctl route delete r1 192.0.2.0/24'],
      args: [arg('<router>', 'router'), arg('<destination>', 'route')],
      run: (m) => m.routeDelete,
    },
    {
      name: 'list',
      summary: 'list extra routes',
      examples: ['l3ctl route list r1', 'l3ctl route list r1 -f value'],
      args: [arg('[router]', 'router')],
      options: [LONG_OPTION],
      columns: ROUTE_COLUMNS,
      run: (m) => m.routeList,
    },
  ]),

  noun('config', { summary: "the agent's options, kept in the store", examples: ['l3ctl config list'] }, () => import('./config.js'), [
    {
      name: 'list',
      summary: 'list every option with its value and default',
      examples: ['l3ctl config list -f value -c key -c value'],
      columns: CONFIG_COLUMNS,
      run: (m) => m.configList,
    },
    {
      name: 'get',
      summary: 'print the value of an option',
      examples: ['l3ctl config get send_arp_for_ha'],
      args: [arg('<key>', 'config-key')],
      columns: CONFIG_COLUMNS,
      run: (m) => m.configGet,
    },
    {
      name: 'set',
      mutates: true,
      summary: 'set an option and apply it to every router',
      examples: ['l3ctl config set external_network_bridge ""', 'l3ctl config set host_namespace l3ctl-lab-host'],
      args: [arg('<key>', 'config-key'), arg('<value>', 'config-value')],
      run: (m) => m.configSet,
    },
    {
      name: 'unset',
      mutates: true,
      summary: 'return an option to its default',
      examples: ['l3ctl config unset router_id'],
      args: [arg('<key>', 'config-key')],
      run: (m) => m.configUnset,
    },
  ]),

  noun('agent', { summary: 'the L3 agent: keep the kernel in line with the store', examples: ['l3ctl agent sync', 'l3ctl agent check'] }, () => import('./agent.js'), [
    {
      name: 'sync',
      mutates: true,
      summary: 'make the kernel match the store: converge handled routers, tear down the others',
      examples: ['l3ctl agent sync', 'l3ctl agent sync r1 --dry-run'],
      args: [arg('[router...]', 'router')],
      run: (m) => m.agentSync,
    },
    {
      name: 'check',
      summary: 'report drift between the store and the kernel; exit 3 when there is any',
      examples: ['l3ctl agent check', 'l3ctl agent check r1 -f json'],
      args: [arg('[router...]', 'router')],
      columns: FINDING_COLUMNS,
      run: (m) => m.agentCheck,
    },
    {
      name: 'cleanup',
      mutates: true,
      confirms: true,
      summary: 'remove qrouter- namespaces no store on this host owns (with router_id set: only that one); those still in use only with --force',
      examples: ['l3ctl agent cleanup --dry-run', 'l3ctl agent cleanup --yes'],
      options: [opt('--force', 'also remove router namespaces of unknown owner that still have devices or processes (their processes are killed)')],
      run: (m) => m.agentCleanup,
    },
    {
      name: 'status',
      summary: "the agent's state report: configuration and counts of the routers handled here, and the host settings l3ctl would want",
      examples: ['l3ctl agent status', 'l3ctl agent status -f json'],
      columns: REPORT_COLUMNS,
      run: (m) => m.agentStatus,
    },
    {
      name: 'run',
      mutates: true,
      summary: 'loop: sync every router every periodic_interval seconds, one log line per pass; SIGHUP: a pass now; SIGTERM: stop after the pass',
      examples: ['l3ctl agent run', 'l3ctl agent run --interval 10 --log-format json'],
      options: [
        opt('--interval <seconds>', 'seconds between passes (default: config periodic_interval)'),
        opt('--log-format <format>', 'text: one line per pass; json: one object per line (with the state report)', { choices: LOG_FORMATS }),
      ],
      run: (m) => m.agentRun,
    },
  ]),

  noun(
    'diagnose',
    {
      summary: "the operator's checklist: one line per check, with the command that re-runs it and the fix; exit 3 when a check fails",
      examples: ['l3ctl diagnose fip 203.0.113.20', 'l3ctl diagnose host'],
    },
    () => import('./diagnose.js'),
    [
      {
        name: 'fip',
        summary: 'why a floating IP does (not) work: store, router, namespace, qg- /32, NAT rules and counters, routes, neighbours, conntrack',
        examples: ['l3ctl diagnose fip 203.0.113.20', 'l3ctl diagnose fip 203.0.113.20 --probe -f json'],
        args: [arg('<fip>', 'fip')],
        options: [opt('--probe', 'send real traffic (a ping to the fixed IP and to the floating IP from the router) and watch the counters')],
        columns: DIAGNOSE_COLUMNS,
        run: (m) => m.diagnoseFip,
      },
      {
        name: 'router',
        summary: "a router's namespace, ports, bridges, routes and nexthops, and its drift",
        examples: ['l3ctl diagnose router r1', 'l3ctl diagnose router r1 --probe'],
        args: [arg('<router>', 'router')],
        options: [opt('--probe', 'ping the fixed IP behind each floating IP from the router')],
        columns: DIAGNOSE_COLUMNS,
        run: (m) => m.diagnoseRouter,
      },
      {
        name: 'host',
        summary: 'the machine itself: iptables backend, bridge netfilter, external bridge, programs, store and lock, stale namespaces',
        examples: ['l3ctl diagnose host', 'l3ctl diagnose host -f json'],
        columns: DIAGNOSE_COLUMNS,
        run: (m) => m.diagnoseHost,
      },
    ],
  ),

  noun(
    'lab',
    { summary: 'a self-contained demonstration: a router, an upstream host and two VMs in namespaces of its own', examples: ['l3ctl lab up && l3ctl lab check', 'l3ctl lab down'] },
    () => import('./lab.js'),
    [
      {
        name: 'up',
        mutates: true,
        // The lab's store and router name (src/lab/topology.ts), written out so the table loads no lab code.
        summary: 'build the lab in a store of its own (/var/lib/l3ctl/lab.json, or lab --store PATH; never L3CTL_STORE); running it again changes nothing',
        examples: ['l3ctl lab up', 'l3ctl lab up --dry-run', 'l3ctl --store /var/lib/l3ctl/lab.json router show lab-r1', 'l3ctl lab up --ha && l3ctl lab check'],
        options: [opt('--ha', 'the router as an HA router on two simulated network nodes (keepalived VRRP); lab check then proves a failover')],
        run: (m) => m.labUp,
      },
      {
        name: 'check',
        mutates: true,
        summary: 'prove the lab with real traffic (SNAT, floating IP both ways; the HA lab: a failover too); exit 1 when a check fails',
        examples: ['l3ctl lab check', 'l3ctl lab check -f json'],
        columns: LAB_CHECK_COLUMNS,
        run: (m) => m.labCheck,
      },
      {
        name: 'down',
        mutates: true,
        summary: 'remove the lab: router, networks, test hosts, its namespaces and its store (the HA lab: its nodes and their stores too)',
        examples: ['l3ctl lab down'],
        run: (m) => m.labDown,
      },
    ],
  ),

  command(
    {
      name: 'export',
      formats: true,
      summary: 'print the whole desired state as a document apply accepts (YAML, or JSON with -f json)',
      examples: ['l3ctl export -o site.yaml', 'l3ctl export -f json | ssh node2 l3ctl apply -'],
      options: [opt('-o, --output <file>', 'write to FILE instead of standard output (format from its extension: .json or .yaml)', { kind: 'file' })],
      run: (m) => m.exportState,
    },
    () => import('./declarative.js'),
  ),

  command(
    {
      name: 'diff',
      formats: true,
      summary: 'what apply would change, object by object; exit 1 when anything, 0 when nothing, 2 for an invalid file',
      examples: ['l3ctl diff site.yaml', 'l3ctl diff --prune site.yaml -f json'],
      args: [arg('<file>', 'file')],
      options: [opt('--prune', 'also what apply --prune would remove')],
      run: (m) => m.diffDocumentVerb,
    },
    () => import('./declarative.js'),
  ),

  command(
    {
      name: 'apply',
      mutates: true,
      summary: 'make the store and kernel match a document (- reads standard input): checked whole first, then one transaction',
      examples: ['l3ctl apply site.yaml', 'l3ctl apply --prune site.yaml', 'l3ctl --store /var/lib/l3ctl/state.json export | l3ctl --store other.json apply -'],
      args: [arg('<file>', 'file')],
      options: [opt('--prune', 'remove networks, routers, floating IPs and config keys the file does not have')],
      run: (m) => m.applyDocumentVerb,
    },
    () => import('./declarative.js'),
  ),

  command(
    {
      name: 'completion',
      summary: 'print the shell completion script for bash, zsh or fish',
      examples: ['source <(l3ctl completion bash)', 'l3ctl completion fish > ~/.config/fish/completions/l3ctl.fish'],
      args: [arg('<shell>', 'choices', { choices: SHELLS, description: 'the shell to complete in' })],
      run: (m) => m.completion,
    },
    () => import('./completion.js'),
  ),
];

/** The program itself: the root of the tree that parse.ts walks. */
export const PROGRAM: Command = { name: 'l3ctl', summary: SUMMARY, examples: [], args: [], options: GLOBAL_OPTIONS, commands: COMMANDS };
