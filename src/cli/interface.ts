// `interface add | remove | list`: a router's internal ports.
import { contains } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import { internalDevice } from '../model/names.js';
import type { Port, Router, State } from '../model/types.js';
import { checkIp, checkMac, checkUuid } from '../model/validate.js';
import { loadState } from '../store/store.js';
import { PORT_COLUMNS } from './columns.js';
import { newId, newMac } from './ids.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { confirm } from './prompt.js';
import { findNetwork, findPort, findRouter } from './resolve.js';
import { portView } from './views.js';

export const portRow = (r: Router, p: Port) => ({
  id: p.id,
  router_id: r.id,
  network_id: p.network_id,
  ip_address: p.ip_address,
  mac_address: p.mac_address,
  device: internalDevice(p.id),
});

function allPorts(s: State, r?: Router) {
  return (r ? [r] : s.routers).flatMap((x) => x.interfaces.map((p) => portRow(x, p)));
}

export interface InterfaceAddOptions {
  router: string;
  network: string;
  ip?: string;
  mac?: string;
  id?: string;
}

export async function interfaceAdd(o: InterfaceAddOptions, io: IO): Promise<void> {
  const ip = o.ip ? checkIp('interface IP', o.ip) : undefined;
  const mac = o.mac ? checkMac(o.mac) : undefined;
  const id = o.id ? checkUuid('port id', o.id) : undefined;
  const row = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    const n = findNetwork(s, o.network);
    if (n.external) throw new UsageError(`network '${n.name}' is external: use it as a gateway (l3ctl gateway set ${r.name} ${n.name})`);
    const want = ip ?? n.gateway_ip;
    if (!want) throw new UsageError(`network '${n.name}' has no gateway IP: pass --ip`);
    const existing = r.interfaces.find((p) => p.network_id === n.id);
    let port: Port;
    if (existing) {
      if (existing.ip_address !== want || (mac && existing.mac_address !== mac) || (id && existing.id !== id)) {
        throw new UsageError(`router '${r.name}' already has a port on network '${n.name}' (${existing.ip_address})`, `remove it first: l3ctl interface remove ${r.name} ${n.name}`);
      }
      port = existing;
    } else {
      port = { id: id ?? newId(), network_id: n.id, ip_address: want, mac_address: mac ?? newMac(), admin_state_up: true };
      r.interfaces.push(port);
    }
    return { routers: [r.id], value: portRow(r, port) };
  });
  if (row) await printObject(io, PORT_COLUMNS, row);
}

/** What needs the interface: floating IPs mapped to its subnet and routes via it. */
function dependents(s: State, r: Router, p: Port) {
  const net = s.networks.find((n) => n.id === p.network_id)!;
  const fips = s.floatingips.filter((f) => f.router_id === r.id && f.fixed_ip_address && contains(net.cidr, f.fixed_ip_address));
  const routes = r.routes.filter((rt) => contains(net.cidr, rt.nexthop));
  return { net, fips, routes };
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
  const d0 = dependents(pre, r0, findPort(pre, r0, o.networkOrPort));
  if (d0.fips.length || d0.routes.length) await confirm(io, `Remove the interface of router '${r0.name}' on '${d0.net.name}' (${consequences(d0)} with it)?`);
  const done = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    const p = findPort(s, r, o.networkOrPort);
    const d = dependents(s, r, p);
    // Confirmed for what was there when asked; anything added since is refused as before.
    const more = d.fips.some((f) => !d0.fips.some((x) => x.id === f.id)) || d.routes.some((x) => !d0.routes.some((y) => y.destination === x.destination));
    if (more) throw new UsageError(`the interface on '${d.net.name}' gained floating IPs or routes while asking`, `l3ctl interface remove ${r.name} ${d.net.name}`);
    for (const f of d.fips) [f.router_id, f.fixed_ip_address] = [null, null];
    r.routes = r.routes.filter((rt) => !d.routes.includes(rt));
    r.interfaces = r.interfaces.filter((x) => x.id !== p.id);
    const also = consequences(d);
    return { routers: [r.id], value: `removed interface ${internalDevice(p.id)} (${p.ip_address}) from router ${r.name}${also ? `; ${also}` : ''}` };
  });
  if (done) io.status(done);
}

export async function interfaceList(o: { router?: string; long?: boolean }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  await printList(io, PORT_COLUMNS, allPorts(s, o.router ? findRouter(s, o.router) : undefined), { view: portView(s), long: o.long });
}
