// Argument checks and whole-state checks. Pure: a failure is a UsageError
// (exit 2) raised before the lock is taken or anything is applied.
import { contains, isHostOf, isIPv4, isMac, networkOf, overlaps, parseCidr } from './addr.js';
import { UsageError } from './errors.js';
import { isUuid } from './names.js';
import type { State } from './types.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkName(kind: string, name: string): string {
  if (!NAME_RE.test(name)) {
    throw new UsageError(`invalid ${kind} name '${name}': expected 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit`);
  }
  return name;
}

export function checkCidr(what: string, s: string): string {
  if (!parseCidr(s)) throw new UsageError(`invalid ${what} '${s}': expected an IPv4 CIDR such as 198.51.100.0/24`);
  return networkOf(s);
}

export function checkIp(what: string, s: string): string {
  if (!isIPv4(s)) throw new UsageError(`invalid ${what} '${s}': expected an IPv4 address such as 198.51.100.5`);
  return s.split('.').map(Number).join('.');
}

export function checkMac(s: string): string {
  if (!isMac(s)) throw new UsageError(`invalid MAC address '${s}': expected six hex pairs such as fa:16:3e:12:34:56 (unicast)`);
  return s.toLowerCase();
}

export function checkUuid(what: string, s: string): string {
  if (!isUuid(s.toLowerCase())) throw new UsageError(`invalid ${what} '${s}': expected a UUID such as 5f6c2a0e-1b2c-4d5e-8f90-0123456789ab`);
  return s.toLowerCase();
}

/** Everything that must hold of a whole state before it is applied or saved. */
export function checkState(s: State): void {
  const ids = new Set<string>();
  const unique = (id: string, what: string) => {
    if (ids.has(id)) throw new UsageError(`duplicate id ${id} (${what})`);
    ids.add(id);
  };
  const names = (kind: string, list: { name: string }[]) => {
    const seen = new Set<string>();
    for (const x of list) {
      if (seen.has(x.name)) throw new UsageError(`a ${kind} named '${x.name}' already exists`);
      seen.add(x.name);
    }
  };
  names('network', s.networks);
  names('router', s.routers);
  for (const n of s.networks) {
    unique(n.id, `network ${n.name}`);
    if (n.gateway_ip && !isHostOf(n.cidr, n.gateway_ip)) {
      throw new UsageError(`gateway IP ${n.gateway_ip} of network '${n.name}' is not a host address of ${n.cidr}`);
    }
  }
  for (let i = 0; i < s.networks.length; i++) {
    for (let j = i + 1; j < s.networks.length; j++) {
      const a = s.networks[i]!;
      const b = s.networks[j]!;
      if (overlaps(a.cidr, b.cidr)) throw new UsageError(`network '${b.name}' (${b.cidr}) overlaps network '${a.name}' (${a.cidr})`);
    }
  }
  const net = (id: string) => s.networks.find((n) => n.id === id)!;
  // ip -> owner, per network, so no address is used twice.
  const used = new Map<string, string>();
  const claim = (ip: string, owner: string) => {
    const prev = used.get(ip);
    if (prev && prev !== owner) throw new UsageError(`address ${ip} is already used by ${prev}`);
    used.set(ip, owner);
  };
  const macs = new Map<string, string>();
  for (const r of s.routers) {
    unique(r.id, `router ${r.name}`);
    const subnets: string[] = [];
    for (const p of r.interfaces) {
      unique(p.id, `port of router ${r.name}`);
      const n = net(p.network_id);
      if (!n) throw new UsageError(`port ${p.id} of router '${r.name}' refers to an unknown network`);
      if (n.external) throw new UsageError(`network '${n.name}' is external: it can only be a router gateway (l3ctl gateway set ${r.name} ${n.name})`);
      if (!isHostOf(n.cidr, p.ip_address)) {
        throw new UsageError(`interface address ${p.ip_address} is not a host address of network '${n.name}' (${n.cidr})`);
      }
      if (subnets.includes(n.cidr)) throw new UsageError(`router '${r.name}' already has a port on network '${n.name}' (${n.cidr})`);
      subnets.push(n.cidr);
      claim(p.ip_address, `router ${r.name} port ${p.id.slice(0, 8)}`);
      const m = macs.get(p.mac_address);
      if (m) throw new UsageError(`MAC address ${p.mac_address} is already used by ${m}`);
      macs.set(p.mac_address, `router ${r.name}`);
    }
    if (r.gateway) {
      unique(r.gateway.id, `gateway of router ${r.name}`);
      const n = net(r.gateway.network_id);
      if (!n) throw new UsageError(`gateway of router '${r.name}' refers to an unknown network`);
      if (!n.external) throw new UsageError(`network '${n.name}' is not external: a gateway needs an external network (l3ctl network add … --external)`);
      if (!isHostOf(n.cidr, r.gateway.ip_address)) {
        throw new UsageError(`gateway address ${r.gateway.ip_address} is not a host address of external network '${n.name}' (${n.cidr})`);
      }
      if (r.gateway.ip_address === n.gateway_ip) throw new UsageError(`gateway address ${r.gateway.ip_address} is the upstream gateway of network '${n.name}'`);
      claim(r.gateway.ip_address, `the gateway of router ${r.name}`);
      const m = macs.get(r.gateway.mac_address);
      if (m) throw new UsageError(`MAC address ${r.gateway.mac_address} is already used by ${m}`);
      macs.set(r.gateway.mac_address, `router ${r.name}`);
    }
    for (const rt of r.routes) {
      if (!subnets.some((c) => contains(c, rt.nexthop)) && !(r.gateway && contains(net(r.gateway.network_id).cidr, rt.nexthop))) {
        throw new UsageError(`nexthop ${rt.nexthop} of route ${rt.destination} is on none of router '${r.name}''s subnets`);
      }
    }
  }
  for (const f of s.floatingips) {
    unique(f.id, `floating IP ${f.floating_ip_address}`);
    const n = net(f.floating_network_id);
    if (!n || !n.external) throw new UsageError(`floating IP ${f.floating_ip_address} must belong to an external network`);
    if (!isHostOf(n.cidr, f.floating_ip_address)) {
      throw new UsageError(`floating IP ${f.floating_ip_address} is not a host address of external network '${n.name}' (${n.cidr})`);
    }
    if (f.floating_ip_address === n.gateway_ip) throw new UsageError(`floating IP ${f.floating_ip_address} is the upstream gateway of network '${n.name}'`);
    claim(f.floating_ip_address, `floating IP ${f.id.slice(0, 8)}`);
    if (f.router_id) {
      const r = s.routers.find((x) => x.id === f.router_id);
      if (!r) throw new UsageError(`floating IP ${f.floating_ip_address} refers to an unknown router`);
      if (!r.gateway || r.gateway.network_id !== f.floating_network_id) {
        throw new UsageError(`router '${r.name}' has no gateway on network '${n.name}': floating IP ${f.floating_ip_address} cannot reach it`, `l3ctl gateway set ${r.name} ${n.name}`);
      }
      const fixed = f.fixed_ip_address!;
      const onSubnet = r.interfaces.some((p) => isHostOf(net(p.network_id).cidr, fixed));
      if (!onSubnet) throw new UsageError(`fixed IP ${fixed} is on none of router '${r.name}''s internal subnets`);
      if (r.interfaces.some((p) => p.ip_address === fixed)) throw new UsageError(`fixed IP ${fixed} is the router's own interface address`);
    }
  }
  const fixedSeen = new Map<string, string>();
  for (const f of s.floatingips) {
    if (!f.fixed_ip_address || !f.router_id) continue;
    const k = `${f.router_id}/${f.fixed_ip_address}`;
    if (fixedSeen.has(k)) throw new UsageError(`fixed IP ${f.fixed_ip_address} already has floating IP ${fixedSeen.get(k)}`);
    fixedSeen.set(k, f.floating_ip_address);
  }
}
