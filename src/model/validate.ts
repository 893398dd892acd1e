// Argument checks and whole-state checks. Pure: a failure is a UsageError
// (exit 2) raised before the lock is taken or anything is applied.
import { broadcastOf, contains, fromInt, hostRange, isHostOf, isIPv4, isMac, networkOf, overlaps, parseCidr } from './addr.js';
import { UsageError } from './errors.js';
import { isUuid, networkBridge } from './names.js';
import type { Network, Port, Router, State } from './types.js';

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

export function checkCidr(what: string, s: string): string {
  if (!parseCidr(s)) {
    const m = /^([^/]*)\/(\d+)$/.exec(s);
    const why = m && isIPv4(m[1]!) ? ` (prefix length ${m[2]} is more than 32)` : '';
    throw new UsageError(`invalid ${what} '${shown(s)}'${why}: expected an IPv4 CIDR such as 198.51.100.0/24`);
  }
  return networkOf(s);
}

export function checkIp(what: string, s: string): string {
  if (!isIPv4(s)) throw new UsageError(`invalid ${what} '${shown(s)}': expected an IPv4 address such as 198.51.100.5`);
  return s.split('.').map(Number).join('.');
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
  const { first, last } = hostRange(cidr);
  const expected = `expected a host address from ${fromInt(first)} to ${fromInt(last)}`;
  if (!contains(cidr, ip)) return `is outside ${cidr}: ${expected}`;
  if (ip === broadcastOf(cidr)) return `is the broadcast address of ${cidr}: ${expected}`;
  return `is the network address of ${cidr}: ${expected}`;
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
export function checkState(s: State): void {
  visitState(s, (message, _at, hint) => {
    throw new UsageError(message, hint);
  });
}

/**
 * Every problem of checkState, each with the field it is about (a document
 * applied as a whole reports them all, by path). Values must be well-formed
 * (CIDRs, addresses): those are the argument checks' job.
 */
export function stateProblems(s: State): StateProblem[] {
  const out: StateProblem[] = [];
  visitState(s, (message, at, hint) => out.push(hint === undefined ? { message, at } : { message, hint, at }));
  return out;
}

/**
 * The rules, in the order checkState reports them. `report` may throw (the
 * first problem ends the check) or return (then the visit goes on, skipping
 * what depends on the value found wrong, so one mistake is one problem).
 */
function visitState(s: State, report: Report): void {
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
  s.networks.forEach((n, i) => {
    unique(n.id, `network '${n.name}'`, ['networks', i, 'id']);
    const bad = n.gateway_ip ? hostProblem(n.cidr, n.gateway_ip) : null;
    if (bad) report(`gateway IP ${n.gateway_ip} of network '${n.name}' ${bad}`, ['networks', i, 'gateway_ip']);
  });
  // Tenants may reuse address space (allow_overlapping_ips): networks may
  // overlap; the subnets of one router may not (checked per router below).
  // Kernel names come from the first 11 characters of ids: they must differ.
  const kernelNames = new Map<string, string>();
  const kernelName = (name: string, owner: string, why: string, at: StatePath) => {
    const prev = kernelNames.get(name);
    if (prev && prev !== owner) return report(`${why} ${name} of ${owner} is already the kernel name of ${prev}: expected an id whose first 11 characters are new`, at);
    kernelNames.set(name, owner);
  };
  s.networks.forEach((n, i) => kernelName(networkBridge(n), `network '${n.name}'`, 'bridge', ['networks', i, n.bridge ? 'bridge' : 'id']));
  // A map, not a search per port or floating IP: a state can hold thousands.
  const byId = new Map(s.networks.map((n) => [n.id, n]));
  const net = (id: string) => byId.get(id);
  // Every address of a network has one owner, so no address is used twice
  // there. (network id, ip) -> [the claiming object's id, how to name it].
  const used = new Map<string, [string, string]>();
  const claim = (netId: string, ip: string, key: string, owner: string, label: string, at: StatePath) => {
    const prev = used.get(`${netId} ${ip}`);
    if (prev && prev[0] !== key) return report(`${label} ${ip} is already used by ${prev[1]}: expected a free address`, at);
    used.set(`${netId} ${ip}`, [key, owner]);
  };
  s.networks.forEach((n, i) => {
    if (n.gateway_ip) claim(n.id, n.gateway_ip, n.id, `the gateway IP of network '${n.name}'`, 'gateway IP', ['networks', i, 'gateway_ip']);
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
    const subnets: { cidr: string; name: string }[] = [];
    const ownSubnet = (cidr: string, name: string, at: StatePath): boolean => {
      const other = subnets.find((x) => overlaps(x.cidr, cidr));
      if (other) {
        report(`${cidr} of network '${name}' overlaps ${other.cidr} of network '${other.name}' on router '${r.name}': expected subnets that overlap no other subnet of the router`, at, `l3ctl interface list ${r.name}`);
        return false;
      }
      subnets.push({ cidr, name });
      return true;
    };
    r.interfaces.forEach((p, pi) => {
      const at = (field: string): StatePath => ['routers', ri, 'interfaces', pi, field];
      const owner = `router '${r.name}' port ${p.id.slice(0, 8)}`;
      unique(p.id, owner, at('id'));
      portName(p.id, owner, at('id'));
      const n = net(p.network_id);
      const bad = (message: string, field: string, hint?: string) => {
        misplugged.add(r);
        report(message, at(field), hint);
      };
      if (!n) return bad(`port ${p.id} of router '${r.name}' refers to an unknown network ${p.network_id}`, 'network_id');
      if (n.external) {
        return bad(`network '${n.name}' is external: expected an internal network for an interface; an external one can only be a gateway`, 'network_id', `l3ctl gateway set ${r.name} ${n.name}`);
      }
      const outside = hostProblem(n.cidr, p.ip_address);
      if (outside) return report(`interface IP ${p.ip_address} on network '${n.name}' ${outside}`, at('ip_address'));
      if (subnets.some((x) => x.cidr === n.cidr)) {
        return report(`router '${r.name}' already has a port on subnet ${n.cidr} (network '${n.name}'): expected one port per subnet`, at('network_id'), `l3ctl interface list ${r.name}`);
      }
      if (!ownSubnet(n.cidr, n.name, at('network_id'))) return;
      // The interface may take its network's gateway IP (the default): that is what it is for.
      if (used.get(`${n.id} ${p.ip_address}`)?.[0] === n.id) used.delete(`${n.id} ${p.ip_address}`);
      claim(n.id, p.ip_address, p.id, owner, 'interface IP', at('ip_address'));
      claimMac(p.mac_address, owner, at('mac_address'));
    });
    const gw = r.gateway;
    if (gw) {
      const at = (field: string): StatePath => ['routers', ri, 'gateway', field];
      const owner = `the gateway of router '${r.name}'`;
      unique(gw.id, owner, at('id'));
      portName(gw.id, owner, at('id'));
      const n = net(gw.network_id);
      const bad = (message: string, field: string, hint?: string) => {
        misplugged.add(r);
        report(message, at(field), hint);
      };
      if (!n) bad(`gateway of router '${r.name}' refers to an unknown network ${gw.network_id}`, 'network_id');
      else if (!n.external) {
        bad(`network '${n.name}' is not external: expected an external network for a gateway`, 'network_id', 'l3ctl network add NAME --cidr CIDR --external');
      } else {
        const outside = hostProblem(n.cidr, gw.ip_address);
        if (outside) report(`gateway address ${gw.ip_address} on external network '${n.name}' ${outside}`, at('ip_address'));
        else if (ownSubnet(n.cidr, n.name, at('network_id'))) {
          claim(n.id, gw.ip_address, gw.id, owner, 'gateway address', at('ip_address'));
          claimMac(gw.mac_address, owner, at('mac_address'));
        }
      }
    }
    checkRoutes(r, net, !misplugged.has(r), (message, at, hint) => report(message, ['routers', ri, 'routes', ...at], hint));
  });
  s.floatingips.forEach((f, i) => {
    const at = (field: string): StatePath => ['floatingips', i, field];
    const owner = `floating IP ${f.floating_ip_address}`;
    unique(f.id, owner, at('id'));
    const n = net(f.floating_network_id);
    if (!n || !n.external) return report(`floating IP ${f.floating_ip_address} must belong to an external network`, at('floating_network_id'));
    const bad = hostProblem(n.cidr, f.floating_ip_address);
    if (bad) return report(`floating IP ${f.floating_ip_address} on external network '${n.name}' ${bad}`, at('floating_ip_address'));
    claim(n.id, f.floating_ip_address, f.id, owner, 'floating IP', at('floating_ip_address'));
    if (f.router_id) {
      const r = routersById.get(f.router_id);
      if (!r) return report(`floating IP ${f.floating_ip_address} refers to an unknown router ${f.router_id}`, at('router_id'));
      if (misplugged.has(r)) return;
      if (!r.gateway || r.gateway.network_id !== f.floating_network_id) {
        return report(`router '${r.name}' has no gateway on network '${n.name}': floating IP ${f.floating_ip_address} cannot reach it`, at('router_id'), `l3ctl gateway set ${r.name} ${n.name}`);
      }
      const fixed = f.fixed_ip_address!;
      const subnetsOf = r.interfaces.flatMap((p) => net(p.network_id)?.cidr ?? []);
      if (!subnetsOf.some((cidr) => isHostOf(cidr, fixed))) {
        return report(
          `fixed IP ${fixed} is on none of the internal subnets of router '${r.name}'` +
            (subnetsOf.length ? `: expected a host address in ${subnetsOf.join(' or ')}` : ' (it has no interfaces)'),
          at('fixed_ip_address'),
          `l3ctl interface add ${r.name} NETWORK`,
        );
      }
      if (r.interfaces.some((p) => p.ip_address === fixed)) report(`fixed IP ${fixed} is the router's own interface address: expected the address of a machine behind it`, at('fixed_ip_address'));
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
 * Extra routes as strict as the kernel: the gateway owns the default route;
 * a destination on one of the router's own subnets would replace its
 * connected route; the nexthop must be a host of a subnet of an admin-up
 * port, and not the router's own address there. `at` is relative to the
 * router's routes. Without `portsOk` (a port on a wrong network) nexthops
 * are not judged.
 */
function checkRoutes(r: Router, net: (id: string) => Network | undefined, portsOk: boolean, report: Report): void {
  // A port on an unknown network was reported already: it has no subnet here.
  const withNet = (ps: Port[]) => ps.flatMap((p) => {
    const n = net(p.network_id);
    return n ? [{ port: p, cidr: n.cidr, name: n.name }] : [];
  });
  const onLink = withNet([...r.interfaces.filter((p) => p.admin_state_up), ...(r.gateway?.admin_state_up ? [r.gateway] : [])]);
  const all = withNet([...r.interfaces, ...(r.gateway ? [r.gateway] : [])]);
  r.routes.forEach((rt, i) => {
    const what = `route ${rt.destination} via ${rt.nexthop} of router '${r.name}'`;
    if (parseCidr(rt.destination)?.prefix === 0) {
      return report(`${what}: a /0 destination is the default route, which the gateway owns`, [i, 'destination'], `l3ctl gateway set ${r.name} NETWORK`);
    }
    const hit = all.find((n) => overlaps(n.cidr, rt.destination));
    if (hit) {
      return report(`${what}: ${rt.destination} overlaps ${hit.cidr} of network '${hit.name}', a subnet of the router (its connected route must stay): expected a destination off the router's subnets`, [i, 'destination']);
    }
    // The router's subnets are in doubt (a problem reported already): the nexthop cannot be judged.
    if (!portsOk) return;
    const link = onLink.find((l) => contains(l.cidr, rt.nexthop));
    if (!link) {
      return report(
        `nexthop ${rt.nexthop} of route ${rt.destination} is on none of the subnets of router '${r.name}'` +
          (onLink.length ? `: expected an address in ${onLink.map((l) => l.cidr).join(' or ')}` : ' (it has no ports)'),
        [i, 'nexthop'],
      );
    }
    const bad = hostProblem(link.cidr, rt.nexthop);
    if (bad) return report(`nexthop ${rt.nexthop} of route ${rt.destination} ${bad}`, [i, 'nexthop']);
    if (link.port.ip_address === rt.nexthop) {
      report(`nexthop ${rt.nexthop} of route ${rt.destination} is the router's own address on network '${link.name}': expected another host on that subnet`, [i, 'nexthop']);
    }
  });
}
