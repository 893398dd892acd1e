// `subnet add | delete | list`: a network's address ranges, at most one
// IPv4 and one IPv6 subnet each (Neutron's field names).
import { contains, firstFree, ipVersion, parseCidr } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import { haTakesSubnet } from '../model/ha.js';
import type { Ipv6Mode, Network, State, Subnet } from '../model/types.js';
import { checkCidr, checkIp, checkIpv6Mode, checkUuid, shown, subnetProblem } from '../model/validate.js';
import { loadState } from '../store/store.js';
import { SUBNET_COLUMNS } from './columns.js';
import { newId } from './ids.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { findNetwork } from './resolve.js';

export const subnetRow = (n: Network, sn: Subnet) => ({
  id: sn.id,
  network_id: n.id,
  cidr: sn.cidr,
  ip_version: sn.ip_version,
  gateway_ip: sn.gateway_ip,
  ipv6_ra_mode: sn.ipv6_ra_mode,
  ipv6_address_mode: sn.ipv6_address_mode,
});

/** What `--cidr`/CIDR, `--gateway-ip` and the IPv6 modes of a command say about a new subnet. */
export interface SubnetOptions {
  cidr: string;
  /** An address, or 'none'; absent: the subnet's first address (as Neutron). */
  gatewayIp?: string;
  ipv6RaMode?: string;
  ipv6AddressMode?: string;
}

/** A subnet from the command line, checked on its own (the whole state is checked later); the id is the caller's. */
export function subnetFromOptions(o: SubnetOptions, io: IO): Omit<Subnet, 'id'> {
  const cidr = checkCidr('CIDR', o.cidr);
  const c = parseCidr(o.cidr)!;
  if (c.addr !== cidr.split('/')[0]) io.warn(`${o.cidr} has host bits set; using ${cidr}`);
  let gw: string | null;
  if (o.gatewayIp === 'none') gw = null;
  else if (o.gatewayIp !== undefined) {
    gw = checkIp('gateway IP', o.gatewayIp);
    if (ipVersion(gw) !== c.version) throw new UsageError(`gateway IP ${gw} is IPv${ipVersion(gw)}, the subnet ${cidr} IPv${c.version}: expected an address of the subnet`);
  } else gw = firstFree(cidr, []);
  const mode = (what: string, v: string | undefined): Ipv6Mode | null => (v === undefined ? null : checkIpv6Mode(what, v));
  const sn: Omit<Subnet, 'id'> = {
    cidr,
    gateway_ip: gw,
    ip_version: c.version,
    ipv6_ra_mode: mode('ipv6_ra_mode', o.ipv6RaMode),
    ipv6_address_mode: mode('ipv6_address_mode', o.ipv6AddressMode),
  };
  const bad = subnetProblem(sn);
  if (bad) throw new UsageError(`invalid subnet: ${bad.message}`);
  return sn;
}

/** The same definition (what re-running the command that made it would give). */
export const sameSubnet = (a: Omit<Subnet, 'id'>, b: Omit<Subnet, 'id'>) =>
  a.cidr === b.cidr && a.gateway_ip === b.gateway_ip && a.ipv6_ra_mode === b.ipv6_ra_mode && a.ipv6_address_mode === b.ipv6_address_mode;

/** Who has an address on a subnet (it cannot go while they do), with how to release it. */
function usersOf(s: State, n: Network, sn: Subnet): { what: string; hint: string }[] {
  const out: { what: string; hint: string }[] = [];
  for (const r of s.routers) {
    if (r.interfaces.some((p) => p.fixed_ips.some((f) => f.subnet_id === sn.id))) out.push({ what: `an interface of router '${r.name}'`, hint: `l3ctl interface remove ${r.name} ${sn.cidr}` });
    if (r.gateway?.fixed_ips.some((f) => f.subnet_id === sn.id)) out.push({ what: `the gateway of router '${r.name}'`, hint: `l3ctl gateway clear ${r.name}` });
  }
  for (const f of s.floatingips) {
    if (f.floating_network_id === n.id && contains(sn.cidr, f.floating_ip_address)) out.push({ what: `floating IP ${f.floating_ip_address}`, hint: `l3ctl fip delete ${f.floating_ip_address}` });
  }
  return out;
}

export interface SubnetAddOptions extends SubnetOptions {
  network: string;
  id?: string;
}

export async function subnetAdd(o: SubnetAddOptions, io: IO): Promise<void> {
  const sn = subnetFromOptions(o, io);
  const id = o.id ? checkUuid('subnet id', o.id) : undefined;
  const done = await mutate(io, (s) => {
    const n = findNetwork(s, o.network);
    const same = n.subnets.find((x) => x.cidr === sn.cidr);
    if (same) {
      // Re-running the same definition is fine; a different one is a conflict.
      if (!sameSubnet(same, sn) || (id && same.id !== id)) throw new UsageError(`network '${n.name}' already has subnet ${sn.cidr} with a different definition`, `l3ctl subnet list ${n.name}`);
      return { value: { row: subnetRow(n, same), lacking: [] as string[] } };
    }
    const made: Subnet = { id: id ?? newId(), ...sn };
    n.subnets.push(made);
    // Router ports on the network keep their addresses: `interface add` again gives them one here.
    const lacking = s.routers.filter((r) => haTakesSubnet(r, made) && r.interfaces.some((p) => p.network_id === n.id)).map((r) => `l3ctl interface add ${r.name} ${n.name}`);
    return { value: { row: subnetRow(n, made), lacking } };
  });
  if (!done) return;
  for (const cmd of done.lacking) io.warn(`a router port on this network has no address on ${done.row.cidr} yet; to add one: ${cmd}`);
  await printObject(io, SUBNET_COLUMNS, done.row);
}

/** A subnet of any network: by id, id prefix, or a CIDR that only one network has. */
export function findAnySubnet(s: State, ref: string): { n: Network; sn: Subnet } {
  const r = ref.toLowerCase();
  const all = s.networks.flatMap((n) => n.subnets.map((sn) => ({ n, sn })));
  const byId = all.find((x) => x.sn.id === r);
  if (byId) return byId;
  const cidr = parseCidr(ref) ? checkCidr('CIDR', ref) : null;
  const hits = cidr ? all.filter((x) => x.sn.cidr === cidr) : r.length >= 4 && /^[0-9a-f-]+$/.test(r) ? all.filter((x) => x.sn.id.startsWith(r)) : [];
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new UsageError(
      `subnet '${shown(ref)}' is ambiguous: it matches ${hits.map((x) => `${x.sn.cidr} of network '${x.n.name}'`).join(', ')}`,
      `give its id: ${hits.map((x) => `${x.sn.id} (${x.n.name})`).join(', ')}`,
    );
  }
  const cidrs = all.map((x) => x.sn.cidr);
  throw new UsageError(
    `unknown subnet '${shown(ref)}': expected the CIDR, id or id prefix of an existing subnet`,
    cidrs.length ? `subnets: ${cidrs.join(', ')}` : 'no subnets yet: l3ctl network add NAME --cidr CIDR',
  );
}

export async function subnetDelete(o: { subnet: string }, io: IO): Promise<void> {
  const gone = await mutate(io, (s) => {
    const { n, sn } = findAnySubnet(s, o.subnet);
    const users = usersOf(s, n, sn);
    if (users.length) {
      throw new UsageError(`subnet ${sn.cidr} of network '${n.name}' is in use by ${users.map((u) => u.what).join(', ')}: expected a subnet nothing has an address on`, users[0]!.hint);
    }
    n.subnets = n.subnets.filter((x) => x.id !== sn.id);
    return { value: `deleted subnet ${sn.cidr} of network ${n.name}` };
  });
  if (gone) io.status(gone);
}

export async function subnetList(o: { network?: string; long?: boolean }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  const nets = o.network ? [findNetwork(s, o.network)] : s.networks;
  const { subnetView } = await import('./views.js');
  await printList(io, SUBNET_COLUMNS, nets.flatMap((n) => n.subnets.map((sn) => subnetRow(n, sn))), { view: subnetView(s), long: o.long });
}
