// `interface add | remove | list`: a router's internal ports. A port on a
// dual-stack network is one device with an address on each subnet.
import { contains, networkOf, parseCidr } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import { internalDevice } from '../model/names.js';
import { HA_IPV4_ONLY, haIpv6Refused, haTakesSubnet } from '../model/ha.js';
import { addressesText, cidrsText } from '../model/subnets.js';
import type { FixedIp, Network, Port, Router, State, Subnet } from '../model/types.js';
import { checkMac, checkUuid } from '../model/validate.js';
import { addressesByVersion, subnetsFor } from './addresses.js';
import { loadState } from '../store/store.js';
import { PORT_COLUMNS } from './columns.js';
import { newId, newMac } from './ids.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { confirm } from './prompt.js';
import { findNetwork, findPort, findRouter } from './resolve.js';
import { portView } from './views.js';

/** `ip_address`: every fixed IP, joined by commas (one address for an IPv4-only port, as before). */
export const portRow = (r: Router, p: Port) => ({
  id: p.id,
  router_id: r.id,
  network_id: p.network_id,
  ip_address: addressesText(p),
  mac_address: p.mac_address,
  device: internalDevice(p.id),
  fixed_ips: p.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })),
});

function allPorts(s: State, r?: Router) {
  return (r ? [r] : s.routers).flatMap((x) => x.interfaces.map((p) => portRow(x, p)));
}

export interface InterfaceAddOptions {
  router: string;
  network: string;
  /** At most one per IP version. */
  ip?: string[];
  mac?: string;
  id?: string;
}

/**
 * One port per network, with an address on each of its subnets: the one
 * given (`--ip`, once per IP version), else the address it has there
 * already, else the subnet's gateway IP. Run again on a port that lacks an
 * address on a subnet added since, it adds one.
 */
export async function interfaceAdd(o: InterfaceAddOptions, io: IO): Promise<void> {
  const given = addressesByVersion(o.ip, 'interface IP');
  const mac = o.mac ? checkMac(o.mac) : undefined;
  const id = o.id ? checkUuid('port id', o.id) : undefined;
  const done = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    const n = findNetwork(s, o.network);
    if (n.external) throw new UsageError(`network '${n.name}' is external: use it as a gateway (l3ctl gateway set ${r.name} ${n.name})`);
    if (!n.subnets.length) throw new UsageError(`network '${n.name}' has no subnet: expected a network with an address range`, `l3ctl subnet add ${n.name} CIDR`);
    subnetsFor(n, given);
    const existing = r.interfaces.find((p) => p.network_id === n.id);
    const fixed: FixedIp[] = [];
    const skipped: Subnet[] = [];
    const haSkipped: Subnet[] = [];
    for (const sn of n.subnets) {
      const have = existing?.fixed_ips.find((f) => f.subnet_id === sn.id);
      const want = given.get(sn.ip_version);
      if (!haTakesSubnet(r, sn)) {
        if (want) throw haIpv6Refused(r, `interface IP ${want}`);
        haSkipped.push(sn);
        continue;
      }
      if (have && want && have.ip_address !== want) {
        throw new UsageError(`router '${r.name}' already has a port on network '${n.name}' (${addressesText(existing!)})`, `remove it first: l3ctl interface remove ${r.name} ${n.name}`);
      }
      const ip = have?.ip_address ?? want ?? sn.gateway_ip;
      if (ip) fixed.push({ subnet_id: sn.id, ip_address: ip });
      else skipped.push(sn);
    }
    if (!fixed.length && haSkipped.length && !skipped.length) throw haIpv6Refused(r, `network '${n.name}' (${cidrsText(n)})`);
    if (!fixed.length) throw new UsageError(`network '${n.name}' has no gateway IP: pass --ip`);
    let port: Port;
    if (existing) {
      if ((mac && existing.mac_address !== mac) || (id && existing.id !== id)) {
        throw new UsageError(`router '${r.name}' already has a port on network '${n.name}' (${addressesText(existing)})`, `remove it first: l3ctl interface remove ${r.name} ${n.name}`);
      }
      existing.fixed_ips = fixed;
      port = existing;
    } else {
      port = { id: id ?? newId(), network_id: n.id, fixed_ips: fixed, mac_address: mac ?? newMac(), admin_state_up: true };
      r.interfaces.push(port);
    }
    return { routers: [r.id], value: { row: portRow(r, port), skipped: skipped.map((x) => x.cidr), haSkipped: haSkipped.map((x) => x.cidr), router: r.name } };
  });
  if (!done) return;
  for (const c of done.haSkipped) io.warn(`router '${done.router}' gets no address on ${c}: ${HA_IPV4_ONLY}`);
  for (const c of done.skipped) io.warn(`subnet ${c} has no gateway IP: the port has no address on it (pass --ip for it)`);
  await printObject(io, PORT_COLUMNS, done.row);
}

/**
 * What `interface remove ROUTER REF` takes away: a whole port (REF a network
 * or port id), or one address of a dual-stack port (REF a subnet's CIDR or
 * id; the last address takes the port with it).
 */
function removal(s: State, r: Router, ref: string): { port: Port; net: Network; subnets: Subnet[]; whole: boolean } {
  const cidr = parseCidr(ref) ? networkOf(ref) : null;
  for (const p of r.interfaces) {
    const net = s.networks.find((n) => n.id === p.network_id)!;
    const hit = net.subnets.find((sn) => (sn.cidr === cidr || sn.id === ref.toLowerCase()) && p.fixed_ips.some((f) => f.subnet_id === sn.id));
    if (hit) return { port: p, net, subnets: [hit], whole: p.fixed_ips.length === 1 };
  }
  const port = findPort(s, r, ref);
  const net = s.networks.find((n) => n.id === port.network_id)!;
  return { port, net, subnets: net.subnets.filter((sn) => port.fixed_ips.some((f) => f.subnet_id === sn.id)), whole: true };
}

/** The router is on no subnet of the network (or CIDR) `ref` names: what to say, or null when `ref` names none. */
function alreadyRemoved(s: State, r: Router, ref: string): string | null {
  const cidr = parseCidr(ref) ? networkOf(ref) : null;
  const subnets = s.networks.flatMap((n) => (n.name === ref || n.id === ref.toLowerCase() ? n.subnets : n.subnets.filter((sn) => sn.cidr === cidr)));
  const net = s.networks.find((n) => n.name === ref || n.id === ref.toLowerCase());
  if (!net && !subnets.length) return null;
  if (r.interfaces.some((p) => (net && p.network_id === net.id) || p.fixed_ips.some((f) => subnets.some((sn) => sn.id === f.subnet_id)))) return null;
  return `router ${r.name} has no interface on '${ref}'; nothing to remove`;
}

/** What the removal takes away, and what needs it: floating IPs mapped to those subnets and routes via them. */
function dependents(s: State, r: Router, ref: string) {
  const rm = removal(s, r, ref);
  const on = (ip: string) => rm.subnets.some((sn) => contains(sn.cidr, ip));
  const fips = s.floatingips.filter((f) => f.router_id === r.id && f.fixed_ip_address && on(f.fixed_ip_address));
  const routes = r.routes.filter((rt) => on(rt.nexthop));
  return { ...rm, fips, routes };
}

/** `floating IP 203.0.113.20 disassociated, route 192.0.2.0/24 deleted` */
function consequences(d: ReturnType<typeof dependents>): string {
  const fips = d.fips.map((f) => f.floating_ip_address);
  const routes = d.routes.map((rt) => rt.destination);
  return [
    ...(fips.length ? [`floating IP${fips.length > 1 ? 's' : ''} ${fips.join(', ')} disassociated`] : []),
    ...(routes.length ? [`route${routes.length > 1 ? 's' : ''} ${routes.join(', ')} deleted`] : []),
  ].join(', ');
}

/**
 * Unplug a router from a network. Floating IPs behind it and routes through
 * it cannot stay: the operator confirms (--yes), and they go with it.
 */
export async function interfaceRemove(o: { router: string; networkOrPort: string }, io: IO): Promise<void> {
  const pre = await loadState(io.storePath);
  const r0 = findRouter(pre, o.router);
  let d0: ReturnType<typeof dependents>;
  try {
    d0 = dependents(pre, r0, o.networkOrPort);
  } catch (err) {
    // A re-run: unplugged already from a network (or subnet) that exists is done, as `route delete` of a missing route.
    const done = err instanceof UsageError ? alreadyRemoved(pre, r0, o.networkOrPort) : null;
    if (!done) throw err;
    return io.status(done);
  }
  const what = d0.whole ? 'the interface' : `the ${d0.subnets.map((x) => x.cidr).join(', ')} address`;
  if (d0.fips.length || d0.routes.length) await confirm(io, `Remove ${what} of router '${r0.name}' on '${d0.net.name}' (${consequences(d0)} with it)?`);
  const done = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    const d = dependents(s, r, o.networkOrPort);
    const p = d.port;
    // Confirmed for what was there when asked; anything added since is refused as before.
    const more = d.fips.some((f) => !d0.fips.some((x) => x.id === f.id)) || d.routes.some((x) => !d0.routes.some((y) => y.destination === x.destination));
    if (more) throw new UsageError(`the interface on '${d.net.name}' gained floating IPs or routes while asking`, `l3ctl interface remove ${r.name} ${d.net.name}`);
    for (const f of d.fips) [f.router_id, f.fixed_ip_address] = [null, null];
    r.routes = r.routes.filter((rt) => !d.routes.includes(rt));
    const also = consequences(d);
    if (!d.whole) {
      const gone = p.fixed_ips.filter((f) => d.subnets.some((sn) => sn.id === f.subnet_id));
      p.fixed_ips = p.fixed_ips.filter((f) => !gone.includes(f));
      return { routers: [r.id], value: `removed address ${gone.map((f) => f.ip_address).join(', ')} from interface ${internalDevice(p.id)} of router ${r.name}${also ? `; ${also}` : ''}` };
    }
    r.interfaces = r.interfaces.filter((x) => x.id !== p.id);
    return { routers: [r.id], value: `removed interface ${internalDevice(p.id)} (${addressesText(p)}) from router ${r.name}${also ? `; ${also}` : ''}` };
  });
  if (done) io.status(done);
}

export async function interfaceList(o: { router?: string; long?: boolean }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  await printList(io, PORT_COLUMNS, allPorts(s, o.router ? findRouter(s, o.router) : undefined), { view: portView(s), long: o.long });
}
