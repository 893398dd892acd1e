// Drift: what `agent check` reports. Derived from desired vs observed with the
// same comparisons the planner makes (plan.ts), so that "the plan is empty"
// and "no finding" always agree (unit-tested). Pure except observeDrift.
import type { ObservedRouterNs } from '../linux/observe.js';
import type { DesiredRouter } from './desired.js';
import { desiredSection, diffSection, emptySection } from './nat.js';
import { bridgeProblems, sharedSysctls, type HostView, type WantedBridge } from './plan.js';
import type { Config } from '../model/config.js';
import { isRouterDevice, namespaceName } from '../model/names.js';
import type { State } from '../model/types.js';
import type { Runner } from '../linux/runner.js';
import { listNamespaces, observeRouterNs } from '../linux/observe.js';
import { observeHost } from './converge.js';
import { desiredRouter, placement } from './desired.js';
import { skipReason } from './filters.js';

export type FindingKind =
  | 'missing-namespace'
  | 'shared-sysctl'
  | 'unwanted-namespace'
  | 'missing-host-namespace'
  | 'missing-bridge'
  | 'bridge-down'
  | 'missing-device'
  | 'extra-device'
  | 'device-down'
  | 'wrong-mac'
  | 'wrong-bridge'
  | 'missing-address'
  | 'extra-address'
  | 'missing-route'
  | 'extra-route'
  | 'missing-nat-rule'
  | 'extra-nat-rule'
  | 'missing-nat-chain'
  | 'extra-nat-chain'
  | 'ip_forward-off';

/** One difference, without the router it belongs to (the caller adds that). */
export interface Drift {
  kind: FindingKind;
  /** What is wrong: a namespace, device, `ADDR/LEN on DEV`, route, NAT line. */
  object: string;
  /** What the store wants; null: absent. */
  expected: string | null;
  /** What the kernel reports; null: absent. */
  live: string | null;
}

const routeText = (dst: string, via: string | null, dev: string | null) => `${dst}${via ? ` via ${via}` : ''}${dev ? ` dev ${dev}` : ''}`;

/** Host namespace and bridges a router's ports need (planHost). */
export function hostDrift(host: HostView, bridges: WantedBridge[]): Drift[] {
  const out: Drift[] = [];
  if (host.ns && !host.exists) out.push({ kind: 'missing-host-namespace', object: host.ns, expected: 'present', live: null });
  for (const { bridge: b, missing } of bridgeProblems(host, bridges)) {
    if (missing) {
      const expected = b.mustExist ? "present (external_network_bridge: the operator's bridge, sync does not create it)" : 'present';
      out.push({ kind: 'missing-bridge', object: b.name, expected, live: null });
    } else {
      out.push({ kind: 'bridge-down', object: b.name, expected: 'up', live: 'down' });
    }
  }
  return out;
}

const isChain = (l: string) => / -N /.test(l);

/**
 * Drift of one router namespace. `d` null: the router must not be in the
 * kernel here (deleted, disabled or filtered out).
 */
export function routerDrift(d: DesiredRouter | null, obs: ObservedRouterNs, host: HostView, shared = d?.shared ?? false): Drift[] {
  if (d === null) {
    if (!obs.exists) return [];
    const devs = [...obs.links.keys()].filter(isRouterDevice).sort();
    if (shared) {
      // A shared host namespace stays; what is ours in it must go.
      return [
        ...devs.map((n): Drift => ({ kind: 'extra-device', object: n, expected: null, live: 'present' })),
        ...diffSection(emptySection(), obs.iptablesSave).extra.map((l): Drift => ({ kind: isChain(l) ? 'extra-nat-chain' : 'extra-nat-rule', object: l, expected: null, live: l })),
      ];
    }
    return [{ kind: 'unwanted-namespace', object: obs.ns!, expected: null, live: devs.length ? `present with ${devs.join(', ')}` : 'present' }];
  }
  const out = hostDrift(host, d.ports.map((p) => ({ name: p.bridge, mustExist: p.bridgeMustExist })));
  // Everything below lives in the namespace: one finding says it all.
  if (!obs.exists) return [...out, { kind: 'missing-namespace', object: d.ns!, expected: 'present', live: null }];

  if (!d.shared && !obs.links.get('lo')?.up) out.push({ kind: 'device-down', object: 'lo', expected: 'up', live: obs.links.has('lo') ? 'down' : null });

  for (const p of d.ports) {
    const dev = obs.links.get(p.device);
    if (!dev) {
      out.push({ kind: 'missing-device', object: p.device, expected: `${p.kind} port ${p.portId} ${p.ip}/${p.prefixlen} on ${p.bridge}`, live: null });
      continue;
    }
    const tap = host.links.get(p.tap);
    if (tap && tap.master !== p.bridge) out.push({ kind: 'wrong-bridge', object: p.tap, expected: p.bridge, live: tap.master });
    if (tap && !tap.up) out.push({ kind: 'device-down', object: p.tap, expected: 'up', live: 'down' });
    if (dev.mac !== p.mac) out.push({ kind: 'wrong-mac', object: p.device, expected: p.mac, live: dev.mac });
    if (!dev.up) out.push({ kind: 'device-down', object: p.device, expected: 'up', live: 'down' });
    const have = dev.addrs.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
    const want = [`${p.ip}/${p.prefixlen}`, ...(p.kind === 'gateway' ? d.fips.map((f) => `${f.fip}/32`) : [])];
    for (const w of want) if (!have.includes(w)) out.push({ kind: 'missing-address', object: `${w} on ${p.device}`, expected: w, live: null });
    for (const h of have) if (!want.includes(h)) out.push({ kind: 'extra-address', object: `${h} on ${p.device}`, expected: null, live: h });
  }

  const wantedDevs = new Set(d.ports.map((p) => p.device));
  for (const name of [...obs.links.keys()].filter((n) => isRouterDevice(n) && !wantedDevs.has(n)).sort()) {
    const addrs = obs.links.get(name)!.addrs.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
    out.push({ kind: 'extra-device', object: name, expected: null, live: addrs.length ? addrs.join(' ') : 'present' });
  }

  for (const r of d.routes) {
    const ok = obs.routes.some((o) => o.dst === r.dst && o.gateway === r.via && (!r.dev || o.dev === r.dev));
    if (ok) continue;
    const now = obs.routes.find((o) => o.dst === r.dst);
    out.push({ kind: 'missing-route', object: r.dst, expected: routeText(r.dst, r.via, r.dev), live: now ? routeText(now.dst, now.gateway, now.dev) : null });
  }
  const wantedDst = new Set(d.routes.map((r) => r.dst));
  for (const o of obs.routes) {
    if (!o.gateway || wantedDst.has(o.dst) || !o.dev || !isRouterDevice(o.dev)) continue;
    out.push({ kind: 'extra-route', object: o.dst, expected: null, live: routeText(o.dst, o.gateway, o.dev) });
  }

  const nat = diffSection(desiredSection(d.nat), obs.iptablesSave);
  for (const l of nat.missing) out.push({ kind: isChain(l) ? 'missing-nat-chain' : 'missing-nat-rule', object: l, expected: l, live: null });
  for (const l of nat.extra) out.push({ kind: isChain(l) ? 'extra-nat-chain' : 'extra-nat-rule', object: l, expected: null, live: l });

  for (const a of sharedSysctls(d, obs)) {
    const [key, want] = a.split('=');
    out.push({ kind: 'shared-sysctl', object: key!, expected: `${want} (a router shares this namespace with its bridges)`, live: key!.startsWith('net.bridge') ? '1' : String(obs.arpIgnore) });
  }
  if (!obs.ipForward) {
    out.push({ kind: 'ip_forward-off', object: 'net.ipv4.ip_forward', expected: '1 (and net.ipv4.conf.all.promote_secondaries 1)', live: 'ip_forward or promote_secondaries is 0' });
  }
  return out;
}

// Observation: the one impure part, kept apart from the comparisons above.
/** Observe one stored router now and compare it with the store. */
export async function observeDrift(runner: Runner, state: State, config: Config, routerId: string): Promise<Drift[]> {
  const router = state.routers.find((r) => r.id === routerId);
  const handled = router !== undefined && skipReason(state, config, router) === null;
  const place = placement(config, routerId);
  const [obs, host] = await Promise.all([observeRouterNs(runner, place.ns, { shared: place.shared }), observeHost(runner, config.host_namespace)]);
  const drift = routerDrift(handled ? desiredRouter(state, config, router!) : null, obs, host, place.shared);
  const own = namespaceName(routerId);
  if (place.shared && listNamespaces().has(own)) {
    // Left from before use_namespaces was turned off; sync removes it.
    drift.push({ kind: 'unwanted-namespace', object: own, expected: null, live: 'present' });
  }
  return drift;
}
