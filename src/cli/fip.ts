// `fip add | delete | associate | disassociate | list`: floating IPs.
import { skipReason } from '../agent/filters.js';
import { contains, firstFree, isIPv4 } from '../model/addr.js';
import { subnetOfVersion } from '../model/subnets.js';
import { effectiveConfig } from '../model/config.js';
import { UsageError } from '../model/errors.js';
import { gatewayDevice } from '../model/names.js';
import type { FloatingIp, Network, State } from '../model/types.js';
import { checkIpv4 } from '../model/validate.js';
import { loadState } from '../store/store.js';
import { FIP_COLUMNS } from './columns.js';
import { usedAddresses } from './gateway.js';
import { newId } from './ids.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { confirm, confirmOnTerminal } from './prompt.js';
import { findFip, findNetwork, findRouter } from './resolve.js';
import { fipView } from './views.js';

export function fipRow(s: State, f: FloatingIp) {
  const r = f.router_id ? s.routers.find((x) => x.id === f.router_id) : undefined;
  let status = 'DOWN';
  if (r) {
    try {
      status = skipReason(s, effectiveConfig(s.config), r) === null ? 'ACTIVE' : 'DOWN';
    } catch {
      status = 'ERROR';
    }
  }
  return { ...f, status };
}

function externalNetworkFor(s: State, ip: string | undefined, nref: string | undefined): Network {
  if (nref) return findNetwork(s, nref);
  const ext = s.networks.filter((n) => n.external);
  if (ip) {
    const hit = ext.find((n) => n.subnets.some((sn) => contains(sn.cidr, ip)));
    if (!hit) throw new UsageError(`floating IP ${ip} is on no external network: expected an address in an external network's IPv4 subnet`, ext.length ? `external networks: ${ext.map((n) => `${n.name} (${n.subnets.map((x) => x.cidr).join(', ')})`).join(', ')}` : 'add one: l3ctl network add NAME --cidr CIDR --external');
    return hit;
  }
  if (ext.length === 1) return ext[0]!;
  throw new UsageError(ext.length ? 'several external networks: pass --network' : 'no external network: l3ctl network add NAME --cidr CIDR --external');
}

/** Allocate `ip` (or the first free address) on an external network. */
function allocate(s: State, ip: string | undefined, nref?: string): FloatingIp {
  const n = externalNetworkFor(s, ip, nref);
  if (!n.external) throw new UsageError(`network '${n.name}' is not external: floating IPs live on external networks`);
  const v4 = subnetOfVersion(n, 4);
  if (!v4) throw new UsageError(`external network '${n.name}' has no IPv4 subnet: floating IPs are IPv4 only`, `l3ctl subnet add ${n.name} CIDR`);
  const addr = ip ?? firstFree(v4.cidr, usedAddresses(s, n.id));
  if (!addr) throw new UsageError(`external network '${n.name}' has no free address left`);
  const f: FloatingIp = { id: newId(), floating_ip_address: addr, floating_network_id: n.id, fixed_ip_address: null, router_id: null };
  s.floatingips.push(f);
  return f;
}

export async function fipAdd(o: { ip?: string; network?: string }, io: IO): Promise<void> {
  const ip = o.ip ? checkIpv4('floating IP', o.ip) : undefined;
  const row = await mutate(io, (s) => {
    const have = ip ? s.floatingips.find((f) => f.floating_ip_address === ip) : undefined;
    return { value: fipRow(s, have ?? allocate(s, ip, o.network)) };
  });
  if (row) await printObject(io, FIP_COLUMNS, row);
}

/** `198.51.100.5 on router r1` */
const mappedTo = (s: State, f: FloatingIp) => `${f.fixed_ip_address} on router ${s.routers.find((r) => r.id === f.router_id)?.name ?? f.router_id}`;

export async function fipDelete(o: { fip: string }, io: IO): Promise<void> {
  const s0 = await loadState(io.storePath);
  const pre = findFip(s0, o.fip);
  if (pre.router_id) await confirm(io, `Delete floating IP ${pre.floating_ip_address}, mapped to ${mappedTo(s0, pre)}?`);
  const addr = await mutate(io, (s) => {
    const f = findFip(s, o.fip);
    s.floatingips = s.floatingips.filter((x) => x.id !== f.id);
    return { routers: f.router_id ? [f.router_id] : [], value: f.floating_ip_address };
  });
  if (addr) io.status(`deleted floating IP ${addr}`);
}

export interface FipAssociateOptions {
  fip: string;
  fixedIp: string;
  /** Needed when FIXED_IP lies on subnets of several routers (tenants may reuse address space). */
  router?: string;
}

export async function fipAssociate(o: FipAssociateOptions, io: IO): Promise<void> {
  const fixed = checkIpv4('fixed IP', o.fixedIp);
  // An address (not an id): checked here, an IPv6 one refused with why.
  if (isIPv4(o.fip) || (/^\d/.test(o.fip) && o.fip.includes('.')) || o.fip.includes(':')) checkIpv4('floating IP', o.fip);
  // Already mapped elsewhere: said, and asked on a terminal (the old mapping's connections end).
  const pre = await loadState(io.storePath);
  const was = pre.floatingips.find((x) => x.floating_ip_address === o.fip || x.id === o.fip.toLowerCase());
  let moved: string | undefined;
  if (was?.router_id && was.fixed_ip_address) {
    const to = o.router ? findRouter(pre, o.router) : undefined;
    if (was.fixed_ip_address !== fixed || (to && to.id !== was.router_id)) {
      moved = `floating IP ${was.floating_ip_address} from ${mappedTo(pre, was)} to ${fixed}${to ? ` on router ${to.name}` : ''}`;
      await confirmOnTerminal(io, `Move ${moved}?`);
    }
  }
  const row = await mutate(io, (s) => {
    const f = s.floatingips.find((x) => x.floating_ip_address === o.fip) ?? (isIPv4(o.fip) ? allocate(s, o.fip) : findFip(s, o.fip));
    const candidates = o.router
      ? [findRouter(s, o.router)]
      : s.routers.filter((r) => r.interfaces.some((p) => s.networks.find((n) => n.id === p.network_id)!.subnets.some((sn) => p.fixed_ips.some((f) => f.subnet_id === sn.id) && contains(sn.cidr, fixed))));
    if (!candidates.length) throw new UsageError(`fixed IP ${fixed} is on no router's internal subnet: expected an address on a network some router has an interface on`, 'l3ctl interface add ROUTER NETWORK');
    // Tenants may reuse address space: the same fixed IP can sit behind several routers.
    const same = candidates.find((r) => r.id === f.router_id && f.fixed_ip_address === fixed);
    if (candidates.length > 1 && !same) {
      throw new UsageError(`fixed IP ${fixed} is on subnets of several routers: ${candidates.map((r) => r.name).join(', ')}: expected --router to say which`, `l3ctl fip associate ${f.floating_ip_address} ${fixed} --router ${candidates[0]!.name}`);
    }
    const r = same ?? candidates[0]!;
    const old = f.router_id;
    f.router_id = r.id;
    f.fixed_ip_address = fixed;
    // A FIP that moves from another router leaves that one too.
    return { routers: [...(old && old !== r.id ? [old] : []), r.id], value: fipRow(s, f) };
  });
  if (row && moved) io.status(`moved ${moved}`);
  if (row) await printObject(io, FIP_COLUMNS, row);
}

export async function fipDisassociate(o: { fip: string }, io: IO): Promise<void> {
  const row = await mutate(io, (s) => {
    const f = findFip(s, o.fip);
    const old = f.router_id;
    f.router_id = null;
    f.fixed_ip_address = null;
    return { routers: old ? [old] : [], value: fipRow(s, f) };
  });
  if (row) await printObject(io, FIP_COLUMNS, row);
}

export async function fipList(o: { router?: string; long?: boolean }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  const rid = o.router ? findRouter(s, o.router).id : undefined;
  const fips = s.floatingips.filter((f) => !rid || f.router_id === rid);
  if (!o.long) return printList(io, FIP_COLUMNS, fips.map((f) => fipRow(s, f)), { view: fipView(s) });
  // --long: status is what the kernel has, not what the store implies.
  const { routerStatuses, fipStatus } = await import('../agent/status.js');
  const ids = new Set(fips.map((f) => f.router_id));
  const live = await routerStatuses(io, s, effectiveConfig(s.config), s.routers.filter((r) => ids.has(r.id)));
  const qg = (id: string) => {
    const g = s.routers.find((r) => r.id === id)?.gateway;
    return g ? gatewayDevice(g.id) : null;
  };
  await printList(io, FIP_COLUMNS, fips.map((f) => ({ ...fipRow(s, f), status: fipStatus(f, live, qg) })), { view: fipView(s), long: true });
}
