// Argument checks and whole-state checks. Pure: a failure is a UsageError
// (exit 2) raised before the lock is taken or anything is applied.
import { broadcastOf, canonicalIp, contains, hostBounds, ipVersion, isHostOf, isMac, networkOf, overlaps, parseCidr, reservedRange } from './addr.js';
import { UsageError } from './errors.js';
import { isUuid, networkBridge } from './names.js';
import { IPV6_MODES, type Ipv6Mode, type Network, type Port, type Router, type State, type Subnet } from './types.js';
import { HA_IPV4_ONLY, haTakesSubnet } from './ha.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A value as it can be shown on one line: control characters escaped. */
export const shown = (s: string) => JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"');

export function checkName(kind: string, name: string): string {
  if (!NAME_RE.test(name)) {
    const why = name.length === 0 ? 'it is empty'
      : name.length > 64 ? `it is ${name.length} characters long`
      : /^[A-Za-z0-9]/.test(name) ? `'${shown(name.match(/[^A-Za-z0-9_.-]/)![0])}' is not allowed`
      : 'it must start with a letter or digit';
    throw new UsageError(`invalid ${kind} name '${shown(name)}' (${why}): expected 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit`);
  }
  return name;
}

/** A CIDR of either IP version, in canonical network form. */
export function checkCidr(what: string, s: string): string {
  if (!parseCidr(s)) {
    const m = /^([^/]*)\/(\d+)$/.exec(s);
    const v = m ? ipVersion(m[1]!) : null;
    const why = v ? ` (prefix length ${m![2]} is more than ${v === 4 ? 32 : 128})` : '';
    throw new UsageError(`invalid ${what} '${shown(s)}'${why}: expected a CIDR such as 198.51.100.0/24 or 2001:db8:1::/64`);
  }
  return networkOf(s);
}

/** An address of either IP version, in canonical form. */
export function checkIp(what: string, s: string): string {
  const ip = canonicalIp(s);
  if (ip === null) throw new UsageError(`invalid ${what} '${shown(s)}': expected an IPv4 address such as 198.51.100.5 or an IPv6 address such as 2001:db8:1::5`);
  return ip;
}

/** Floating IPs (and the fixed IPs they map to) are IPv4: IPv6 addresses are routed as they are. */
export function checkIpv4(what: string, s: string): string {
  const ip = checkIp(what, s);
  if (ipVersion(ip) === 6) throw new UsageError(`${what} ${ip} is IPv6: floating IPs are IPv4 only (IPv6 addresses are routed without NAT)`);
  return ip;
}

export function checkIpv6Mode(what: string, s: string): Ipv6Mode {
  if (!(IPV6_MODES as readonly string[]).includes(s)) throw new UsageError(`invalid ${what} '${shown(s)}': expected one of ${IPV6_MODES.join(', ')}`);
  return s as Ipv6Mode;
}

export function checkMac(s: string): string {
  if (!isMac(s)) {
    const why = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s) ? ' (a multicast address: the lowest bit of the first byte is set)' : '';
    throw new UsageError(`invalid MAC address '${shown(s)}'${why}: expected a unicast address of six hex pairs such as fa:16:3e:12:34:56`);
  }
  return s.toLowerCase();
}

export function checkUuid(what: string, s: string): string {
  if (!isUuid(s.toLowerCase())) throw new UsageError(`invalid ${what} '${shown(s)}': expected a UUID such as 5f6c2a0e-1b2c-4d5e-8f90-0123456789ab`);
  return s.toLowerCase();
}

/** Why `ip` cannot be a host of `cidr`, with what is expected; null when it can. */
export function hostProblem(cidr: string, ip: string): string | null {
  if (isHostOf(cidr, ip)) return null;
  const { first, last } = hostBounds(cidr);
  const expected = `expected a host address from ${first} to ${last}`;
  if (!contains(cidr, ip)) return `is outside ${cidr}: ${expected}`;
  if (ipVersion(ip) === 4 && ip === broadcastOf(cidr)) return `is the broadcast address of ${cidr}: ${expected}`;
  return `is the network address of ${cidr}: ${expected}`;
}

/**
 * What is wrong with a subnet by itself (its CIDR's range, its IPv6 modes),
 * or null. Neutron's rules: the modes are IPv6's; when both are set they are
 * the same; SLAAC and stateless DHCPv6 need a /64 (hosts make a 64-bit
 * interface identifier); link-local, multicast and the reserved ::/8 are no
 * subnet's.
 */
export function subnetProblem(sn: Pick<Subnet, 'cidr' | 'ip_version' | 'ipv6_ra_mode' | 'ipv6_address_mode'>): { field: keyof Subnet; message: string } | null {
  const c = parseCidr(sn.cidr);
  if (!c) return { field: 'cidr', message: `${sn.cidr} is not a CIDR` };
  if (c.version !== sn.ip_version) return { field: 'ip_version', message: `ip_version ${sn.ip_version} does not match ${sn.cidr}, an IPv${c.version} CIDR` };
  const modes = [['ipv6_ra_mode', sn.ipv6_ra_mode], ['ipv6_address_mode', sn.ipv6_address_mode]] as const;
  if (c.version === 4) {
    const set = modes.find(([, m]) => m !== null);
    return set ? { field: set[0], message: `${set[0]} ${set[1]} on IPv4 subnet ${sn.cidr}: expected the IPv6 modes on IPv6 subnets only` } : null;
  }
  const reserved = reservedRange(sn.cidr);
  if (reserved) return { field: 'cidr', message: `${sn.cidr} is in the ${reserved} range: expected a global or unique-local prefix such as 2001:db8:1::/64` };
  if (sn.ipv6_ra_mode && sn.ipv6_address_mode && sn.ipv6_ra_mode !== sn.ipv6_address_mode) {
    return { field: 'ipv6_address_mode', message: `ipv6_ra_mode ${sn.ipv6_ra_mode} and ipv6_address_mode ${sn.ipv6_address_mode} of ${sn.cidr} differ: expected the same mode when both are set` };
  }
  for (const [field, m] of modes) {
    if ((m === 'slaac' || m === 'dhcpv6-stateless') && c.prefix !== 64) {
      return { field, message: `${field} ${m} needs a /64 prefix (hosts form their address from a 64-bit interface identifier), not ${sn.cidr}` };
    }
  }
  return null;
}

/** Where in a state a problem is: `['routers', 3, 'gateway', 'ip_address']`. */
export type StatePath = (string | number)[];

/** One thing wrong with a whole state, and the field it is about. */
export interface StateProblem {
  message: string;
  hint?: string;
  at: StatePath;
}

type Report = (message: string, at: StatePath, hint?: string) => void;

/**
 * Everything that must hold of a whole state before it is applied or saved.
 * Messages name the offending value and what was expected; the first
 * problem found is reported.
 */
export function checkState(s: State, fresh?: (id: string) => boolean): void {
  visitState(s, fresh, (message, _at, hint) => {
    throw new UsageError(message, hint);
  });
}

/**
 * Every problem of checkState, each with the field it is about (a document
 * applied as a whole reports them all, by path). Values must be well-formed
 * (CIDRs, addresses): those are the argument checks' job.
 */
export function stateProblems(s: State, fresh?: (id: string) => boolean): StateProblem[] {
  const out: StateProblem[] = [];
  visitState(s, fresh, (message, at, hint) => out.push(hint === undefined ? { message, at } : { message, hint, at }));
  return out;
}

/**
 * Whether an object (network, port, floating IP, by id) is new in `next` or
 * has other addresses than in `prev`: a conflict is then said of it, the
 * object a command changes.
 */
export function freshIn(prev: State, next: State): (id: string) => boolean {
  const addrs = (s: State) => new Map<string, string>([
    ...s.networks.map((n): [string, string] => [n.id, n.subnets.map((x) => `${x.cidr} ${x.gateway_ip}`).join(',')]),
    ...s.routers.flatMap((r) => [...r.interfaces, ...(r.gateway ? [r.gateway] : [])].map((p): [string, string] => [p.id, p.fixed_ips.map((f) => f.ip_address).join(',')])),
    ...s.floatingips.map((f): [string, string] => [f.id, f.floating_ip_address]),
  ]);
  const before = addrs(prev);
  const after = addrs(next);
  return (id) => !before.has(id) || before.get(id) !== after.get(id);
}

/**
 * Routers and networks new or renamed in `next` (against `prev`) whose name
 * is another one's id, or whose id is another one's name: ROUTER and NETWORK
 * arguments take either, so such a pair could never be told apart. Checked
 * for what a change makes, not on load, so a store that already holds such a
 * pair still loads (the argument is then reported as ambiguous).
 */
export function nameIdClashes(prev: State, next: State): StateProblem[] {
  const out: StateProblem[] = [];
  const visit = (kind: 'network' | 'router', before: { id: string; name: string }[], list: { id: string; name: string }[]) => {
    const known = new Set(before.map((x) => `${x.id} ${x.name}`));
    list.forEach((x, i) => {
      if (known.has(`${x.id} ${x.name}`)) return;
      const byId = list.find((y) => y !== x && y.id === x.name.toLowerCase());
      if (byId) out.push({ message: `${kind} name '${x.name}' is the id of ${kind} '${byId.name}': expected a name that is no ${kind}'s id`, at: [`${kind}s`, i, 'name'] });
      const byName = list.find((y) => y !== x && y.name.toLowerCase() === x.id);
      if (byName) out.push({ message: `id ${x.id} of ${kind} '${x.name}' is the name of ${kind} '${byName.name}': expected an id that is no ${kind}'s name`, at: [`${kind}s`, i, 'id'] });
    });
  };
  visit('network', prev.networks, next.networks);
  visit('router', prev.routers, next.routers);
  return out;
}

/**
 * The rules, in the order checkState reports them. `report` may throw (the
 * first problem ends the check) or return (then the visit goes on, skipping
 * what depends on the value found wrong, so one mistake is one problem).
 */
function visitState(s: State, fresh: ((id: string) => boolean) | undefined, report: Report): void {
  const ids = new Map<string, string>();
  const unique = (id: string, what: string, at: StatePath) => {
    const prev = ids.get(id);
    if (prev) return report(`id ${id} of ${what} is already used by ${prev}: expected a new UUID`, at);
    ids.set(id, what);
  };
  const names = (kind: 'network' | 'router', list: { name: string }[]) => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      if (seen.has(x.name)) report(`a ${kind} named '${x.name}' already exists: expected a new name`, [`${kind}s`, i, 'name'], `l3ctl ${kind} list`);
      seen.add(x.name);
    });
  };
  names('network', s.networks);
  names('router', s.routers);
  /** Subnets by id, with their network. */
  const subnets = new Map<string, { subnet: Subnet; net: Network }>();
  /** Subnets found wrong in themselves: what is on them is not judged again (one mistake, one problem). */
  const doubtful = new Set<string>();
  s.networks.forEach((n, i) => {
    unique(n.id, `network '${n.name}'`, ['networks', i, 'id']);
    const versions = new Map<number, string>();
    n.subnets.forEach((sn, j) => {
      const at = (field: string): StatePath => ['networks', i, 'subnets', j, field];
      unique(sn.id, `subnet ${sn.cidr} of network '${n.name}'`, at('id'));
      subnets.set(sn.id, { subnet: sn, net: n });
      const wrong = subnetProblem(sn);
      if (wrong) {
        doubtful.add(sn.id);
        return report(`subnet of network '${n.name}': ${wrong.message}`, at(wrong.field));
      }
      const other = versions.get(sn.ip_version);
      if (other) {
        doubtful.add(sn.id);
        return report(`network '${n.name}' has two IPv${sn.ip_version} subnets, ${other} and ${sn.cidr}: expected at most one IPv4 and one IPv6 subnet`, at('cidr'), `l3ctl subnet list ${n.name}`);
      }
      versions.set(sn.ip_version, sn.cidr);
      const bad = sn.gateway_ip ? hostProblem(sn.cidr, sn.gateway_ip) : null;
      if (bad) report(`gateway IP ${sn.gateway_ip} of network '${n.name}' ${bad}`, at('gateway_ip'));
    });
  });
  // Tenants may reuse address space (allow_overlapping_ips): networks may
  // overlap; the subnets of one router may not (checked per router below).
  // Kernel names come from the first 11 characters of ids: they must differ.
  const kernelNames = new Map<string, string>();
  const kernelName = (name: string, owner: string, why: string, at: StatePath) => {
    const prev = kernelNames.get(name);
    if (prev && prev !== owner) {
      // A bridge named with --bridge clashes by its name; any other kernel name by the id it comes from.
      const expected = at[at.length - 1] === 'bridge' ? 'expected a bridge name no other network uses' : 'expected an id whose first 11 characters are new';
      return report(`${why} ${name} of ${owner} is already the kernel name of ${prev}: ${expected}`, at);
    }
    kernelNames.set(name, owner);
  };
  s.networks.forEach((n, i) => kernelName(networkBridge(n), `network '${n.name}'`, 'bridge', ['networks', i, n.bridge ? 'bridge' : 'id']));
  // A map, not a search per port or floating IP: a state can hold thousands.
  const byId = new Map(s.networks.map((n) => [n.id, n]));
  const net = (id: string) => byId.get(id);
  // Every address of a network has one owner, so no address is used twice
  // there. (network id, ip) -> [the claiming object's id, how to name it].
  const used = new Map<string, [key: string, owner: string, label: string, at: StatePath]>();
  const claim = (netId: string, ip: string, key: string, owner: string, label: string, at: StatePath) => {
    const prev = used.get(`${netId} ${ip}`);
    if (prev && prev[0] !== key) {
      // The object a command adds is the one at fault, whichever claims the address first here.
      if (fresh?.(prev[0]) && !fresh(key)) return report(`${prev[2]} ${ip} is already used by ${owner}: expected a free address`, prev[3]);
      return report(`${label} ${ip} is already used by ${prev[1]}: expected a free address`, at);
    }
    used.set(`${netId} ${ip}`, [key, owner, label, at]);
  };
  s.networks.forEach((n, i) => {
    n.subnets.forEach((sn, j) => {
      if (sn.gateway_ip && !doubtful.has(sn.id) && !hostProblem(sn.cidr, sn.gateway_ip)) claim(n.id, sn.gateway_ip, n.id, `the gateway IP of network '${n.name}'`, 'gateway IP', ['networks', i, 'subnets', j, 'gateway_ip']);
    });
  });
  const macs = new Map<string, string>();
  const claimMac = (mac: string, owner: string, at: StatePath) => {
    const m = macs.get(mac);
    if (m) return report(`MAC address ${mac} for ${owner} is already used by ${m}`, at);
    macs.set(mac, owner);
  };
  const portName = (id: string, owner: string, at: StatePath) => kernelName(id.slice(0, 11), owner, 'port id prefix', at);
  const routersById = new Map<string, Router>();
  // Routers with a port on an unknown network, or on an external network as
  // an interface (internal as the gateway): what depends on their subnets
  // (routes, floating IPs) would only repeat that problem.
  const misplugged = new Set<Router>();
  // One VRRP id per HA router: they share the HA network.
  const vrIds = new Map<number, string>();
  s.routers.forEach((r, ri) => {
    routersById.set(r.id, r);
    unique(r.id, `router '${r.name}'`, ['routers', ri, 'id']);
    if (r.ha && r.ha_vr_id !== null) {
      const prev = vrIds.get(r.ha_vr_id);
      if (prev) report(`VRRP id ${r.ha_vr_id} of HA router '${r.name}' is already used by HA router '${prev}': expected one VRRP id per HA router`, ['routers', ri, 'ha_vr_id']);
      else vrIds.set(r.ha_vr_id, r.name);
    }
    /** This router's subnets, with the network each belongs to. */
    const mine: { id: string; cidr: string; name: string }[] = [];
    const ownSubnet = (sn: Subnet, name: string, at: StatePath): boolean => {
      if (mine.some((x) => x.id === sn.id)) {
        report(`router '${r.name}' already has a port on subnet ${sn.cidr} (network '${name}'): expected one port per subnet`, at, `l3ctl interface list ${r.name}`);
        return false;
      }
      const other = mine.find((x) => overlaps(x.cidr, sn.cidr));
      if (other) {
        report(`${sn.cidr} of network '${name}' overlaps ${other.cidr} of network '${other.name}' on router '${r.name}': expected subnets that overlap no other subnet of the router`, at, `l3ctl interface list ${r.name}`);
        return false;
      }
      mine.push({ id: sn.id, cidr: sn.cidr, name });
      return true;
    };
    /** The port's fixed IPs: each on a subnet of its network, one per subnet, a host there, claimed. */
    const addresses = (p: Port, n: Network, what: string, owner: string, base: StatePath, first: boolean): void => {
      if (!p.fixed_ips.length) {
        misplugged.add(r);
        return report(`${what} of router '${r.name}' has no address: expected a fixed IP on a subnet of network '${n.name}'`, [...base, 'fixed_ips'], `l3ctl subnet list ${n.name}`);
      }
      const seen = new Set<string>();
      p.fixed_ips.forEach((f, k) => {
        const at = (field: string): StatePath => [...base, 'fixed_ips', k, field];
        const sub = subnets.get(f.subnet_id);
        if (!sub || sub.net.id !== n.id) {
          misplugged.add(r);
          return report(`${what} ${f.ip_address} of router '${r.name}' refers to subnet ${f.subnet_id}, which is ${sub ? `a subnet of network '${sub.net.name}'` : 'not a known subnet'}: expected a subnet of network '${n.name}'`, at('subnet_id'), `l3ctl subnet list ${n.name}`);
        }
        if (doubtful.has(f.subnet_id)) return void misplugged.add(r);
        if (seen.has(f.subnet_id)) return report(`${what} of router '${r.name}' has two addresses on subnet ${sub.subnet.cidr}: expected one address per subnet`, at('ip_address'));
        seen.add(f.subnet_id);
        if (!haTakesSubnet(r, sub.subnet)) return report(`${what} ${f.ip_address} of HA router '${r.name}' is IPv6: ${HA_IPV4_ONLY}`, at('ip_address'), 'IPv6 needs a legacy router (l3ctl router add NAME without --ha)');
        const outside = hostProblem(sub.subnet.cidr, f.ip_address);
        if (outside) return report(`${first ? 'interface IP' : 'gateway address'} ${f.ip_address} on ${first ? 'network' : 'external network'} '${n.name}' ${outside}`, at('ip_address'));
        // Reported at the port's network: that is what was chosen.
        if (!ownSubnet(sub.subnet, n.name, [...base, 'network_id'])) return;
        // An interface may take its subnet's gateway IP (the default): that is what it is for.
        if (first && used.get(`${n.id} ${f.ip_address}`)?.[0] === n.id) used.delete(`${n.id} ${f.ip_address}`);
        claim(n.id, f.ip_address, p.id, owner, first ? 'interface IP' : 'gateway address', at('ip_address'));
      });
      claimMac(p.mac_address, owner, [...base, 'mac_address']);
    };
    r.interfaces.forEach((p, pi) => {
      const base: StatePath = ['routers', ri, 'interfaces', pi];
      const owner = `router '${r.name}' port ${p.id.slice(0, 8)}`;
      unique(p.id, owner, [...base, 'id']);
      portName(p.id, owner, [...base, 'id']);
      const n = net(p.network_id);
      const bad = (message: string, field: string, hint?: string) => {
        misplugged.add(r);
        report(message, [...base, field], hint);
      };
      if (!n) return bad(`port ${p.id} of router '${r.name}' refers to an unknown network ${p.network_id}`, 'network_id');
      if (n.external) {
        return bad(`network '${n.name}' is external: expected an internal network for an interface; an external one can only be a gateway`, 'network_id', `l3ctl gateway set ${r.name} ${n.name}`);
      }
      addresses(p, n, 'interface', owner, base, true);
    });
    const gw = r.gateway;
    if (gw) {
      const base: StatePath = ['routers', ri, 'gateway'];
      const owner = `the gateway of router '${r.name}'`;
      unique(gw.id, owner, [...base, 'id']);
      portName(gw.id, owner, [...base, 'id']);
      const n = net(gw.network_id);
      const bad = (message: string, field: string, hint?: string) => {
        misplugged.add(r);
        report(message, [...base, field], hint);
      };
      if (!n) bad(`gateway of router '${r.name}' refers to an unknown network ${gw.network_id}`, 'network_id');
      else if (!n.external) {
        bad(`network '${n.name}' is not external: expected an external network for a gateway`, 'network_id', 'l3ctl network add NAME --cidr CIDR --external');
      } else addresses(gw, n, 'gateway', owner, base, false);
    }
    checkRoutes(r, net, subnets, !misplugged.has(r), (message, at, hint) => report(message, ['routers', ri, 'routes', ...at], hint));
  });
  s.floatingips.forEach((f, i) => {
    const at = (field: string): StatePath => ['floatingips', i, field];
    const owner = `floating IP ${f.floating_ip_address}`;
    unique(f.id, owner, at('id'));
    const n = net(f.floating_network_id);
    if (!n || !n.external) return report(`floating IP ${f.floating_ip_address} must belong to an external network`, at('floating_network_id'));
    if (ipVersion(f.floating_ip_address) === 6) return report(`floating IP ${f.floating_ip_address} is IPv6: floating IPs are IPv4 only (IPv6 addresses are routed without NAT)`, at('floating_ip_address'));
    const v4 = n.subnets.find((x) => x.ip_version === 4);
    if (v4 && doubtful.has(v4.id)) return;
    if (!v4) return report(`external network '${n.name}' has no IPv4 subnet: floating IP ${f.floating_ip_address} needs one (floating IPs are IPv4 only)`, at('floating_network_id'), `l3ctl subnet add ${n.name} CIDR`);
    const bad = hostProblem(v4.cidr, f.floating_ip_address);
    if (bad) return report(`floating IP ${f.floating_ip_address} on external network '${n.name}' ${bad}`, at('floating_ip_address'));
    claim(n.id, f.floating_ip_address, f.id, owner, 'floating IP', at('floating_ip_address'));
    if (f.router_id) {
      const r = routersById.get(f.router_id);
      if (!r) return report(`floating IP ${f.floating_ip_address} refers to an unknown router ${f.router_id}`, at('router_id'));
      if (misplugged.has(r)) return;
      if (!r.gateway || r.gateway.network_id !== f.floating_network_id) {
        return report(`router '${r.name}' has no gateway on network '${n.name}': floating IP ${f.floating_ip_address} cannot reach it`, at('router_id'), `l3ctl gateway set ${r.name} ${n.name}`);
      }
      if (!r.gateway.fixed_ips.some((x) => subnets.get(x.subnet_id)?.subnet.ip_version === 4)) {
        return report(`the gateway of router '${r.name}' has no IPv4 address on network '${n.name}': floating IP ${f.floating_ip_address} needs one`, at('router_id'), `l3ctl gateway set ${r.name} ${n.name}`);
      }
      const fixed = f.fixed_ip_address!;
      if (ipVersion(fixed) === 6) return report(`fixed IP ${fixed} is IPv6: floating IPs are IPv4 only (IPv6 addresses are routed without NAT)`, at('fixed_ip_address'));
      const own = r.interfaces.flatMap((p) => p.fixed_ips).flatMap((x) => {
        const sub = subnets.get(x.subnet_id)?.subnet;
        return sub && sub.ip_version === 4 ? [{ cidr: sub.cidr, ip: x.ip_address }] : [];
      });
      // On a subnet but not a host of it (its broadcast or network address): said so.
      const edge = own.find((x) => contains(x.cidr, fixed));
      if (edge && !isHostOf(edge.cidr, fixed)) return report(`fixed IP ${fixed} ${hostProblem(edge.cidr, fixed)}`, at('fixed_ip_address'));
      if (!own.some((x) => isHostOf(x.cidr, fixed))) {
        return report(
          `fixed IP ${fixed} is on none of the internal subnets of router '${r.name}'` +
            (own.length ? `: expected a host address in ${own.map((x) => x.cidr).join(' or ')}` : ' (it has no IPv4 interfaces)'),
          at('fixed_ip_address'),
          `l3ctl interface add ${r.name} NETWORK`,
        );
      }
      if (own.some((x) => x.ip === fixed)) report(`fixed IP ${fixed} is the router's own interface address: expected the address of a machine behind it`, at('fixed_ip_address'));
    }
  });
  const fixedSeen = new Map<string, string>();
  s.floatingips.forEach((f, i) => {
    if (!f.fixed_ip_address || !f.router_id) return;
    const k = `${f.router_id}/${f.fixed_ip_address}`;
    const prev = fixedSeen.get(k);
    if (prev !== undefined) {
      return report(`fixed IP ${f.fixed_ip_address} already has floating IP ${prev}: expected one floating IP per fixed IP`, ['floatingips', i, 'fixed_ip_address'], `l3ctl fip disassociate ${prev}`);
    }
    fixedSeen.set(k, f.floating_ip_address);
  });
}

/**
 * Extra routes as strict as the kernel, in either IP version: the gateway
 * owns the default route; a destination on one of the router's own subnets
 * would replace its connected route; the nexthop is of the destination's IP
 * version, a host of a subnet of an admin-up port, and not the router's own
 * address there. `at` is relative to the router's routes. Without `portsOk`
 * (a port on a wrong network) nexthops are not judged.
 */
function checkRoutes(r: Router, net: (id: string) => Network | undefined, subnets: Map<string, { subnet: Subnet; net: Network }>, portsOk: boolean, report: Report): void {
  // A port on an unknown network or subnet was reported already: it has no subnet here.
  const withSubnets = (ps: Port[]) => ps.flatMap((p) => {
    const n = net(p.network_id);
    if (!n) return [];
    return p.fixed_ips.flatMap((f) => {
      const sub = subnets.get(f.subnet_id);
      return sub && sub.net.id === n.id ? [{ port: p, cidr: sub.subnet.cidr, ip: f.ip_address, name: n.name }] : [];
    });
  });
  const onLink = withSubnets([...r.interfaces.filter((p) => p.admin_state_up), ...(r.gateway?.admin_state_up ? [r.gateway] : [])]);
  const all = withSubnets([...r.interfaces, ...(r.gateway ? [r.gateway] : [])]);
  r.routes.forEach((rt, i) => {
    const what = `route ${rt.destination} via ${rt.nexthop} of router '${r.name}'`;
    const dst = parseCidr(rt.destination);
    if (dst?.prefix === 0) {
      return report(`${what}: a /0 destination is the default route, which the gateway owns`, [i, 'destination'], `l3ctl gateway set ${r.name} NETWORK`);
    }
    const hv = ipVersion(rt.nexthop);
    if (dst && hv && dst.version !== hv) {
      return report(`nexthop ${rt.nexthop} of route ${rt.destination} is IPv${hv}, the destination IPv${dst.version}: expected a nexthop of the destination's IP version`, [i, 'nexthop']);
    }
    const hit = all.find((n) => overlaps(n.cidr, rt.destination));
    if (hit) {
      return report(`${what}: ${rt.destination} overlaps ${hit.cidr} of network '${hit.name}', a subnet of the router (its connected route must stay): expected a destination off the router's subnets`, [i, 'destination']);
    }
    // The router's subnets are in doubt (a problem reported already): the nexthop cannot be judged.
    if (!portsOk) return;
    const link = onLink.find((l) => contains(l.cidr, rt.nexthop));
    if (!link) {
      const same = onLink.filter((l) => parseCidr(l.cidr)?.version === hv);
      return report(
        `nexthop ${rt.nexthop} of route ${rt.destination} is on none of the subnets of router '${r.name}'` +
          (same.length ? `: expected an address in ${same.map((l) => l.cidr).join(' or ')}` : hv && onLink.length ? ` (it has no IPv${hv} subnet)` : ' (it has no ports)'),
        [i, 'nexthop'],
      );
    }
    const bad = hostProblem(link.cidr, rt.nexthop);
    if (bad) return report(`nexthop ${rt.nexthop} of route ${rt.destination} ${bad}`, [i, 'nexthop']);
    if (link.ip === rt.nexthop) {
      report(`nexthop ${rt.nexthop} of route ${rt.destination} is the router's own address on network '${link.name}': expected another host on that subnet`, [i, 'nexthop']);
    }
  });
}
