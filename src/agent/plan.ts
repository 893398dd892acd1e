// plan(desired, observed) -> steps: the least that moves the kernel to the
// desired state. Pure: no I/O, so a plan can be printed, checked, shown and
// re-planned (re-planning after a successful apply must give an empty plan).
// Each kind of object is one comparison here, through setDiff.
import { contains, networkOf, routeDstText } from '../model/addr.js';
import { EXTERNAL_DEV_PREFIX, HA_DEV_PREFIX, isRouterDevice } from '../model/names.js';
import { supportsRandomFully, type ParsedSave } from '../linux/iptables.js';
import type { ObservedAddr, ObservedLink, ObservedNs, ObservedRoute } from '../linux/observe.js';
import { addrsText, type DesiredPort, type DesiredRoute, type DesiredRouter } from './desired.js';
import { driverFor, type HostSide, type InterfaceDriver, type PortSide } from './drivers/index.js';
import { desiredSection, emptySection } from './nat.js';
import { planNat } from './plan-nat.js';
import type { Action } from '../linux/actions.js';
import { setDiff, type Finding, type Plan, type Step } from './steps.js';
import { daemonNotices, planDaemons, specOf, type ObservedDaemon } from './daemons.js';
import type { HaState } from '../linux/keepalived.js';
import { byText } from '../model/order.js';

export { planBridges, type WantedBridge } from './drivers/linuxbridge.js';

const step = (findings: Finding[], actions: Action[]): Step => ({ findings, actions });
const addrKey = (ip: string, prefixlen: number) => `${ip}/${prefixlen}`;
const globalAddrs = (l: ObservedLink | undefined) => (l?.addrs ?? []).filter((a) => a.scope === 'global').map((a) => addrKey(a.local, a.prefixlen));

interface WantedAddr {
  ip: string;
  prefixlen: number;
  /** IPv4's broadcast; null: IPv6, which has none. */
  brd: string | null;
  fip: boolean;
}

/**
 * keepalived's share of an HA router on this node: its addresses and routes
 * are left alone while keepalived may hold them (alive and master); held by
 * a node that is not the master (a dead keepalived's leftovers, a hand-made
 * copy) they are drift, and go.
 */
interface HaShare {
  /** `ADDR/LEN on DEV` */
  addresses: Set<string>;
  routes: Set<string>;
  /** keepalived runs here and says master. */
  holds: boolean;
  /** Why not, for the findings: `keepalived is backup`, `keepalived is not running`. */
  why: string;
}

function haShare(d: DesiredRouter, daemons: ObservedDaemon[], state: HaState | null): HaShare | null {
  if (!d.ha) return null;
  const k = daemons.find((o) => o.paths.kind === 'keepalived');
  const alive = !!k?.seen.alive;
  return {
    addresses: new Set(d.ha.owned.map((a) => `${a.cidr} on ${a.dev}`)),
    routes: new Set(d.ha.ownedRoutes),
    holds: alive && state === 'master',
    why: alive ? `keepalived is ${state ?? 'in no state yet'} on this node` : 'keepalived is not running on this node',
  };
}

function wantedAddrs(d: DesiredRouter, p: DesiredPort): WantedAddr[] {
  // An HA router's own addresses are keepalived's; its HA port's is this node's.
  if (d.ha && p.kind !== 'ha') return [];
  return [
    ...p.addrs.map((a) => ({ ip: a.ip, prefixlen: a.prefixlen, brd: a.broadcast, fip: false })),
    ...(p.kind === 'gateway' ? d.fips.map((f) => ({ ip: f.fip, prefixlen: 32, brd: f.fip, fip: true })) : []),
  ];
}

/**
 * IPv6 addresses go on without `brd` and with duplicate address detection,
 * as Neutron's L3 agent adds them (it never passes nodad; keepalived's
 * addresses are another matter); gratuitous ARP is IPv4's.
 */
function addrAdd(d: DesiredRouter, p: DesiredPort, w: WantedAddr, sendArp: boolean): Action[] {
  const line = w.brd === null ? `addr add ${w.ip}/${w.prefixlen} scope global dev ${p.device}` : `addr add ${w.ip}/${w.prefixlen} brd ${w.brd} scope global dev ${p.device}`;
  // A floating IP's address goes on only once its NAT rules are in place.
  const add: Action = w.fip ? { phase: 'fip', line } : { phase: 'router', order: 'addr-add', line };
  // This node's HA address: no other node may have it (a collision is an error, never silent).
  if (p.kind === 'ha') return [add, { phase: 'dad', dev: p.device, ip: w.ip, ignoreMacs: d.ha?.siblingMacs ?? [] }];
  return sendArp && w.brd !== null ? [add, { phase: 'garp', dev: p.device, ip: w.ip }] : [add];
}

const acceptRaKey = (dev: string) => `net.ipv6.conf.${dev}.accept_ra`;
const acceptRaSet = (p: DesiredPort): Action[] => (p.acceptRa === null ? [] : [{ phase: 'dev-sysctl', setting: `${acceptRaKey(p.device)}=${p.acceptRa}` }]);

/**
 * Devices the driver cannot keep (an OVS port stranded or on another
 * bridge): the rest of the plan sees them absent, so they are plugged again
 * with their addresses, and the routes through them are written again.
 */
function condemned(d: DesiredRouter, obs: ObservedNs, driver: InterfaceDriver, side: PortSide): Map<string, Finding> {
  const out = new Map<string, Finding>();
  for (const p of d.ports) {
    const dev = obs.links.get(p.device);
    const why = dev && driver.replaces(p, dev, side);
    if (why) out.set(p.device, why);
  }
  return out;
}

function withoutDevices(obs: ObservedNs, gone: Map<string, Finding>): ObservedNs {
  if (!gone.size) return obs;
  const links = new Map([...obs.links].filter(([n]) => !gone.has(n)));
  return { ...obs, links, routes: obs.routes.filter((r) => !(r.dev && gone.has(r.dev))) };
}

/**
 * The addresses of a device the plan compares with the wanted ones: the
 * global ones (ours, or foreign and to go), and an IPv4 address held with
 * another scope whose address and length are wanted (the kernel refuses to
 * add it again beside it: "Address already assigned").
 */
function heldAddrs(dev: ObservedLink, want: WantedAddr[]): ObservedAddr[] {
  const wanted4 = new Set(want.filter((w) => w.brd !== null).map((w) => addrKey(w.ip, w.prefixlen)));
  return dev.addrs.filter((a) => a.scope === 'global' || (a.family === 4 && wanted4.has(addrKey(a.local, a.prefixlen))));
}

/**
 * IPv4 addresses of another scope than global in the subnet of one this plan
 * adds: the kernel refuses a global address beside one of a narrower scope
 * in its subnet ("Invalid scope value"), so they go first. Elsewhere such an
 * address is not l3ctl's to judge.
 */
function blockers(dev: ObservedLink, want: WantedAddr[], adding: WantedAddr[]): ObservedAddr[] {
  const nets = new Set(adding.filter((w) => w.brd !== null).map((w) => networkOf(addrKey(w.ip, w.prefixlen))));
  const wanted = new Set(want.map((w) => addrKey(w.ip, w.prefixlen)));
  return dev.addrs.filter((a) => a.family === 4 && a.scope !== 'global' && !wanted.has(addrKey(a.local, a.prefixlen)) && nets.has(networkOf(addrKey(a.local, a.prefixlen))));
}

/** Held as l3ctl adds it: `scope global`, and IPv4's `brd`. */
const heldAsWanted = (w: WantedAddr, h: ObservedAddr) => h.scope === 'global' && (w.brd === null || h.broadcast === w.brd);

/**
 * A wanted address held in another form (scope, broadcast): neither can be
 * changed in place, so it is deleted and added again in the same batch. The
 * routes the deletion takes along are written again by planRouter.
 */
function replaceAddr(d: DesiredRouter, p: DesiredPort, w: WantedAddr, h: ObservedAddr, sendArp: boolean): Step {
  const key = addrKey(w.ip, w.prefixlen);
  const object = `${key} on ${p.device}`;
  const findings: Finding[] = [];
  if (h.scope !== 'global') findings.push({ kind: 'wrong-scope', object, expected: 'scope global', live: `scope ${h.scope}` });
  if (w.brd !== null && h.broadcast !== w.brd) findings.push({ kind: 'wrong-broadcast', object, expected: `brd ${w.brd}`, live: h.broadcast === null ? 'no brd' : `brd ${h.broadcast}` });
  // A floating IP's NAT rules are in place already (its address was there): it goes back at once, in the same batch.
  const add = addrAdd(d, p, w, sendArp).map((a): Action => (a.phase === 'fip' ? { phase: 'router', order: 'addr-add', line: a.line } : a));
  return step(findings, [{ phase: 'router', order: 'addr-replace', line: `addr del ${key} dev ${p.device}` }, ...add]);
}

/**
 * The IPv4 routes through a device (a nexthop in one of its subnets, or
 * named on it): a deleted address can take them along (all of them when it
 * was the device's last), so they are written again after a replacement.
 */
function routesThrough(d: DesiredRouter, p: DesiredPort): DesiredRoute[] {
  const subnets = p.addrs.filter((a) => a.version === 4).map((a) => a.cidr);
  return d.routes.filter((r) => r.via !== null && !r.via.includes(':') && (r.dev === p.device || (r.dev === null && subnets.some((c) => contains(c, r.via!)))));
}

/** Ports and their addresses. Returns the devices whose primary address this plan adds. */
function planPorts(d: DesiredRouter, obs: ObservedNs, driver: InterfaceDriver, side: PortSide, replaced: Map<string, Finding>, was: ObservedNs, sendArp: boolean, ha: HaShare | null, replacing: Map<string, Step>, out: Step[]): Set<string> {
  const readdressed = new Set<string>();
  for (const p of d.ports) {
    const dev = obs.links.get(p.device);
    const want = wantedAddrs(d, p);
    if (!dev) {
      readdressed.add(p.device);
      const why = replaced.get(p.device);
      const finding: Finding = why ?? { kind: 'missing-device', object: p.device, expected: `${p.kind} port ${p.portId} ${addrsText(p.addrs)} on ${p.bridge}`, live: null };
      out.push(step([finding], [...driver.plug(p, side, why ? was.links.get(p.device) : undefined), ...want.flatMap((w) => addrAdd(d, p, w, sendArp)), ...acceptRaSet(p)]));
      continue;
    }
    const ra = obs.sysctl.acceptRa.get(p.device);
    if (p.acceptRa !== null && ra !== String(p.acceptRa)) {
      out.push(step([{ kind: 'ipv6-sysctl', object: acceptRaKey(p.device), expected: String(p.acceptRa), live: ra ?? null }], acceptRaSet(p)));
    }
    out.push(...driver.plugDrift(p, dev, side));
    if (dev.mac !== p.mac) out.push(step([{ kind: 'wrong-mac', object: p.device, expected: p.mac, live: dev.mac }], [{ phase: 'router', order: 'link', line: `link set ${p.device} address ${p.mac}` }]));
    if (!dev.up) out.push(step([{ kind: 'device-down', object: p.device, expected: 'up', live: 'down' }], [{ phase: 'router', order: 'link', line: `link set ${p.device} up` }]));
    const diff = setDiff(want, heldAddrs(dev, want), { want: (w) => addrKey(w.ip, w.prefixlen), have: (h) => addrKey(h.local, h.prefixlen) }, heldAsWanted);
    for (const h of blockers(dev, want, [...diff.add, ...diff.change.map(([w]) => w)])) {
      const key = addrKey(h.local, h.prefixlen);
      const s = step([{ kind: 'extra-address', object: `${key} on ${p.device}`, expected: null, live: `${key} scope ${h.scope} (no global address of its subnet can be added beside it)` }], [{ phase: 'router', order: 'addr-replace', line: `addr del ${key} dev ${p.device}` }]);
      out.push(s);
      readdressed.add(p.device);
      if (!replacing.has(p.device)) replacing.set(p.device, s);
    }
    for (const w of diff.add) {
      const key = addrKey(w.ip, w.prefixlen);
      if (!w.fip) readdressed.add(p.device);
      out.push(step([{ kind: 'missing-address', object: `${key} on ${p.device}`, expected: key, live: null }], addrAdd(d, p, w, sendArp)));
    }
    for (const [w, h] of diff.change) {
      const s = replaceAddr(d, p, w, h, sendArp);
      out.push(s);
      // A floating IP's /32 is never a device's last address (the gateway's own stays): its deletion drops no route.
      if (w.fip) continue;
      readdressed.add(p.device);
      if (!replacing.has(p.device)) replacing.set(p.device, s);
    }
    for (const h of diff.del) {
      const key = addrKey(h.local, h.prefixlen);
      const del: Action = { phase: 'router', order: 'addr-del', line: `addr del ${key} dev ${p.device}` };
      const object = `${key} on ${p.device}`;
      if (ha?.addresses.has(object)) {
        if (!ha.holds) out.push(step([{ kind: 'stale-ha-address', object, expected: `on the master only (keepalived's): ${ha.why}`, live: key }], [del]));
        continue;
      }
      out.push(step([{ kind: 'extra-address', object, expected: null, live: key }], [del]));
    }
    // Learnt from advertisements while accept_ra was not l3ctl's 0 (set by hand): not the router's address.
    if (p.acceptRa === 0) {
      for (const h of dev.learnt ?? []) out.push(step([{ kind: 'extra-address', object: `${h} on ${p.device}`, expected: null, live: `${h} (learnt from router advertisements)` }], [{ phase: 'router', order: 'addr-del', line: `addr del ${h} dev ${p.device}` }]));
    }
  }
  return readdressed;
}

const routeText = (dst: string, via: string | null, dev: string | null) => `${routeDstText(dst)}${via ? ` via ${via}` : ''}${dev ? ` dev ${dev}` : ''}`;

/** Does the kernel's route do what the desired one asks? */
function routeMatches(r: DesiredRoute, o: ObservedRoute): boolean {
  if (r.via === null) return o.gateway === null && o.dev === r.dev;
  return o.gateway === r.via && (!r.dev || o.dev === r.dev);
}

function replaceLine(r: DesiredRoute): string {
  // IPv6's connected routes have no source, and the kernel's metric.
  if (r.via === null) return r.src === undefined ? `route replace ${r.dst} dev ${r.dev} proto kernel metric 256` : `route replace ${r.dst} dev ${r.dev} proto kernel scope link src ${r.src}`;
  return `route replace ${routeDstText(r.dst)} via ${r.via}${r.dev ? ` dev ${r.dev}` : ''}`;
}

/**
 * Routes: the connected route of each port, the default route and the extra
 * routes. Routes are ours when they leave through one of our devices: in a
 * shared host namespace the host's own routes must survive.
 */
function planRoutes(d: DesiredRouter, obs: ObservedNs, readdressed: Set<string>, replacing: Map<string, Step>, ha: HaShare | null, out: Step[]): void {
  const wanted = d.routes.filter((r) => !(r.via === null && readdressed.has(r.dev!))); // the kernel adds those with the address
  const have = new Map<string, ObservedRoute[]>();
  for (const o of obs.routes) have.set(o.dst, [...(have.get(o.dst) ?? []), o]);
  for (const r of wanted) {
    const now = have.get(r.dst) ?? [];
    if (now.some((o) => routeMatches(r, o))) continue;
    const live = now.find((o) => o.gateway !== null || o.dev === r.dev);
    out.push(step(
      [{ kind: 'missing-route', object: r.dst, expected: routeText(r.dst, r.via, r.dev), live: live ? routeText(live.dst, live.gateway, live.dev) : null }],
      [{ phase: 'router', order: 'route-replace', line: replaceLine(r) }],
    ));
  }
  const wantedDst = new Set(d.routes.filter((r) => r.via !== null).map((r) => r.dst));
  for (const o of obs.routes) {
    // A replace of the same destination already overwrites it. Routes the
    // kernel learnt from router advertisements (accept_ra 2 on a gateway) are its own.
    if (!o.gateway || wantedDst.has(o.dst) || !o.dev || !isRouterDevice(o.dev) || o.protocol === 'ra') continue;
    // Through a device whose address is replaced: before the replacement, which can take it along.
    const order = o.family === 4 && replacing.has(o.dev) ? 'route-del-first' : 'route-del';
    const del: Action = { phase: 'router', order, line: `route del ${routeDstText(o.dst)} via ${o.gateway}` };
    if (ha?.routes.has(o.dst)) {
      if (!ha.holds) out.push(step([{ kind: 'stale-ha-route', object: o.dst, expected: `on the master only (keepalived's): ${ha.why}`, live: routeText(o.dst, o.gateway, o.dev) }], [del]));
      continue;
    }
    out.push(step([{ kind: 'extra-route', object: o.dst, expected: null, live: routeText(o.dst, o.gateway, o.dev) }], [del]));
  }
}

/**
 * The routes through each device whose address is replaced go back in the
 * same batch (those not written anyway), on the device's first replacing step.
 */
function rerouteReplaced(d: DesiredRouter, replacing: Map<string, Step>, steps: Step[]): void {
  const written = new Set(steps.flatMap((s) => s.actions).flatMap((a) => (a.phase === 'router' && a.order === 'route-replace' ? [a.line] : [])));
  for (const [dev, first] of replacing) {
    const p = d.ports.find((x) => x.device === dev)!;
    for (const r of routesThrough(d, p)) {
      const line = replaceLine(r);
      if (written.has(line)) continue;
      written.add(line);
      first.actions.push({ phase: 'router', order: 'route-replace', line });
    }
  }
}

/** Devices of ours that no desired port has: floating IPs leave first, then the device. */
function planStaleDevices(obs: ObservedNs, wanted: Set<string>, driver: InterfaceDriver, side: PortSide, out: Step[]): void {
  const stale = [...obs.links.keys()].filter((n) => isRouterDevice(n) && !wanted.has(n)).sort(unplugOrder);
  for (const name of stale) {
    const link = obs.links.get(name)!;
    const addrs = globalAddrs(link);
    out.push(step([{ kind: 'extra-device', object: name, expected: null, live: addrs.length ? addrs.join(' ') : 'present' }], [
      ...addrs.filter(isFipAddr).map((a): Action => ({ phase: 'router', order: 'fip-del', line: `addr del ${a} dev ${name}` })),
      ...driver.unplug(link, side),
    ]));
  }
}

/** A floating IP's address on a gateway: an IPv4 /32. */
const isFipAddr = (a: string) => a.endsWith('/32') && !a.includes(':');

/** Internal ports first, then the gateway, then the HA port, as the agent unplugs them. */
const unplugRank = (n: string) => (n.startsWith(HA_DEV_PREFIX) ? 2 : n.startsWith(EXTERNAL_DEV_PREFIX) ? 1 : 0);
const unplugOrder = (a: string, b: string) => unplugRank(a) - unplugRank(b) || byText(a, b);

const DNAT_RE = /^-A l3ctl-PREROUTING -d (\S+)\/32 -j DNAT --to-destination (\S+)$/;

/** Floating IP mappings in the kernel, read from our DNAT rules. */
export function observedFipMappings(save: ParsedSave): { fip: string; fixed: string }[] {
  const out: { fip: string; fixed: string }[] = [];
  for (const line of save.ours.nat.chains['l3ctl-PREROUTING'] ?? []) {
    const m = DNAT_RE.exec(line);
    if (m) out.push({ fip: m[1]!, fixed: m[2]! });
  }
  return out;
}

/**
 * A mapping gone or remapped: its connections die with it. By the floating
 * IP, as Neutron does (not by the fixed IP, whose east-west flows live on).
 */
function conntrackFlush(fip: string): Action[] {
  const optional = 'conntrack is not installed: existing connections through the old floating IP mapping live on until they time out (apt-get install conntrack)';
  return [
    { phase: 'exec', argv: ['conntrack', '-D', '-d', fip], okCodes: [1], optional, independent: true },
    { phase: 'exec', argv: ['conntrack', '-D', '-q', fip], okCodes: [1], optional, independent: true },
  ];
}

function planSysctls(d: DesiredRouter, obs: ObservedNs, out: Step[]): void {
  // The host's real namespace (use_namespaces false, no host_namespace) is
  // not ours: there l3ctl sets ip_forward alone, which the router cannot do
  // without, and says so; `agent status` lists what else it would want.
  const realHost = d.shared && d.ns === null;
  if (realHost && !obs.sysctl.ipForward) {
    const warning = 'setting net.ipv4.ip_forward=1 in the host\'s own namespace: use_namespaces is false, so the router forwards there (a host_namespace keeps l3ctl off the host\'s settings)';
    out.push(step([{ kind: 'ip_forward-off', object: 'net.ipv4.ip_forward', expected: '1', live: '0' }], [{ phase: 'sysctl', setting: 'net.ipv4.ip_forward=1', warning }]));
  }
  if (!realHost && (!obs.sysctl.ipForward || !obs.sysctl.promoteSecondaries)) {
    // Named as they are: promote_secondaries keeps a gateway's new address when the old primary goes.
    const off = [...(obs.sysctl.ipForward ? [] : ['net.ipv4.ip_forward']), ...(obs.sysctl.promoteSecondaries ? [] : ['net.ipv4.conf.all.promote_secondaries'])];
    out.push(step([{ kind: 'ip_forward-off', object: off.join(', '), expected: '1', live: '0' }], [
      { phase: 'sysctl', setting: 'net.ipv4.ip_forward=1' },
      { phase: 'sysctl', setting: 'net.ipv4.conf.all.promote_secondaries=1' },
    ]));
  }
  // A router sharing a namespace of l3ctl's own with its bridges: the bridges
  // would answer ARP for the router's addresses with their own MAC, and the
  // bridged hop of a flow (no NAT) would fix its conntrack binding before the
  // router's SNAT. Never in the host's real namespace: that is not ours.
  if (d.ipv6 && obs.sysctl.ipv6Forwarding !== true) {
    // Not turned off again when IPv6 goes (Neutron does not: it would send spurious MLD reports).
    const warning = realHost ? "setting net.ipv6.conf.all.forwarding=1 in the host's own namespace: use_namespaces is false, so the router forwards IPv6 there, and the host ignores router advertisements on interfaces whose accept_ra is 1" : undefined;
    out.push(step([{ kind: 'ipv6-sysctl', object: 'net.ipv6.conf.all.forwarding', expected: '1', live: obs.sysctl.ipv6Forwarding === null ? null : '0' }], [{ phase: 'sysctl', setting: 'net.ipv6.conf.all.forwarding=1', ...(warning ? { warning } : {}) }]));
  }
  if (!d.shared || d.ns === null || !obs.exists) return;
  if (obs.sysctl.arpIgnore !== '1') {
    out.push(step([{ kind: 'shared-sysctl', object: 'net.ipv4.conf.all.arp_ignore', expected: '1 (a router shares this namespace with its bridges)', live: String(obs.sysctl.arpIgnore) }], [{ phase: 'sysctl', setting: 'net.ipv4.conf.all.arp_ignore=1' }]));
  }
  if (obs.sysctl.bridgeNfCall === true) {
    out.push(step([{ kind: 'shared-sysctl', object: 'net.bridge.bridge-nf-call-iptables', expected: '0 (a router shares this namespace with its bridges)', live: '1' }], [{ phase: 'sysctl', setting: 'net.bridge.bridge-nf-call-iptables=0' }]));
  }
}

/**
 * The HA port is plugged by this plan (it was missing, or is replaced): a
 * keepalived that runs lost its interface with the old device and does not
 * take the new one up by itself; it is restarted once the port is there.
 * (It held nothing without its interface: the restart costs no failover.)
 */
function restartOnNewHaPort(d: DesiredRouter, daemons: ObservedDaemon[], steps: Step[]): void {
  const o = daemons.find((x) => x.paths.kind === 'keepalived');
  const w = d.daemons.find((x) => x.kind === 'keepalived');
  if (!o?.seen.alive || !w) return;
  const action = steps.flatMap((s) => s.actions).find((a) => a.phase === 'daemon' && a.spec.kind === 'keepalived');
  if (action?.phase === 'daemon') {
    if (action.op === 'reload') action.op = 'restart';
    return;
  }
  steps.push(step(
    [{ kind: 'daemon-config', object: 'keepalived', expected: `running on ${d.ha!.port.device} as plugged now`, live: `pid ${o.seen.pid}, started on an HA port that is gone` }],
    [{ phase: 'daemon', op: 'restart', spec: specOf(w, o.paths) }],
  ));
}

export interface PlanOptions {
  sendArp: boolean;
  /** iptables' version when the namespace's save does not tell it (a new namespace). */
  iptablesVersion?: string | null;
  /** An HA router: the VRRP state keepalived last notified on this node (null: none). */
  haState?: HaState | null;
}

/**
 * An HA router's standby has ports with the master's MACs: IPv6 (link-local
 * addresses, their DAD, MLD) would send frames from them and pull the
 * switches' MAC tables to the standby. Off in the router's namespace, before
 * its ports are plugged.
 */
function planHaSysctls(d: DesiredRouter, obs: ObservedNs, out: Step[]): void {
  if (!d.ha || d.shared || obs.sysctl.ipv6Off !== false) return;
  out.push(step(
    [{ kind: 'ipv6-on', object: 'net.ipv6.conf.all.disable_ipv6', expected: "1 (an HA router's standby must stay silent: its ports have the master's MACs)", live: '0' }],
    [{ phase: 'sysctl', setting: 'net.ipv6.conf.all.disable_ipv6=1' }, { phase: 'sysctl', setting: 'net.ipv6.conf.default.disable_ipv6=1' }],
  ));
}

/**
 * Steps that move one router's namespace from `obs` to `d` (`hs`: the
 * bridges' namespace and the switch), and its daemons from `daemons` (every
 * kind, observed).
 */
export function planRouter(d: DesiredRouter, observed: ObservedNs, hs: HostSide, opts: PlanOptions, daemons: ObservedDaemon[] = []): Plan {
  const driver = driverFor(d.driver);
  const side: PortSide = { ...hs, ns: d.ns, shared: d.shared };
  const hostSteps = driver.planBridges(d.ports, hs);
  const replaced = condemned(d, observed, driver, side);
  const obs = withoutDevices(observed, replaced);
  const steps: Step[] = [];
  // A shared (host) namespace is planBridges': created there, lo included.
  if (!d.shared && obs.exists && !obs.links.get('lo')?.up) {
    steps.push(step([{ kind: 'device-down', object: 'lo', expected: 'up', live: obs.links.has('lo') ? 'down' : null }], [{ phase: 'router', order: 'lo', line: 'link set lo up' }]));
  }
  const ha = haShare(d, daemons, opts.haState ?? null);
  planHaSysctls(d, obs, steps);
  /** Device → the first step that replaces one of its addresses (the routes it drops go back with it). */
  const replacing = new Map<string, Step>();
  const readdressed = planPorts(d, obs, driver, side, replaced, observed, opts.sendArp, ha, replacing, steps);
  planRoutes(d, obs, readdressed, replacing, ha, steps);
  rerouteReplaced(d, replacing, steps);
  planStaleDevices(obs, new Set(d.ports.map((p) => p.device)), driver, side, steps);
  const randomFully = d.nat.randomFully && supportsRandomFully(obs.iptables.version ?? opts.iptablesVersion ?? null);
  const nat = planNat(desiredSection({ ...d.nat, randomFully }), obs.iptables);
  steps.push(...nat);
  const wanted = new Set(d.fips.map((f) => `${f.fip}>${f.fixed}`));
  const gone = observedFipMappings(obs.iptables).filter((m) => !wanted.has(`${m.fip}>${m.fixed}`));
  // The flush rides on the NAT step that removes the mapping: it is never drift of its own.
  if (gone.length && nat.length) nat[0]!.actions.push(...gone.flatMap((m) => conntrackFlush(m.fip)));
  planSysctls(d, obs, steps);
  // After the NAT rules that lead to them (apply runs the daemon phase after the restore).
  const daemonSteps = planDaemons(d.daemons, daemons);
  if (d.ha && !obs.links.has(d.ha.port.device)) restartOnNewHaPort(d, daemons, daemonSteps);
  steps.push(...daemonSteps);
  const notices = daemonNotices(d.daemons);

  const hostNs = hs.host.ns;
  if (d.shared || obs.exists) return { ns: d.ns, hostNs, steps: [...hostSteps, ...steps], notices };
  // Everything in a missing namespace is missing: one finding says it all.
  const create: Step = step([{ kind: 'missing-namespace', object: d.ns!, expected: 'present', live: null }], [
    { phase: 'netns-add', ns: d.ns! },
    { phase: 'router', order: 'lo', line: 'link set lo up' },
    ...steps.flatMap((s) => s.actions),
  ]);
  return { ns: d.ns, hostNs, steps: [...hostSteps, create], notices };
}

/**
 * The device group a namespace's own devices join just before they are
 * deleted together. The namespace is l3ctl's: nothing else is in it.
 */
export const TEARDOWN_GROUP = 3813;

/**
 * Devices deleted one by one wait for the kernel once each (an RCU grace
 * period per veth, under the lock every namespace shares); `link del group`
 * deletes them, and their host ends, in one go: a 10-router delete spent
 * most of its time there. Same devices, same end.
 */
function deleteTogether(unplugs: Action[]): Action[] {
  type RouterAction = Extract<Action, { phase: 'router' }>;
  const dels = unplugs.filter((a): a is RouterAction => a.phase === 'router' && a.order === 'link-del' && /^link del \S+$/.test(a.line));
  if (dels.length < 2) return unplugs;
  const grouped = dels.map((a): Action => ({ phase: 'router', order: 'link-del', line: a.line.replace(/^link del (\S+)$/, `link set dev $1 group ${TEARDOWN_GROUP}`) }));
  return [...unplugs.filter((a) => !dels.includes(a as RouterAction)), ...grouped, { phase: 'router', order: 'link-del', line: `link del group ${TEARDOWN_GROUP}` }];
}

/**
 * Tear a router down: floating IPs, then its ports, then its daemons, then
 * the namespace (apply stops daemons before it deletes a namespace). In a
 * shared host namespace the namespace stays and our chains go explicitly.
 * Daemons are stopped and their files removed even when the namespace is
 * already gone (a copy may still run in the deleted namespace).
 */
export function planTeardown(ns: string | null, obs: ObservedNs, hs: HostSide, driver: InterfaceDriver, shared = false, daemons: ObservedDaemon[] = []): Plan {
  const plan: Plan = { ns, hostNs: hs.host.ns, steps: [] };
  const stops = planDaemons([], daemons);
  if (!obs.exists) return { ...plan, steps: stops };
  const side: PortSide = { ...hs, ns, shared };
  const devs = [...obs.links.keys()].filter(isRouterDevice).sort(unplugOrder);
  if (!shared) {
    const actions: Action[] = [
      ...devs.filter((n) => n.startsWith(EXTERNAL_DEV_PREFIX)).flatMap((n) => globalAddrs(obs.links.get(n)).filter(isFipAddr).map((a): Action => ({ phase: 'router', order: 'fip-del', line: `addr del ${a} dev ${n}` }))),
      ...deleteTogether(devs.flatMap((n) => driver.unplug(obs.links.get(n)!, side))),
      { phase: 'netns-del', ns: ns! },
    ];
    plan.steps.push(step([{ kind: 'unwanted-namespace', object: ns!, expected: null, live: devs.length ? `present with ${devs.join(', ')}` : 'present' }], actions), ...stops);
    return plan;
  }
  // A shared host namespace stays; what is ours in it goes.
  planStaleDevices(obs, new Set(), driver, side, plan.steps);
  plan.steps.push(...planNat(emptySection(), obs.iptables), ...stops);
  return plan;
}
