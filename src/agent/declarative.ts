// A site document applied to the store: the new desired state it makes
// (merge, or prune), every problem with its path in the file, the
// difference object by object, and the apply as one transaction.
//
// Identity: an object of the file is the stored one with its id; without
// an id, the one with its natural key (network and router by name, a port by
// its router and network, a floating IP by address). Values the file leaves
// out that l3ctl generates (ids, MACs, a gateway's address) are kept from the
// stored object, or generated for a new one, so re-applying a file without
// them changes nothing. Values with a default (admin_state_up, gateway_ip,
// external …) take the default: the file says what the object is.
//
// Networks, routers, floating IPs and config keys absent from the file are
// kept unless `prune`. A router in the file is described whole: its gateway,
// interfaces and routes are exactly the file's.
import { allocateVrId, haTakesSubnet } from '../model/ha.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { contains, firstFree, ipVersion, isHostOf } from '../model/addr.js';
import { addressesText, cidrsText, gatewayIpsText } from '../model/subnets.js';
import { effectiveConfig, isPerNodeKey, PLACEMENT_KEYS } from '../model/config.js';
import { L3ctlError } from '../model/errors.js';
import { STATE_VERSION, type FixedIp, type FloatingIp, type Network, type Port, type Route, type Router, type State, type Subnet } from '../model/types.js';
import { freshIn, nameIdClashes, stateProblems, type StatePath } from '../model/validate.js';
import { legacySubnetId } from '../store/migrate.js';
import { loadState } from '../store/store.js';
import { InvalidDocument, sortProblems, type DocPath, type DocPort, type DocProblem, type ReadDocument } from './document.js';
import { checkConfig, skipReason } from './filters.js';
import { transact, type TxDeps } from './transaction.js';

/** Routers converged at once by an apply: enough to keep two cores busy while `ip` and `iptables` wait on the kernel. */
export const APPLY_CONCURRENCY = 4;

// ---------------------------------------------------------------- diff

export type DiffOp = '+' | '-' | '~';
export type DiffKind = 'config' | 'network' | 'router' | 'gateway' | 'interface' | 'route' | 'fip';

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

/** One object that is added, removed or changed, in the store's terms. */
export interface DiffEntry {
  op: DiffOp;
  kind: DiffKind;
  /** How the object is named: `r1`, `r1 priv` (an interface), `203.0.113.20`. */
  object: string;
  /** For + and -: what it is (`198.51.100.0/24`, `via 198.51.100.254`). */
  detail?: string;
  /** For ~: the fields that change. */
  changes?: FieldChange[];
  /** For ~: what the change means beyond its fields (a new VRRP group). */
  note?: string;
}

/** `+ router r2`, `~ fip 203.0.113.20: fixed 198.51.100.5 → 198.51.100.6`. */
export function diffLine(e: DiffEntry): string {
  const head = `${e.op} ${e.kind} ${e.object}`;
  if (e.op === '~') return `${head}: ${(e.changes ?? []).map((c) => `${c.field} ${c.from} → ${c.to}`).join(', ')}${e.note ? ` (${e.note})` : ''}`;
  return e.detail ? `${head} ${e.detail}` : head;
}

type FieldValue = string | number | boolean | null;
const text = (x: FieldValue | undefined) => (x === null || x === undefined ? 'none' : String(x));

function fieldChanges(pairs: [string, FieldValue, FieldValue][]): FieldChange[] {
  return pairs.filter(([, a, b]) => a !== b).map(([field, a, b]) => ({ field, from: text(a), to: text(b) }));
}

/** Every object that differs between two states, config first, then networks, routers (with their parts), floating IPs. */
export function diffStates(old: State, next: State): DiffEntry[] {
  const out: DiffEntry[] = [];
  const netName = (s: State) => {
    const m = new Map(s.networks.map((n) => [n.id, n.name]));
    return (id: string | null) => (id === null ? null : m.get(id) ?? id);
  };
  const routerName = (s: State) => {
    const m = new Map(s.routers.map((r) => [r.id, r.name]));
    return (id: string | null) => (id === null ? null : m.get(id) ?? id);
  };
  const [oNet, nNet, oRouter, nRouter] = [netName(old), netName(next), routerName(old), routerName(next)];

  for (const k of [...new Set([...Object.keys(old.config), ...Object.keys(next.config)])]) {
    const [a, b] = [old.config[k], next.config[k]];
    if (a === b) continue;
    // An empty value (external_network_bridge '') is shown as "".
    const q = (x: string) => (x === '' ? '""' : x);
    if (a === undefined) out.push({ op: '+', kind: 'config', object: k, detail: q(b!) });
    else if (b === undefined) out.push({ op: '-', kind: 'config', object: k, detail: q(a) });
    else out.push({ op: '~', kind: 'config', object: k, changes: [{ field: 'value', from: q(a), to: q(b) }] });
  }

  const oldNets = new Map(old.networks.map((n) => [n.id, n]));
  const nextNetIds = new Set(next.networks.map((n) => n.id));
  for (const n of next.networks) {
    const o = oldNets.get(n.id);
    if (!o) {
      out.push({ op: '+', kind: 'network', object: n.name, detail: `${cidrsText(n)}${n.external ? ' external' : ''}` });
      continue;
    }
    // The subnets as the single-value columns show them (one value for an IPv4-only network), and their IPv6 modes.
    const modes = (x: Network, f: 'ipv6_ra_mode' | 'ipv6_address_mode') => x.subnets.map((sn) => sn[f]).filter((m) => m !== null).join(',') || null;
    const changes = fieldChanges([
      ['name', o.name, n.name],
      ['cidr', cidrsText(o), cidrsText(n)],
      ['gateway_ip', gatewayIpsText(o), gatewayIpsText(n)],
      ['ipv6_ra_mode', modes(o, 'ipv6_ra_mode'), modes(n, 'ipv6_ra_mode')],
      ['ipv6_address_mode', modes(o, 'ipv6_address_mode'), modes(n, 'ipv6_address_mode')],
      ['external', o.external, n.external],
      ['bridge', o.bridge, n.bridge],
    ]);
    if (changes.length) out.push({ op: '~', kind: 'network', object: o.name, changes });
  }

  const port = (kind: 'gateway' | 'interface', rname: string, o: Port | null, n: Port | null, on: (id: string | null) => string | null, nn: (id: string | null) => string | null) => {
    const name = (p: Port, net: (id: string | null) => string | null) => (kind === 'gateway' ? rname : `${rname} ${net(p.network_id)}`);
    const detail = (p: Port, net: (id: string | null) => string | null) => (kind === 'gateway' ? `${net(p.network_id)} ${addressesText(p)}` : addressesText(p));
    if (o && n && o.id === n.id) {
      const changes = fieldChanges([['network', on(o.network_id), nn(n.network_id)], ['ip', addressesText(o), addressesText(n)], ['mac', o.mac_address, n.mac_address], ['admin_state_up', o.admin_state_up, n.admin_state_up]]);
      if (changes.length) out.push({ op: '~', kind, object: name(o, on), changes });
      return;
    }
    if (o) out.push({ op: '-', kind, object: name(o, on), detail: detail(o, on) });
    if (n) out.push({ op: '+', kind, object: name(n, nn), detail: detail(n, nn) });
  };
  const routerParts = (o: Router | null, n: Router | null) => {
    const rname = (n ?? o)!.name;
    port('gateway', rname, o?.gateway ?? null, n?.gateway ?? null, oNet, nNet);
    const oPorts = new Map((o?.interfaces ?? []).map((p) => [p.id, p]));
    const nIds = new Set((n?.interfaces ?? []).map((p) => p.id));
    for (const p of n?.interfaces ?? []) port('interface', rname, oPorts.get(p.id) ?? null, p, oNet, nNet);
    for (const p of o?.interfaces ?? []) if (!nIds.has(p.id)) port('interface', rname, p, null, oNet, nNet);
    const oRoutes = new Map((o?.routes ?? []).map((x) => [x.destination, x]));
    const nDst = new Set((n?.routes ?? []).map((x) => x.destination));
    for (const x of n?.routes ?? []) {
      const was = oRoutes.get(x.destination);
      if (!was) out.push({ op: '+', kind: 'route', object: `${rname} ${x.destination}`, detail: `via ${x.nexthop}` });
      else if (was.nexthop !== x.nexthop) out.push({ op: '~', kind: 'route', object: `${rname} ${x.destination}`, changes: [{ field: 'nexthop', from: was.nexthop, to: x.nexthop }] });
    }
    for (const x of o?.routes ?? []) if (!nDst.has(x.destination)) out.push({ op: '-', kind: 'route', object: `${rname} ${x.destination}`, detail: `via ${x.nexthop}` });
  };
  const oldRouters = new Map(old.routers.map((r) => [r.id, r]));
  const nextRouterIds = new Set(next.routers.map((r) => r.id));
  for (const r of next.routers) {
    const o = oldRouters.get(r.id);
    if (!o) out.push({ op: '+', kind: 'router', object: r.name, ...(r.admin_state_up ? {} : { detail: 'disabled' }) });
    else {
      const changes = fieldChanges([
        ['name', o.name, r.name],
        ['admin_state_up', o.admin_state_up, r.admin_state_up],
        ['ha', o.ha, r.ha],
        ['ha_vr_id', o.ha_vr_id, r.ha_vr_id],
      ]);
      // Another VRRP id: this node's keepalived joins another group, apart from the nodes that keep the old one.
      const regroup = o.ha && r.ha && o.ha_vr_id !== r.ha_vr_id;
      if (changes.length) out.push({ op: '~', kind: 'router', object: o.name, changes, ...(regroup ? { note: 'another VRRP group: every node must give it the same id' } : {}) });
    }
    routerParts(o ?? null, r);
  }
  for (const o of old.routers) {
    if (nextRouterIds.has(o.id)) continue;
    out.push({ op: '-', kind: 'router', object: o.name });
    routerParts(o, null);
  }

  const fipDetail = (f: FloatingIp, rn: (id: string | null) => string | null) => (f.fixed_ip_address ? `→ ${f.fixed_ip_address} (router ${rn(f.router_id)})` : undefined);
  const oldFips = new Map(old.floatingips.map((f) => [f.id, f]));
  const nextFipIds = new Set(next.floatingips.map((f) => f.id));
  for (const f of next.floatingips) {
    const o = oldFips.get(f.id);
    if (!o) {
      const detail = fipDetail(f, nRouter);
      out.push({ op: '+', kind: 'fip', object: f.floating_ip_address, ...(detail ? { detail } : {}) });
      continue;
    }
    const changes = fieldChanges([
      ['address', o.floating_ip_address, f.floating_ip_address],
      ['network', oNet(o.floating_network_id), nNet(f.floating_network_id)],
      ['fixed', o.fixed_ip_address, f.fixed_ip_address],
      ['router', oRouter(o.router_id), nRouter(f.router_id)],
    ]);
    if (changes.length) out.push({ op: '~', kind: 'fip', object: o.floating_ip_address, changes });
  }
  for (const o of old.floatingips) {
    if (nextFipIds.has(o.id)) continue;
    const detail = fipDetail(o, oRouter);
    out.push({ op: '-', kind: 'fip', object: o.floating_ip_address, ...(detail ? { detail } : {}) });
  }
  // Networks go last: what used them is gone by then.
  for (const o of old.networks) if (!nextNetIds.has(o.id)) out.push({ op: '-', kind: 'network', object: o.name, detail: cidrsText(o) });
  return out;
}

// ---------------------------------------------------------------- merge

export interface PlanOptions {
  /** Remove networks, routers, floating IPs and config keys the file lacks. */
  prune?: boolean;
  /** New ids and MACs (tests pass deterministic ones). */
  newId?: () => string;
  newMac?: () => string;
}

/** What applying a document to a state would do. */
export interface DocumentPlan {
  /** Every problem, with its path in the file; when any, nothing else is meaningful. */
  problems: DocProblem[];
  next: State;
  changes: DiffEntry[];
  /** Routers to converge: every one the file names, and every one the change touches. */
  routers: string[];
  removedNetworks: Network[];
  /** use_namespaces changed: what a shared router left in the host namespace goes. */
  hostLeftovers: boolean;
}

/** Neutron's base MAC fa:16:3e with three random bytes (as `interface add`). */
const randomMac = () => ['fa', '16', '3e', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');

/** The doc's names for the store's reference fields. */
const DOC_FIELD: Record<string, string> = { network_id: 'network', floating_network_id: 'network', router_id: 'router' };

/**
 * The state `doc` makes of `current`, and every problem: references first
 * (unknown names, what cannot be inferred), then, when those are clean, the
 * whole-state rules every command obeys, each at its path in the file.
 * Pure but for new ids and MACs.
 */
export function planDocument(current: State, read: ReadDocument, opts: PlanOptions = {}): DocumentPlan {
  const doc = read.doc;
  const newId = opts.newId ?? randomUUID;
  const newMac = opts.newMac ?? randomMac;
  const prune = !!opts.prune;
  const problems: DocProblem[] = [];
  const problem = (path: DocPath, message: string) => problems.push({ path, message });
  /** Where each object of the new state came from in the file. */
  const origin = new Map<object, DocPath>();

  // Config: the file's keys; the node's own always kept; the rest kept unless pruned.
  const config: Record<string, string> = {};
  for (const [k, val] of Object.entries(current.config)) if (!prune || isPerNodeKey(k)) config[k] = val;
  Object.assign(config, doc.config ?? {});
  const plugged = current.routers.some((r) => r.interfaces.length || r.gateway);
  for (const k of PLACEMENT_KEYS) {
    if (plugged && config[k] !== current.config[k]) {
      problem(['config', ...(k in (doc.config ?? {}) ? [k] : [])], `cannot change ${k} while routers have ports: expected ${current.config[k] === undefined ? 'it unset' : `'${current.config[k]}'`} (remove the routers or their ports first, or apply to an empty store)`);
    }
  }

  /** Stored objects in store order, updated where the file has them; then the file's new ones in file order. */
  function merge<D, S extends { id: string }>(
    list: D[],
    stored: S[],
    match: (d: D) => S | undefined,
    build: (d: D, m: S | undefined, i: number) => S,
  ): S[] {
    const claimed = new Map<S, S>();
    const fresh: S[] = [];
    list.forEach((d, i) => {
      let m = match(d);
      // A second entry of the file for the same stored object is a new object (then a conflict checkState names).
      if (m && claimed.has(m)) m = undefined;
      const built = build(d, m, i);
      if (m) claimed.set(m, built);
      else fresh.push(built);
    });
    return [...stored.flatMap((s) => (claimed.has(s) ? [claimed.get(s)!] : prune ? [] : [s])), ...fresh];
  }
  const byIdOrKey = <S extends { id: string }>(stored: S[], key: (s: S) => string) => {
    const ids = new Map(stored.map((s) => [s.id, s]));
    const keys = new Map(stored.map((s) => [key(s), s]));
    return (id: string | undefined, k: string) => (id !== undefined ? ids.get(id) : keys.get(k));
  };

  const findNet = byIdOrKey(current.networks, (n) => n.name);
  const networks = merge(doc.networks ?? [], current.networks, (d) => findNet(d.id, d.name), (d, m, i) => {
    const subnets = (d.subnets ?? []).map((ds, j): Subnet => {
      // The stored subnet: by id, else by CIDR (its id is kept). An id an older
      // document got from its migration (derived from the network id) is no
      // identity of its own: the stored subnet of that CIDR keeps its id.
      const netId = d.id ?? m?.id;
      const derived = ds.id !== undefined && netId !== undefined && ds.id === legacySubnetId(netId.toLowerCase());
      const byCidr = m?.subnets.find((x) => x.cidr === ds.cidr);
      const stored = ds.id !== undefined ? m?.subnets.find((x) => x.id === ds.id) ?? (derived ? byCidr : undefined) : byCidr;
      const sn: Subnet = {
        id: (derived ? stored?.id : undefined) ?? ds.id ?? stored?.id ?? newId(),
        cidr: ds.cidr,
        gateway_ip: ds.gateway_ip === undefined ? firstFree(ds.cidr, []) : ds.gateway_ip,
        ip_version: ds.cidr.includes(':') ? 6 : 4,
        ipv6_ra_mode: ds.ipv6_ra_mode ?? null,
        ipv6_address_mode: ds.ipv6_address_mode ?? null,
      };
      origin.set(sn, ['networks', i, 'subnets', j]);
      return sn;
    });
    const n: Network = {
      id: d.id ?? m?.id ?? newId(),
      name: d.name,
      subnets,
      external: d.external ?? false,
      bridge: d.bridge ?? null,
    };
    origin.set(n, ['networks', i]);
    return n;
  });
  const netsByName = new Map(networks.map((n) => [n.name, n]));
  const netsById = new Map(networks.map((n) => [n.id, n]));
  const netRef = (path: DocPath, ref: string): Network | undefined => {
    const n = netsByName.get(ref) ?? netsById.get(ref.toLowerCase());
    if (!n) problem(path, `unknown network '${ref}': expected the name or id of a network in the file${prune ? '' : ' or the store'}`);
    return n;
  };

  /** Gateway addresses the file does not give: allocated once every explicit address is known. */
  const unaddressed: { port: Port; net: Network; subnet: Subnet; path: DocPath }[] = [];
  /** The fixed IPs the file gives a port: each on the subnet of the network that holds it. */
  const fixedIps = (p: DocPort, path: DocPath, net: Network): FixedIp[] =>
    (p.fixed_ips ?? []).flatMap((f, k) => {
      // The subnet holding it, else the one of its IP version (then the whole-state check says how it is outside).
      const v = ipVersion(f.ip_address);
      const sn = f.subnet_id !== undefined ? net.subnets.find((x) => x.id === f.subnet_id) : net.subnets.find((x) => contains(x.cidr, f.ip_address)) ?? net.subnets.find((x) => x.ip_version === v);
      if (!sn) {
        problem([...path, 'fixed_ips', k, f.subnet_id !== undefined ? 'subnet_id' : 'ip_address'], f.subnet_id !== undefined ? `subnet ${f.subnet_id} is not a subnet of network '${net.name}'` : `network '${net.name}' has no IPv${v} subnet for ${f.ip_address}: expected an address in ${cidrsText(net) || '(it has no subnets)'}`);
        return [];
      }
      return [{ subnet_id: sn.id, ip_address: f.ip_address }];
    });
  const findRouter = byIdOrKey(current.routers, (r) => r.name);
  const named = new Set<string>();
  const routers = merge(doc.routers ?? [], current.routers, (d) => findRouter(d.id, d.name), (d, m, i) => {
    const at: DocPath = ['routers', i];
    const port = (p: DocPort, path: DocPath, stored: Port | undefined, net: Network): Port => {
      const built: Port = {
        id: p.id ?? stored?.id ?? newId(),
        network_id: net.id,
        fixed_ips: fixedIps(p, path, net),
        mac_address: p.mac_address ?? stored?.mac_address ?? newMac(),
        admin_state_up: p.admin_state_up ?? true,
      };
      origin.set(built, path);
      return built;
    };
    const ha = d.ha ?? m?.ha ?? false;
    const interfaces: Port[] = [];
    (d.interfaces ?? []).forEach((p, j) => {
      const path = [...at, 'interfaces', j];
      const net = netRef([...path, 'network'], p.network);
      if (!net) return;
      const stored = m?.interfaces.find((x) => (p.id !== undefined ? x.id === p.id : x.network_id === net.id));
      const built = port(p, path, stored, net);
      if (p.fixed_ips == null) {
        // As `interface add`: each subnet's gateway IP.
        // An HA router takes the IPv4 subnet alone (HA routers are IPv4 only).
        built.fixed_ips = net.subnets.flatMap((sn) => (sn.gateway_ip && haTakesSubnet({ ha }, sn) ? [{ subnet_id: sn.id, ip_address: sn.gateway_ip }] : []));
        if (!built.fixed_ips.length) problem([...path, 'fixed_ips'], `network '${net.name}' has no gateway IP: expected the interface's addresses`);
      }
      interfaces.push(built);
    });
    let gateway: Port | null = null;
    if (d.gateway) {
      const p = d.gateway;
      const path = [...at, 'gateway'];
      const net = netRef([...path, 'network'], p.network);
      if (net) {
        const g = m?.gateway;
        // As `gateway set`: on the same network the port (and, unless given, its address) stays.
        const stored = g && (p.id !== undefined ? g.id === p.id : g.network_id === net.id) ? g : undefined;
        gateway = port(p, path, stored, net);
        if (p.fixed_ips == null) {
          // As `gateway set`: on the same network the addresses stay; each subnet without one gets the first free.
          for (const sn of net.subnets.filter((x) => haTakesSubnet({ ha }, x))) {
            const kept = stored && stored.network_id === net.id ? stored.fixed_ips.find((f) => f.subnet_id === sn.id) : undefined;
            if (kept) gateway.fixed_ips.push({ ...kept });
            else unaddressed.push({ port: gateway, net, subnet: sn, path });
          }
        }
      }
    }
    if (m && m.ha !== ha) {
      // As `router set --ha/--no-ha`: only while the router has no ports, before and after (their addresses would change hands).
      const storedPorts = m.interfaces.length > 0 || m.gateway !== null;
      if (storedPorts || (d.interfaces?.length ?? 0) > 0 || d.gateway) {
        problem(
          [...at, 'ha'],
          `cannot make router '${d.name}' ${ha ? 'an HA router' : 'a legacy (non-HA) router'} while it has ports${storedPorts ? '' : ' (the file gives it some)'}: expected ha: ${m.ha} (change ha while the router has no gateway and no interfaces: apply it without them first, then with them)`,
        );
      }
    }
    const routes: Route[] = (d.routes ?? []).map((x, k) => {
      const rt = { destination: x.destination, nexthop: x.nexthop };
      origin.set(rt, [...at, 'routes', k]);
      return rt;
    });
    const r: Router = {
      id: d.id ?? m?.id ?? newId(),
      name: d.name,
      admin_state_up: d.admin_state_up ?? true,
      gateway,
      interfaces,
      routes,
      ha,
      // Kept from the store when the file leaves it out; allocated below when neither has one.
      ha_vr_id: ha ? d.ha_vr_id ?? (m?.ha ? m.ha_vr_id : null) : null,
    };
    origin.set(r, at);
    named.add(r.id);
    return r;
  });
  for (const r of routers) if (r.ha && r.ha_vr_id === null) r.ha_vr_id = allocateVrId(routers);
  const routersByName = new Map(routers.map((r) => [r.name, r]));
  const routersById = new Map(routers.map((r) => [r.id, r]));

  const findFip = byIdOrKey(current.floatingips, (f) => f.floating_ip_address);
  const floatingips = merge(doc.floatingips ?? [], current.floatingips, (d) => findFip(d.id, d.floating_ip_address), (d, m, i) => {
    const at: DocPath = ['floatingips', i];
    let net: Network | undefined;
    if (d.network !== undefined) net = netRef([...at, 'network'], d.network);
    else {
      // As `fip add`: the external network whose subnet holds the address.
      const hits = networks.filter((n) => n.external && n.subnets.some((sn) => contains(sn.cidr, d.floating_ip_address)));
      if (hits.length === 1) net = hits[0];
      else problem([...at, 'network'], hits.length ? `${d.floating_ip_address} is on several external networks (${hits.map((n) => n.name).join(', ')}): expected the network` : `floating IP ${d.floating_ip_address} is on no external network: expected an address in an external network's subnet`);
    }
    const fixed = d.fixed_ip_address ?? null;
    let router: Router | undefined;
    if (fixed !== null) {
      if (typeof d.router === 'string') {
        router = routersByName.get(d.router) ?? routersById.get(d.router.toLowerCase());
        if (!router) problem([...at, 'router'], `unknown router '${d.router}': expected the name or id of a router in the file${prune ? '' : ' or the store'}`);
      } else {
        // As `fip associate`: the one router with an internal subnet holding the fixed IP.
        const hits = routers.filter((r) => r.interfaces.some((p) => netsById.get(p.network_id)!.subnets.some((sn) => p.fixed_ips.some((x) => x.subnet_id === sn.id) && isHostOf(sn.cidr, fixed))));
        const same = hits.find((r) => m && r.id === m.router_id && m.fixed_ip_address === fixed);
        if (same || hits.length === 1) router = same ?? hits[0];
        else problem([...at, 'router'], hits.length ? `fixed IP ${fixed} is on subnets of several routers: ${hits.map((r) => r.name).join(', ')}: expected the router` : `fixed IP ${fixed} is on no router's internal subnet: expected the router`);
      }
    }
    const f: FloatingIp = {
      id: d.id ?? m?.id ?? newId(),
      floating_ip_address: d.floating_ip_address,
      floating_network_id: net?.id ?? '',
      fixed_ip_address: router ? fixed : null,
      router_id: router?.id ?? null,
    };
    origin.set(f, at);
    return f;
  });

  // Gateways without an address: the first free one, as `gateway set`, in file order.
  if (unaddressed.length) {
    const used = new Map<string, Set<string>>();
    const use = (netId: string, ip: string | null) => {
      if (!ip) return;
      if (!used.has(netId)) used.set(netId, new Set());
      used.get(netId)!.add(ip);
    };
    for (const n of networks) for (const sn of n.subnets) use(n.id, sn.gateway_ip);
    for (const r of routers) for (const p of [...r.interfaces, ...(r.gateway ? [r.gateway] : [])]) for (const f of p.fixed_ips) use(p.network_id, f.ip_address);
    for (const f of floatingips) use(f.floating_network_id, f.floating_ip_address);
    for (const u of unaddressed) {
      const ip = firstFree(u.subnet.cidr, used.get(u.net.id) ?? []);
      if (!ip) problem([...u.path, 'fixed_ips'], `external network '${u.net.name}' has no free address left on ${u.subnet.cidr}`);
      else {
        u.port.fixed_ips.push({ subnet_id: u.subnet.id, ip_address: ip });
        use(u.net.id, ip);
      }
    }
    // In the network's subnet order, as `gateway set` writes them.
    for (const u of unaddressed) u.port.fixed_ips.sort((a, b) => u.net.subnets.findIndex((x) => x.id === a.subnet_id) - u.net.subnets.findIndex((x) => x.id === b.subnet_id));
  }

  const next: State = { version: STATE_VERSION, config, networks, routers, floatingips };
  const empty = { next, changes: [], routers: [], removedNetworks: [], hostLeftovers: false };
  if (problems.length) return { ...empty, problems: located(read, problems) };

  // The rules every command obeys, at their place in the file.
  for (const p of [...stateProblems(next, freshIn(current, next)), ...nameIdClashes(current, next)]) problems.push(docProblem(next, p.at, p.message, origin));
  if (problems.length) return { ...empty, problems: located(read, problems) };

  const routerIds = touchedRouters(current, next, named);
  // What the agent's filters and options refuse, as a command would be refused.
  const effective = effectiveConfig(config);
  try {
    checkConfig(effective);
  } catch (err) {
    if (!(err instanceof L3ctlError)) throw err;
    problems.push({ path: ['config'], message: err.message });
  }
  for (const id of routerIds) {
    const r = routersById.get(id);
    if (!r) continue;
    try {
      skipReason(next, effective, r);
    } catch (err) {
      if (!(err instanceof L3ctlError)) throw err;
      problems.push(docProblem(next, ['routers', routers.indexOf(r), 'gateway'], err.message, origin));
    }
  }
  if (problems.length) return { ...empty, problems: located(read, problems) };

  const nextNetIds = new Set(networks.map((n) => n.id));
  return {
    problems: [],
    next,
    changes: diffStates(current, next),
    routers: routerIds,
    removedNetworks: current.networks.filter((n) => !nextNetIds.has(n.id)),
    hostLeftovers: (current.config.use_namespaces ?? null) !== (config.use_namespaces ?? null),
  };
}

/** Lines in the file, file order. */
function located(read: ReadDocument, ps: DocProblem[]): DocProblem[] {
  return sortProblems(ps.map((p) => (p.kept || p.line ? p : { ...p, line: read.lineOf(p.path) ?? read.lineOf(p.path.slice(0, -1)) })));
}

/**
 * A problem found in the new state, placed in the file: the deepest object
 * on its path that came from the file, then the rest of the path in the
 * file's field names. An object kept from the store is named instead.
 */
function docProblem(state: State, at: StatePath, message: string, origin: Map<object, DocPath>): DocProblem {
  let node: unknown = state;
  let base: DocPath | null = null;
  let rest: (string | number)[] = [];
  for (const seg of at) {
    node = node === null || node === undefined ? undefined : (node as Record<string | number, unknown>)[seg];
    const o = typeof node === 'object' && node !== null ? origin.get(node) : undefined;
    if (o) {
      base = o;
      rest = [];
    } else rest.push(typeof seg === 'string' ? DOC_FIELD[seg] ?? seg : seg);
  }
  if (base) return { path: [...base, ...rest], message };
  // Only objects of the store can lack an origin: name the top-level one.
  const [list, i] = at as [keyof State, number];
  const obj = (state[list] as unknown as Record<string, unknown>[])[i] ?? {};
  const what = list === 'networks' ? `network '${obj.name}'` : list === 'routers' ? `router '${obj.name}'` : `floating IP ${obj.floating_ip_address}`;
  return { path: rest.slice(2), message, kept: `${what}, kept from the store` };
}

/**
 * Routers whose kernel state may change: those the file describes (an
 * apply also repairs what drifted there), and every one whose own
 * definition, floating IPs or networks differ, or that goes away.
 */
function touchedRouters(old: State, next: State, named: Set<string>): string[] {
  if (JSON.stringify(old.config) !== JSON.stringify(next.config)) {
    // Any option can change what a router looks like (as `config set`).
    return [...new Set([...next.routers, ...old.routers].map((r) => r.id))];
  }
  const fingerprints = (s: State) => {
    const fips = new Map<string, FloatingIp[]>();
    for (const f of s.floatingips) if (f.router_id) fips.set(f.router_id, [...(fips.get(f.router_id) ?? []), f]);
    const nets = new Map(s.networks.map((n) => [n.id, n]));
    const externalIds = s.networks.filter((n) => n.external).map((n) => n.id);
    return new Map(s.routers.map((r) => {
      const used = [...r.interfaces, ...(r.gateway ? [r.gateway] : [])].map((p) => nets.get(p.network_id));
      // The external networks decide which routers the host handles (filters.ts).
      return [r.id, JSON.stringify([r, fips.get(r.id) ?? [], used, externalIds])];
    }));
  };
  const [a, b] = [fingerprints(old), fingerprints(next)];
  const ids = new Set(named);
  for (const [id, fp] of b) if (a.get(id) !== fp) ids.add(id);
  for (const id of a.keys()) if (!b.has(id)) ids.add(id);
  return [...ids];
}

// ---------------------------------------------------------------- apply

export interface ApplyOptions extends PlanOptions {
  /** Routers converged at once (default APPLY_CONCURRENCY). */
  concurrency?: number;
  /** After each router: how many of how many are done. */
  onProgress?(done: number, total: number): void;
}

export interface ApplyResult {
  changes: DiffEntry[];
  /** How many routers were converged (observed, and changed where needed). */
  routers: number;
}

/** The difference a document would make to the store as it is now; throws InvalidDocument. */
export async function diffDocument(storePath: string, read: ReadDocument, opts: PlanOptions = {}): Promise<DiffEntry[]> {
  const plan = planDocument(await loadState(storePath), read, opts);
  if (plan.problems.length) throw new InvalidDocument(read.source, plan.problems);
  return plan.changes;
}

/**
 * Apply a document as one transaction: checked whole against the store
 * first (InvalidDocument, exit 2, before the lock), then under one lock:
 * planned again against the store as it is then, every router it touches
 * converged (APPLY_CONCURRENCY at a time), saved once; on any failure the
 * kernel is put back and the store left as it was (transaction.ts).
 */
export async function applyDocument(deps: TxDeps, read: ReadDocument, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const before = await loadState(deps.storePath);
  const first = planDocument(before, read, opts);
  if (first.problems.length) throw new InvalidDocument(read.source, first.problems);
  const seen = JSON.stringify(before);
  const result = await transact(deps, (state) => {
    // Another l3ctl may have changed the store before we got the lock: plan
    // again then (planning a big site is most of an apply's own time).
    const plan = JSON.stringify(state) === seen ? first : planDocument(state, read, opts);
    if (plan.problems.length) throw new InvalidDocument(read.source, plan.problems);
    Object.assign(state, structuredClone(plan.next));
    return {
      routers: plan.routers,
      bridges: true,
      removedNetworks: plan.removedNetworks,
      hostLeftovers: plan.hostLeftovers,
      concurrent: true,
      maxConcurrent: opts.concurrency ?? APPLY_CONCURRENCY,
      progress: opts.onProgress,
      value: { changes: plan.changes, routers: plan.routers.length },
    };
  });
  return result!;
}
