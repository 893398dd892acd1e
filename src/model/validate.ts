// Argument checks and whole-state checks. Pure: a failure is a UsageError
// (exit 2) raised before the lock is taken or anything is applied.
import { broadcastOf, contains, fromInt, hostRange, isHostOf, isIPv4, isMac, networkOf, overlaps, parseCidr } from './addr.js';
import { UsageError } from './errors.js';
import { isUuid, networkBridge } from './names.js';
import type { Network, Router, State } from './types.js';

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

/**
 * Everything that must hold of a whole state before it is applied or saved.
 * Messages name the offending value and what was expected; the first
 * problem found is reported.
 */
export function checkState(s: State): void {
  const ids = new Map<string, string>();
  const unique = (id: string, what: string) => {
    const prev = ids.get(id);
    if (prev) throw new UsageError(`id ${id} of ${what} is already used by ${prev}: expected a new UUID`);
    ids.set(id, what);
  };
  const names = (kind: string, list: { name: string }[]) => {
    const seen = new Set<string>();
    for (const x of list) {
      if (seen.has(x.name)) throw new UsageError(`a ${kind} named '${x.name}' already exists: expected a new name`, `l3ctl ${kind} list`);
      seen.add(x.name);
    }
  };
  names('network', s.networks);
  names('router', s.routers);
  for (const n of s.networks) {
    unique(n.id, `network '${n.name}'`);
    const bad = n.gateway_ip ? hostProblem(n.cidr, n.gateway_ip) : null;
    if (bad) throw new UsageError(`gateway IP ${n.gateway_ip} of network '${n.name}' ${bad}`);
  }
  // Tenants may reuse address space (allow_overlapping_ips): networks may
  // overlap; the subnets of one router may not (checked per router below).
  // Kernel names come from the first 11 characters of ids: they must differ.
  const kernelNames = new Map<string, string>();
  const kernelName = (name: string, owner: string, why: string) => {
    const prev = kernelNames.get(name);
    if (prev && prev !== owner) throw new UsageError(`${why} ${name} of ${owner} is already the kernel name of ${prev}: expected an id whose first 11 characters are new`);
    kernelNames.set(name, owner);
  };
  for (const n of s.networks) kernelName(networkBridge(n), `network '${n.name}'`, 'bridge');
  const byId = new Map(s.networks.map((n) => [n.id, n]));
  const net = (id: string) => byId.get(id)!;
  const routersById = new Map(s.routers.map((r) => [r.id, r]));
  // Every address of a network has one owner, so no address is used twice
  // there. (network id, ip) -> [the claiming object's id, how to name it].
  const used = new Map<string, [string, string]>();
  const claim = (netId: string, ip: string, key: string, owner: string, label: string) => {
    const prev = used.get(`${netId} ${ip}`);
    if (prev && prev[0] !== key) throw new UsageError(`${label} ${ip} is already used by ${prev[1]}: expected a free address`);
    used.set(`${netId} ${ip}`, [key, owner]);
  };
  for (const n of s.networks) if (n.gateway_ip) claim(n.id, n.gateway_ip, n.id, `the gateway IP of network '${n.name}'`, 'gateway IP');
  const macs = new Map<string, string>();
  const claimMac = (mac: string, owner: string) => {
    const m = macs.get(mac);
    if (m) throw new UsageError(`MAC address ${mac} for ${owner} is already used by ${m}`);
    macs.set(mac, owner);
  };
  const portName = (id: string, owner: string) => kernelName(id.slice(0, 11), owner, 'port id prefix');
  // One VRRP id per HA router: they share the HA network.
  const vrIds = new Map<number, string>();
  for (const r of s.routers) {
    unique(r.id, `router '${r.name}'`);
    if (r.ha && r.ha_vr_id !== null) {
      const prev = vrIds.get(r.ha_vr_id);
      if (prev) throw new UsageError(`VRRP id ${r.ha_vr_id} of HA router '${r.name}' is already used by HA router '${prev}': expected one VRRP id per HA router`);
      vrIds.set(r.ha_vr_id, r.name);
    }
    /** This router's subnets, with the network each belongs to. */
    const subnets: { cidr: string; name: string }[] = [];
    const ownSubnet = (cidr: string, name: string) => {
      const other = subnets.find((x) => overlaps(x.cidr, cidr));
      if (other) {
        throw new UsageError(`${cidr} of network '${name}' overlaps ${other.cidr} of network '${other.name}' on router '${r.name}': expected subnets that overlap no other subnet of the router`, `l3ctl interface list ${r.name}`);
      }
      subnets.push({ cidr, name });
    };
    for (const p of r.interfaces) {
      const owner = `router '${r.name}' port ${p.id.slice(0, 8)}`;
      unique(p.id, owner);
      portName(p.id, owner);
      const n = net(p.network_id);
      if (!n) throw new UsageError(`port ${p.id} of router '${r.name}' refers to an unknown network ${p.network_id}`);
      if (n.external) {
        throw new UsageError(`network '${n.name}' is external: expected an internal network for an interface; an external one can only be a gateway`, `l3ctl gateway set ${r.name} ${n.name}`);
      }
      const bad = hostProblem(n.cidr, p.ip_address);
      if (bad) throw new UsageError(`interface IP ${p.ip_address} on network '${n.name}' ${bad}`);
      if (subnets.some((x) => x.cidr === n.cidr)) {
        throw new UsageError(`router '${r.name}' already has a port on subnet ${n.cidr} (network '${n.name}'): expected one port per subnet`, `l3ctl interface list ${r.name}`);
      }
      ownSubnet(n.cidr, n.name);
      // The interface may take its network's gateway IP (the default): that is what it is for.
      if (used.get(`${n.id} ${p.ip_address}`)?.[0] === n.id) used.delete(`${n.id} ${p.ip_address}`);
      claim(n.id, p.ip_address, p.id, owner, 'interface IP');
      claimMac(p.mac_address, owner);
    }
    if (r.gateway) {
      const owner = `the gateway of router '${r.name}'`;
      unique(r.gateway.id, owner);
      portName(r.gateway.id, owner);
      const n = net(r.gateway.network_id);
      if (!n) throw new UsageError(`gateway of router '${r.name}' refers to an unknown network ${r.gateway.network_id}`);
      if (!n.external) {
        throw new UsageError(`network '${n.name}' is not external: expected an external network for a gateway`, 'l3ctl network add NAME --cidr CIDR --external');
      }
      const bad = hostProblem(n.cidr, r.gateway.ip_address);
      if (bad) throw new UsageError(`gateway address ${r.gateway.ip_address} on external network '${n.name}' ${bad}`);
      ownSubnet(n.cidr, n.name);
      claim(n.id, r.gateway.ip_address, r.gateway.id, owner, 'gateway address');
      claimMac(r.gateway.mac_address, owner);
    }
    checkRoutes(r, net);
  }
  for (const f of s.floatingips) {
    const owner = `floating IP ${f.floating_ip_address}`;
    unique(f.id, owner);
    const n = net(f.floating_network_id);
    if (!n || !n.external) throw new UsageError(`floating IP ${f.floating_ip_address} must belong to an external network`);
    const bad = hostProblem(n.cidr, f.floating_ip_address);
    if (bad) throw new UsageError(`floating IP ${f.floating_ip_address} on external network '${n.name}' ${bad}`);
    claim(n.id, f.floating_ip_address, f.id, owner, 'floating IP');
    if (f.router_id) {
      const r = routersById.get(f.router_id);
      if (!r) throw new UsageError(`floating IP ${f.floating_ip_address} refers to an unknown router ${f.router_id}`);
      if (!r.gateway || r.gateway.network_id !== f.floating_network_id) {
        throw new UsageError(`router '${r.name}' has no gateway on network '${n.name}': floating IP ${f.floating_ip_address} cannot reach it`, `l3ctl gateway set ${r.name} ${n.name}`);
      }
      const fixed = f.fixed_ip_address!;
      const subnetsOf = r.interfaces.map((p) => net(p.network_id).cidr);
      if (!r.interfaces.some((p) => isHostOf(net(p.network_id).cidr, fixed))) {
        throw new UsageError(
          `fixed IP ${fixed} is on none of the internal subnets of router '${r.name}'` +
            (subnetsOf.length ? `: expected a host address in ${subnetsOf.join(' or ')}` : ' (it has no interfaces)'),
          `l3ctl interface add ${r.name} NETWORK`,
        );
      }
      if (r.interfaces.some((p) => p.ip_address === fixed)) throw new UsageError(`fixed IP ${fixed} is the router's own interface address: expected the address of a machine behind it`);
    }
  }
  const fixedSeen = new Map<string, string>();
  for (const f of s.floatingips) {
    if (!f.fixed_ip_address || !f.router_id) continue;
    const k = `${f.router_id}/${f.fixed_ip_address}`;
    if (fixedSeen.has(k)) {
      throw new UsageError(`fixed IP ${f.fixed_ip_address} already has floating IP ${fixedSeen.get(k)}: expected one floating IP per fixed IP`, `l3ctl fip disassociate ${fixedSeen.get(k)}`);
    }
    fixedSeen.set(k, f.floating_ip_address);
  }
}

/**
 * Extra routes as strict as the kernel: the gateway owns the default route;
 * a destination on one of the router's own subnets would replace its
 * connected route; the nexthop must be a host of a subnet of an admin-up
 * port, and not the router's own address there.
 */
function checkRoutes(r: Router, net: (id: string) => Network): void {
  const ports = [...r.interfaces.filter((p) => p.admin_state_up), ...(r.gateway?.admin_state_up ? [r.gateway] : [])];
  const onLink = ports.map((p) => ({ port: p, cidr: net(p.network_id).cidr, name: net(p.network_id).name }));
  const all = [...r.interfaces, ...(r.gateway ? [r.gateway] : [])].map((p) => net(p.network_id));
  for (const rt of r.routes) {
    const what = `route ${rt.destination} via ${rt.nexthop} of router '${r.name}'`;
    if (parseCidr(rt.destination)?.prefix === 0) {
      throw new UsageError(`${what}: a /0 destination is the default route, which the gateway owns`, `l3ctl gateway set ${r.name} NETWORK`);
    }
    const hit = all.find((n) => overlaps(n.cidr, rt.destination));
    if (hit) {
      throw new UsageError(`${what}: ${rt.destination} overlaps ${hit.cidr} of network '${hit.name}', a subnet of the router (its connected route must stay): expected a destination off the router's subnets`);
    }
    const link = onLink.find((l) => contains(l.cidr, rt.nexthop));
    if (!link) {
      throw new UsageError(
        `nexthop ${rt.nexthop} of route ${rt.destination} is on none of the subnets of router '${r.name}'` +
          (onLink.length ? `: expected an address in ${onLink.map((l) => l.cidr).join(' or ')}` : ' (it has no ports)'),
      );
    }
    const bad = hostProblem(link.cidr, rt.nexthop);
    if (bad) throw new UsageError(`nexthop ${rt.nexthop} of route ${rt.destination} ${bad}`);
    if (link.port.ip_address === rt.nexthop) {
      throw new UsageError(`nexthop ${rt.nexthop} of route ${rt.destination} is the router's own address on network '${link.name}': expected another host on that subnet`);
    }
  }
}
