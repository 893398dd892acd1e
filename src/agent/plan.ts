// plan(desired, observed) -> steps: the least that moves the kernel to the
// desired state. Pure: no I/O, so a plan can be printed, tested and re-planned
// (re-planning after a successful apply must give an empty plan).
import { ApplyError } from '../model/errors.js';
import { EXTERNAL_DEV_PREFIX, INTERNAL_DEV_PREFIX, isRouterDevice } from '../model/names.js';
import type { ObservedLink, ObservedRouterNs } from '../linux/observe.js';
import type { DesiredPort, DesiredRouter } from './desired.js';
import { desiredSection, emptySection, restorePayload } from './nat.js';

export interface HostView {
  /** null: the namespace l3ctl runs in. */
  ns: string | null;
  exists: boolean;
  links: Map<string, ObservedLink>;
}

export interface Plan {
  /** `ip netns add` for each, first of all. */
  createNamespaces: string[];
  /** `ip [-n host] -batch -`: bridges and host-side veth ends. */
  hostBatch: string[];
  /** Router namespace whose batches, rules and sysctl follow. */
  ns: string | null;
  /** `ip -n ns -batch -`: links, addresses, routes; removals last. */
  routerBatch: string[];
  /** `iptables-restore -w --noflush` payload, null when our chains already match. */
  restore: string | null;
  /** Floating IP /32s, added only once their NAT rules are in place. */
  fipBatch: string[];
  setForwarding: boolean;
  /**
   * Sysctls of l3ctl's own host namespace when a router shares it with the
   * bridges: arp_ignore=1, or the bridges answer ARP for the router's
   * addresses with their own MAC; bridge netfilter off, or the bridged hop of
   * a flow (no NAT) fixes its conntrack binding before the router's SNAT.
   */
  hostSysctls: string[];
  /** Mappings gone or remapped: their conntrack entries are deleted. */
  conntrack: { fip: string; fixed: string }[];
  /** Gratuitous ARP for each new address. */
  garp: { dev: string; ip: string }[];
  deleteNamespace: boolean;
}

export function emptyPlan(ns: string | null = null): Plan {
  return { createNamespaces: [], hostBatch: [], ns, routerBatch: [], restore: null, fipBatch: [], setForwarding: false, hostSysctls: [], conntrack: [], garp: [], deleteNamespace: false };
}

export function isEmptyPlan(p: Plan): boolean {
  return (
    !p.createNamespaces.length && !p.hostBatch.length && !p.routerBatch.length && p.restore === null &&
    !p.fipBatch.length && !p.setForwarding && !p.hostSysctls.length && !p.conntrack.length && !p.garp.length && !p.deleteNamespace
  );
}

const addrKey = (ip: string, prefixlen: number) => `${ip}/${prefixlen}`;

export interface WantedBridge {
  name: string;
  /** The operator's bridge (external_network_bridge): never created by l3ctl. */
  mustExist: boolean;
}

/** Each wanted bridge, once, that is missing or down: the comparison planHost and agent check share. */
export function bridgeProblems(host: HostView, bridges: WantedBridge[]): { bridge: WantedBridge; missing: boolean }[] {
  const seen = new Set<string>();
  const out: { bridge: WantedBridge; missing: boolean }[] = [];
  for (const b of bridges) {
    if (seen.has(b.name)) continue;
    seen.add(b.name);
    const link = host.links.get(b.name);
    if (!link || !link.up) out.push({ bridge: b, missing: !link });
  }
  return out;
}

/** Host namespace and bridges that must exist before any port is plugged. */
export function planHost(host: HostView, bridges: WantedBridge[], plan: Plan): void {
  if (host.ns && !host.exists) {
    plan.createNamespaces.push(host.ns);
    plan.hostBatch.push('link set lo up');
  }
  for (const { bridge: b, missing } of bridgeProblems(host, bridges)) {
    if (missing) {
      if (b.mustExist) {
        throw new ApplyError(
          `external network bridge '${b.name}' does not exist${host.ns ? ` in namespace ${host.ns}` : ''}`,
          `create it, or plug gateways into the external network's own bridge: l3ctl config set external_network_bridge ''`,
        );
      }
      plan.hostBatch.push(`link add ${b.name} type bridge forward_delay 0`, `link set ${b.name} up`);
    } else {
      plan.hostBatch.push(`link set ${b.name} up`);
    }
  }
}

function planPorts(d: DesiredRouter, obs: ObservedRouterNs, host: HostView, plan: Plan, sendArp: boolean) {
  const adds: string[] = [];
  const dels: string[] = [];
  const wantedFips = new Set(d.fips.map((f) => addrKey(f.fip, 32)));
  for (const p of d.ports) {
    const dev = obs.links.get(p.device);
    const tap = host.links.get(p.tap);
    if (!dev) {
      // A host end left over from a half-done plug is replaced, not reused.
      if (tap) plan.hostBatch.push(`link del ${p.tap}`);
      const peerNs = d.shared ? '' : ` netns ${d.ns}`;
      plan.hostBatch.push(`link add ${p.tap} type veth peer name ${p.device}${peerNs}`, `link set ${p.tap} master ${p.bridge}`, `link set ${p.tap} up`);
      plan.routerBatch.push(`link set ${p.device} address ${p.mac}`, `link set ${p.device} up`);
    } else {
      // Same port id, other network: re-plumb onto the right bridge.
      if (tap && tap.master !== p.bridge) plan.hostBatch.push(`link set ${p.tap} master ${p.bridge}`);
      if (tap && !tap.up) plan.hostBatch.push(`link set ${p.tap} up`);
      if (dev.mac !== p.mac) plan.routerBatch.push(`link set ${p.device} address ${p.mac}`);
      if (!dev.up) plan.routerBatch.push(`link set ${p.device} up`);
    }
    const have = new Set((dev?.addrs ?? []).filter((a) => a.scope === 'global').map((a) => addrKey(a.local, a.prefixlen)));
    const want = wantedAddrs(p, p.kind === 'gateway' ? d.fips.map((f) => f.fip) : []);
    for (const w of want) {
      if (have.has(addrKey(w.ip, w.prefixlen))) continue;
      const line = `addr add ${w.ip}/${w.prefixlen} brd ${w.brd} scope global dev ${p.device}`;
      if (wantedFips.has(addrKey(w.ip, w.prefixlen)) && p.kind === 'gateway' && w.prefixlen === 32) plan.fipBatch.push(line);
      else adds.push(line);
      if (sendArp) plan.garp.push({ dev: p.device, ip: w.ip });
    }
    const wantKeys = new Set(want.map((w) => addrKey(w.ip, w.prefixlen)));
    for (const h of have) if (!wantKeys.has(h)) dels.push(`addr del ${h} dev ${p.device}`);
  }
  return { adds, dels };
}

function wantedAddrs(p: DesiredPort, fips: string[]) {
  return [
    { ip: p.ip, prefixlen: p.prefixlen, brd: p.broadcast },
    ...fips.map((f) => ({ ip: f, prefixlen: 32, brd: f })),
  ];
}

function planRoutes(d: DesiredRouter, obs: ObservedRouterNs) {
  const replaces: string[] = [];
  const dels: string[] = [];
  for (const r of d.routes) {
    const ok = obs.routes.some((o) => o.dst === r.dst && o.gateway === r.via && (!r.dev || o.dev === r.dev));
    if (ok) continue;
    replaces.push(r.dst === 'default' ? `route replace default via ${r.via} dev ${r.dev}` : `route replace to ${r.dst} via ${r.via}`);
  }
  const wantedDst = new Set(d.routes.map((r) => r.dst));
  for (const o of obs.routes) {
    // A replace of the same destination already overwrites it. Only routes
    // through our devices are ours: in a shared host namespace the host's
    // own routes must survive.
    if (!o.gateway || wantedDst.has(o.dst) || !o.dev || !isRouterDevice(o.dev)) continue;
    dels.push(o.dst === 'default' ? `route del default via ${o.gateway}` : `route del to ${o.dst} via ${o.gateway}`);
  }
  return { replaces, dels };
}

const DNAT_RE = /^-A l3ctl-PREROUTING -d (\S+)\/32 -j DNAT --to-destination (\S+)$/;

/** Floating IP mappings currently in the kernel, read from our DNAT rules. */
export function observedFipMappings(save: string): { fip: string; fixed: string }[] {
  const out: { fip: string; fixed: string }[] = [];
  for (const line of save.split('\n')) {
    const m = DNAT_RE.exec(line.replace(/^\[\d+:\d+\] /, '').trim());
    if (m) out.push({ fip: m[1]!, fixed: m[2]! });
  }
  return out;
}

/** See Plan.hostSysctls. Only in a namespace of l3ctl's own: the host's real one is not ours to change. */
export function sharedSysctls(d: DesiredRouter, obs: ObservedRouterNs): string[] {
  if (!d.shared || d.ns === null || !obs.exists) return [];
  const out: string[] = [];
  if (obs.arpIgnore !== '1') out.push('net.ipv4.conf.all.arp_ignore=1');
  if (obs.bridgeNfCall === true) out.push('net.bridge.bridge-nf-call-iptables=0');
  return out;
}

/** Steps that move one router namespace from `obs` to `d`. */
export function planRouter(d: DesiredRouter, obs: ObservedRouterNs, host: HostView, opts: { sendArp: boolean }): Plan {
  const plan = emptyPlan(d.ns);
  planHost(host, d.ports.map((p) => ({ name: p.bridge, mustExist: p.bridgeMustExist })), plan);
  // A shared (host) namespace is planHost's: created there, lo included.
  if (!d.shared) {
    if (!obs.exists) plan.createNamespaces.push(d.ns!);
    if (!obs.links.get('lo')?.up) plan.routerBatch.push('link set lo up');
  }

  const ports = planPorts(d, obs, host, plan, opts.sendArp);
  const routes = planRoutes(d, obs);
  const wantedDevs = new Set(d.ports.map((p) => p.device));
  const stale = [...obs.links.keys()].filter((n) => isRouterDevice(n) && !wantedDevs.has(n)).sort();
  const staleFipDels: string[] = [];
  for (const name of stale) {
    // Floating IPs leave before the device that carries them.
    for (const a of obs.links.get(name)!.addrs) {
      if (a.scope === 'global' && a.prefixlen === 32) staleFipDels.push(`addr del ${a.local}/32 dev ${name}`);
    }
  }
  // Adds before deletes, addresses before routes: a device is never left bare,
  // and a route's nexthop is reachable when it is written.
  plan.routerBatch.push(...ports.adds, ...routes.replaces, ...routes.dels, ...ports.dels, ...staleFipDels, ...stale.map((n) => `link del ${n}`));

  plan.restore = restorePayload(desiredSection(d.nat), obs.iptablesSave);
  plan.setForwarding = !obs.ipForward;
  plan.hostSysctls = sharedSysctls(d, obs);

  const wanted = new Set(d.fips.map((f) => `${f.fip}>${f.fixed}`));
  plan.conntrack = obs.exists ? observedFipMappings(obs.iptablesSave).filter((m) => !wanted.has(`${m.fip}>${m.fixed}`)) : [];
  return plan;
}

/**
 * Tear a router down: floating IPs, then its ports, then the namespace. In a
 * shared host namespace the namespace stays and our chains go explicitly.
 */
export function planTeardown(ns: string | null, obs: ObservedRouterNs, shared = false): Plan {
  const plan = emptyPlan(ns);
  if (!obs.exists) return plan;
  const devs = [...obs.links.keys()].filter(isRouterDevice).sort();
  for (const name of devs) {
    for (const a of obs.links.get(name)!.addrs) {
      if (a.scope === 'global' && a.prefixlen === 32 && name.startsWith(EXTERNAL_DEV_PREFIX)) plan.routerBatch.push(`addr del ${a.local}/32 dev ${name}`);
    }
  }
  plan.routerBatch.push(...devs.filter((n) => n.startsWith(INTERNAL_DEV_PREFIX)).map((n) => `link del ${n}`));
  plan.routerBatch.push(...devs.filter((n) => n.startsWith(EXTERNAL_DEV_PREFIX)).map((n) => `link del ${n}`));
  if (shared) plan.restore = restorePayload(emptySection(), obs.iptablesSave);
  else plan.deleteNamespace = true;
  return plan;
}
