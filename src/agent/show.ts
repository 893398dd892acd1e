// `router show`: the router as the store wants it and as the kernel has it,
// side by side. The drift verdict and the marks come from the plan that
// `agent sync` would run, never from a comparison of their own.
import { DEFAULT_DST, routeDstText } from '../model/addr.js';
import type { Config } from '../model/config.js';
import { isRouterDevice } from '../model/names.js';
import type { Router, State } from '../model/types.js';
import { isPresent, type ObservedDaemon } from './daemons.js';
import { desiredRouter, placement, type DesiredRouter } from './desired.js';
import { skipReason } from './filters.js';
import { desiredSection, sectionLines } from './nat.js';
import { observeRouter, planRouterFrom, type System } from './pass.js';
import { findingsOf, noticesOf, type Finding } from './steps.js';
import { haStatus, type HaStatus } from '../linux/keepalived.js';

/** One line of either side, with the key findings name it by. */
export interface ViewLine {
  key: string;
  text: string;
}

export interface RouterSide {
  devices: ViewLine[];
  routes: ViewLine[];
  nat: ViewLine[];
  /** Per-router daemons (the metadata proxy), keyed by kind. */
  daemons: ViewLine[];
}

export interface RouterView {
  /** The namespace (null: the one l3ctl runs in) and whether it exists. */
  ns: string | null;
  exists: boolean;
  handled: true | string;
  desired: RouterSide;
  live: RouterSide;
  /** What `agent sync` would change: empty when the router is as stored. */
  findings: Finding[];
  /** Keys of the lines that findings name. */
  drifted: Set<string>;
  /** Not drift, said in one line each: e.g. the metadata proxy has no upstream. */
  notices: string[];
  /** An HA router on this node: keepalived's state (its own word), its VRRP id and HA port; null for a legacy router. */
  ha: { state: HaStatus; vrId: number; device: string | null; address: string | null } | null;
}

const devLine = (name: string, addrs: string[]) => ({ key: name, text: `${name} ${[...addrs].sort().join(' ')}`.trimEnd() });
const routeLine = (dst: string, via: string | null, dev: string | null) => ({ key: dst, text: `${routeDstText(dst)}${via ? ` via ${via}` : ''}${dev ? ` dev ${dev}` : ''}` });

function desiredSide(d: DesiredRouter | null): RouterSide {
  if (!d) return { devices: [], routes: [], nat: [], daemons: [] };
  // An HA router's addresses and routes are keepalived's: the master has them, a backup does not.
  const KA = ' (keepalived: on the master)';
  const kaText = (l: ViewLine) => ({ key: l.key, text: l.text + KA });
  const haRoutes = (d.ha?.instance.routes ?? []).map((r) => kaText(routeLine(r.dst === 'default' ? DEFAULT_DST : r.dst, r.via, r.dev)));
  return {
    devices: d.ports.map((p) => {
      const addrs = p.addrs.map((a) => `${a.ip}/${a.prefixlen}`);
      if (d.ha && p.kind === 'ha') {
        const line = devLine(p.device, addrs);
        return { key: line.key, text: `${line.text} + ${d.ha.owned[0]!.cidr}${KA}` };
      }
      const line = devLine(p.device, [...addrs, ...(p.kind === 'gateway' ? d.fips.map((f) => `${f.fip}/32`) : [])]);
      return d.ha ? kaText(line) : line;
    }),
    routes: [...d.routes.map((r) => routeLine(r.dst, r.via, r.dev)), ...haRoutes],
    nat: sectionLines(desiredSection(d.nat)).map((l) => ({ key: l, text: l })),
    daemons: d.daemons.map((x) => ({ key: x.kind, text: `${x.kind}: ${x.role}` })),
  };
}

function liveDaemon(o: ObservedDaemon): ViewLine {
  const s = o.seen;
  return { key: o.paths.kind, text: s.alive ? `${o.paths.kind}: pid ${s.pid}` : `${o.paths.kind}: ${s.why}` };
}

/** Which line a finding is about: a device, a route destination, a NAT line. */
function keyOf(f: Finding): string {
  const m = / on (\S+)$/.exec(f.object);
  return m ? m[1]! : f.object;
}

export async function routerView(sys: System, state: State, config: Config, router: Router): Promise<RouterView> {
  const place = placement(config, router.id);
  const skip = skipReason(state, config, router);
  const observed = await observeRouter(sys, state, config, router.id);
  const obs = observed.obs;
  const plans = planRouterFrom(state, config, router.id, observed);
  const d = skip === null ? desiredRouter(state, config, router, observed.node) : null;
  const ours = [...obs.links.values()].filter((l) => isRouterDevice(l.name));
  const devs = new Set(ours.map((l) => l.name));
  const live: RouterSide = {
    devices: ours.map((l) => devLine(l.name, l.addrs.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`))),
    // Routes through our devices: connected ones and those with a nexthop.
    routes: obs.routes.filter((r) => r.dev !== null && devs.has(r.dev)).map((r) => routeLine(r.dst, r.gateway, r.dev)),
    nat: sectionLines(obs.iptables.ours).map((l) => ({ key: l, text: l })),
    daemons: observed.daemons.filter((o) => isPresent(o.seen)).map(liveDaemon),
  };
  const findings = plans.flatMap(findingsOf);
  const keepalived = observed.daemons.find((o) => o.paths.kind === 'keepalived');
  const ha = router.ha && router.ha_vr_id !== null
    ? { state: haStatus(observed.haStateText, !!keepalived?.seen.alive), vrId: router.ha_vr_id, device: d?.ha?.port.device ?? null, address: d?.ha?.port.addrs[0]?.ip ?? null }
    : null;
  return {
    ns: place.ns,
    exists: obs.exists,
    handled: skip === null ? true : `no (${skip})`,
    desired: desiredSide(d),
    live,
    findings,
    drifted: new Set(findings.map(keyOf)),
    notices: plans.flatMap(noticesOf),
    ha,
  };
}
