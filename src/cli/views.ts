// The table columns people see for each kind of object (output.ts prints
// them; -f json, yaml, value and csv print the API fields instead). Names
// where an operator thinks in names (router, network), values rendered for
// reading (`ext 203.0.113.10`, not JSON); --long adds the ids and the rest.
// Each view reads the API row the noun prints, plus the store for names.
import type { State } from '../model/types.js';
import type { Row, View, ViewColumn } from './output.js';

const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/** Name of a stored object by id (the id itself when it is not stored). */
function namer(list: { id: string; name: string }[]): (id: unknown) => string {
  const byId = new Map(list.map((x) => [x.id, x.name]));
  return (id) => (typeof id === 'string' ? byId.get(id) ?? id : '');
}

const col = (heading: string, fields: string[], text: (r: Row) => string, long = false): ViewColumn => ({ heading, fields, text, ...(long ? { long } : {}) });
const field = (heading: string, f: string, long = false) => col(heading, [f], (r) => str(r[f]), long);
/** A field the API joins with bare commas (a dual-stack port's addresses, a network's CIDRs): spaced, so a cell can wrap there. */
const spaced = (heading: string, f: string) => col(heading, [f], (r) => str(r[f]).split(',').filter(Boolean).join(', '));

interface GatewayInfo {
  network_id?: string;
  external_fixed_ips?: { ip_address?: string }[];
}

export function routerView(s: State): View {
  const net = namer(s.networks);
  const routers = new Map(s.routers.map((r) => [r.id, r]));
  return {
    columns: [
      field('Name', 'name'),
      col('State', ['admin_state_up'], (r) => (r.admin_state_up ? 'UP' : 'DOWN')),
      col('Gateway', ['external_gateway_info'], (r) => {
        const g = r.external_gateway_info as GatewayInfo | null;
        if (!g) return '';
        return [net(g.network_id), ...(g.external_fixed_ips ?? []).map((x) => str(x.ip_address))].join(' ');
      }),
      // The networks it is plugged into: what an operator asks "where is r1?" about.
      col('Interfaces', ['interfaces'], (r) => {
        const x = routers.get(str(r.id));
        return x ? x.interfaces.map((p) => net(p.network_id)).join(', ') : str(r.interfaces);
      }),
      field('Routes', 'routes'),
      field('FIPs', 'floating_ips'),
      // keepalived's word on this node ('master', 'backup'; 'HA' when not read, as in add's echo):
      // shown by default once any router is HA, else only with --long.
      col('HA', ['ha', 'ha_state'], (r) => (r.ha ? str(r.ha_state) || 'HA' : 'no'), !s.routers.some((x) => x.ha)),
      field('ID', 'id', true),
      field('Status', 'status', true),
    ],
  };
}

export function networkView(s: State): View {
  return {
    columns: [
      field('Name', 'name'),
      spaced('CIDR', 'cidr'),
      spaced('Gateway IP', 'gateway_ip'),
      col('External', ['router:external'], (r) => (r['router:external'] ? 'yes' : 'no')),
      col('Routers', [], (r) =>
        s.routers.filter((x) => x.gateway?.network_id === r.id || x.interfaces.some((p) => p.network_id === r.id)).map((x) => x.name).join(', '),
      ),
      field('ID', 'id', true),
      field('Bridge', 'bridge', true),
    ],
  };
}

export function fipView(s: State): View {
  const router = namer(s.routers);
  const net = namer(s.networks);
  return {
    columns: [
      field('Floating IP', 'floating_ip_address'),
      field('Fixed IP', 'fixed_ip_address'),
      col('Router', [], (r) => router(r.router_id)),
      col('Network', [], (r) => net(r.floating_network_id)),
      field('ID', 'id', true),
      field('Status', 'status', true),
      field('Router ID', 'router_id', true),
      field('Network ID', 'floating_network_id', true),
    ],
  };
}

export function portView(s: State): View {
  const router = namer(s.routers);
  const net = namer(s.networks);
  return {
    columns: [
      col('Router', [], (r) => router(r.router_id)),
      col('Network', [], (r) => net(r.network_id)),
      spaced('IP Address', 'ip_address'),
      field('Device', 'device'),
      field('ID', 'id', true),
      field('MAC Address', 'mac_address', true),
      field('Router ID', 'router_id', true),
      field('Network ID', 'network_id', true),
    ],
  };
}

export function routeView(s: State): View {
  const router = namer(s.routers);
  return {
    columns: [
      col('Router', [], (r) => router(r.router_id)),
      field('Destination', 'destination'),
      field('Nexthop', 'nexthop'),
      field('Router ID', 'router_id', true),
    ],
  };
}

export function subnetView(s: State): View {
  const net = namer(s.networks);
  return {
    columns: [
      col('Network', [], (r) => net(r.network_id)),
      field('CIDR', 'cidr'),
      field('Gateway IP', 'gateway_ip'),
      // IPv6's modes in one cell: `slaac/slaac` (RA mode / address mode).
      col('IPv6 modes', ['ipv6_ra_mode', 'ipv6_address_mode'], (r) => (r.ipv6_ra_mode || r.ipv6_address_mode ? `${str(r.ipv6_ra_mode) || '-'}/${str(r.ipv6_address_mode) || '-'}` : '')),
      field('ID', 'id', true),
      field('IP Version', 'ip_version', true),
      field('Network ID', 'network_id', true),
    ],
  };
}

interface SubnetInfo {
  cidr?: string;
  gateway_ip?: string | null;
  ipv6_ra_mode?: string | null;
  ipv6_address_mode?: string | null;
}

/** network show (and add's echo): the list's columns, and its subnets one per entry (`2001:db8:1::/64 gw 2001:db8:1::1 slaac/slaac`). */
export function networkShowView(s: State): View {
  return {
    columns: [
      ...networkView(s).columns,
      col('Subnets', ['subnets'], (r) =>
        ((r.subnets as SubnetInfo[] | undefined) ?? [])
          .map((x) => [str(x.cidr), x.gateway_ip ? `gw ${x.gateway_ip}` : 'no gateway', ...(x.ipv6_ra_mode || x.ipv6_address_mode ? [`${str(x.ipv6_ra_mode) || '-'}/${str(x.ipv6_address_mode) || '-'}`] : [])].join(' '))
          .join(', '),
      ),
    ],
  };
}
