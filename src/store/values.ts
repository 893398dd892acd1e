// The values of a store that has the right shape (schema.ts, or store.ts's
// structural check for completion): ids are lower-case UUIDs, names follow
// the name rule, addresses are valid IPv4 or IPv6 in canonical form, MACs unicast in
// lower case, config keys known with values their key's check accepts as
// they are; subnets' IPv6 modes and versions are the schema's. Nothing here has a control character, so no hand-edited value
// can add a line to an `ip -batch` or `iptables-restore` input.
//
// Imports nothing at run time: tab completion runs this too, and each module
// is a millisecond there. The rules repeat src/model (validate.ts uses
// ipaddr.js) in plain regular expressions; test/unit/store-values.test.ts
// checks that they agree. Config values are judged by their key's check
// (src/model/config.ts) when the caller passes the keys in.
import type { FixedIp, FloatingIp, Network, Port, Route, Router, State, Subnet } from '../model/types.js';

/** A value as it can be shown on one line, quoted: control characters escaped. */
const q = (s: string) => `'${JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"')}'`;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const IPV4_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const CIDR_RE = new RegExp(`^(${OCTET}(?:\\.${OCTET}){3})/(3[0-2]|[12]\\d|\\d)$`);
const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const toInt = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const fromInt = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** Why `s` is not what `what` must be, or null. */
type Rule = (s: string) => string | null;

const isUuid = (s: string) => UUID_RE.test(s);
const uuid: Rule = (s) => (isUuid(s) ? null : isUuid(s.toLowerCase()) ? `${q(s)} is not in canonical form: expected ${s.toLowerCase()}` : `${q(s)} is not a UUID`);
const name: Rule = (s) =>
  NAME_RE.test(s) ? null : `${q(s)} is not a valid name: expected 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit`;
const ifname: Rule = (s) => (IFNAME_RE.test(s) ? null : `${q(s)} is not an interface name: expected 1-15 characters of A-Z a-z 0-9 _ . -`);
const ipv4: Rule = (s) => (IPV4_RE.test(s) ? null : `${q(s)} is not an IPv4 address`);
const cidr4 = (s: string): string | null => {
  const m = CIDR_RE.exec(s);
  if (!m) return `${q(s)} is not a CIDR`;
  const size = 2 ** (32 - Number(m[2]));
  const addr = toInt(m[1]!);
  if (addr % size === 0) return null;
  return `${q(s)} is not in canonical form: expected ${fromInt(addr - (addr % size))}/${m[2]}`;
};

// IPv6 in plain code (ipaddr.js is src/model's): eight 16-bit groups, and
// the one text `ip` prints for them (RFC 5952: lower case, no leading
// zeros, the longest run of two or more zero groups as ::, the first of
// equal runs). Dotted IPv4 tails are refused: they only write addresses of
// ranges no subnet may hold.
const HEX4 = /^[0-9a-fA-F]{1,4}$/;
function v6Groups(s: string): number[] | null {
  if (s.length > 39) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const part = (x: string) => (x === '' ? [] : x.split(':'));
  const [head, tail] = [part(halves[0]!), halves.length === 2 ? part(halves[1]!) : []];
  if (![...head, ...tail].every((g) => HEX4.test(g))) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  return [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail].map((g) => parseInt(g, 16));
}
function v6Text(g: number[]): string {
  let best = -1;
  let len = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > len) [best, len] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + len))}`;
}
const ipv6 = (s: string): string | null => {
  const g = v6Groups(s);
  if (!g) return `${q(s)} is not an IP address`;
  const canonical = v6Text(g);
  return canonical === s ? null : `${q(s)} is not in canonical form: expected ${canonical}`;
};
const cidr6 = (s: string): string | null => {
  const m = /^([^/]+)\/(12[0-8]|1[01]\d|[1-9]?\d)$/.exec(s);
  const g = m ? v6Groups(m[1]!) : null;
  if (!m || !g) return `${q(s)} is not a CIDR`;
  const len = Number(m[2]);
  // Host bits cleared, group by group.
  const net = g.map((x, i) => {
    const keep = Math.max(0, Math.min(16, len - 16 * i));
    return keep === 16 ? x : keep === 0 ? 0 : x & (0xffff << (16 - keep)) & 0xffff;
  });
  const canonical = `${v6Text(net)}/${len}`;
  return canonical === s ? null : `${q(s)} is not in canonical form: expected ${canonical}`;
};
/** An address of either version, as `ip` prints it. */
const ip: Rule = (s) => (s.includes(':') ? ipv6(s) : ipv4(s));
/** A network CIDR of either version, in canonical form. */
const cidr: Rule = (s) => (s.includes(':') ? cidr6(s) : cidr4(s));
const mac: Rule = (s) => {
  if (!MAC_RE.test(s)) return MAC_RE.test(s.toLowerCase()) ? `${q(s)} is not in canonical form: expected ${s.toLowerCase()}` : `${q(s)} is not a MAC address`;
  return parseInt(s.slice(0, 2), 16) & 1 ? `${q(s)} is a multicast MAC address: expected a unicast one` : null;
};
const orNull = (r: Rule) => (s: string | null) => (s === null ? null : r(s));

/** Which rule each field follows; a list built once (loads must stay cheap). */
type Rules<T> = [keyof T & string, (v: never) => string | null][];
const rules = <T>(r: { [K in keyof T]?: (v: T[K]) => string | null }): Rules<T> => Object.entries(r) as Rules<T>;

/** The first problem of `list` over `obj`'s fields, as `field: why`. */
function fields<T>(obj: T, list: Rules<T>): string | null {
  for (const [k, rule] of list) {
    const why = (rule as (v: unknown) => string | null)(obj[k]);
    if (why) return `${k}: ${why}`;
  }
  return null;
}

const PORT = rules<Port>({ id: uuid, network_id: uuid, mac_address: mac });
const FIXED_IP = rules<FixedIp>({ subnet_id: uuid, ip_address: ip });
const ROUTER = rules<Router>({ id: uuid, name });
const ROUTE = rules<Route>({ destination: cidr, nexthop: ip });
const NETWORK = rules<Network>({ id: uuid, name, bridge: orNull(ifname) });
const SUBNET = rules<Subnet>({ id: uuid, cidr, gateway_ip: orNull(ip) });
const FLOATING_IP = rules<FloatingIp>({
  id: uuid,
  floating_ip_address: ipv4,
  floating_network_id: uuid,
  fixed_ip_address: orNull(ipv4),
  router_id: orNull(uuid),
});

/** The first problem in `list`, as `name[i].field: why` (paths are made only for a problem). */
function each<T>(name: string, list: T[], check: (x: T) => string | null): string | null {
  for (let i = 0; i < list.length; i++) {
    const why = check(list[i]!);
    if (why) return `${name}[${i}]${why.startsWith('[') || why.startsWith(': ') ? '' : '.'}${why}`;
  }
  return null;
}

const port = (p: Port) => fields(p, PORT) ?? each('fixed_ips', p.fixed_ips, (f) => fields(f, FIXED_IP));
const network = (n: Network) => fields(n, NETWORK) ?? each('subnets', n.subnets, (x) => fields(x, SUBNET));
const route = (rt: Route) => fields(rt, ROUTE);

/** keepalived's VRRP ids, as src/linux/keepalived.ts allocates them (Neutron's range). */
const VR_ID_MIN = 1;
const VR_ID_MAX = 254;

function haFields(r: Router): string | null {
  if (r.ha_vr_id === null) return r.ha ? 'ha_vr_id: null, but an HA router needs its VRRP id' : null;
  if (!r.ha) return `ha_vr_id: ${r.ha_vr_id} is set on a router that is not HA: expected null`;
  if (r.ha_vr_id < VR_ID_MIN || r.ha_vr_id > VR_ID_MAX) return `ha_vr_id: ${r.ha_vr_id} is not a VRRP id: expected ${VR_ID_MIN} to ${VR_ID_MAX}`;
  return null;
}

function router(r: Router): string | null {
  const gateway = r.gateway && port(r.gateway);
  return fields(r, ROUTER) ?? (gateway ? `gateway.${gateway}` : null) ?? each('interfaces', r.interfaces, port) ?? each('routes', r.routes, route) ?? haFields(r);
}

function floatingIp(f: FloatingIp): string | null {
  const why = fields(f, FLOATING_IP);
  if (why) return why;
  if ((f.fixed_ip_address === null) !== (f.router_id === null)) return ': fixed_ip_address and router_id are set together or not at all';
  return null;
}

/** A configuration key: its name and its check (src/model/config.ts ConfigKey). */
export interface ConfigRule {
  name: string;
  /** The canonical value, or throws saying why not. */
  check(v: string): string;
}

function config(values: Record<string, string>, keys: readonly ConfigRule[] | null): string | null {
  for (const [k, v] of Object.entries(values)) {
    const where = `config[${JSON.stringify(k)}]`.replace(/^config\["([A-Za-z_][A-Za-z0-9_]*)"\]$/, 'config.$1');
    if (CONTROL_RE.test(k)) return `${where}: unknown config key`;
    if (CONTROL_RE.test(v)) return `${where}: ${q(v)} has a control character`;
    if (!keys) continue;
    const key = keys.find((c) => c.name === k);
    if (!key) return `${where}: unknown config key`;
    let canonical: string;
    try {
      canonical = key.check(v);
    } catch (err) {
      return `${where}: ${(err as Error).message}`;
    }
    if (canonical !== v) return `${where}: ${q(v)} is not in canonical form: expected '${canonical}'`;
  }
  return null;
}

/**
 * The first value in a well-shaped state that is not valid as stored, as
 * `networks[1].cidr: '10.0.0.0/33' is not a CIDR`; null when all are.
 * Without `configKeys` config values are checked for control characters only.
 */
export function storeValueProblem(s: State, configKeys: readonly ConfigRule[] | null = null): string | null {
  return (
    config(s.config, configKeys) ??
    each('networks', s.networks, network) ??
    each('routers', s.routers, router) ??
    each('floatingips', s.floatingips, floatingIp)
  );
}
