// The plan as data: a list of typed steps, each with what differs (its
// findings, which `agent check` and `router show` print) and what to run
// about it (its actions, which linux/apply.ts turns into few processes).
// One plan, many readers: apply, --dry-run, check and show cannot disagree.
import type { Action, ActionSet } from '../linux/actions.js';

export type { Action } from '../linux/actions.js';

export type FindingKind =
  | 'missing-namespace'
  | 'unwanted-namespace'
  | 'missing-host-namespace'
  | 'missing-bridge'
  | 'extra-bridge'
  | 'bridge-down'
  /** A bridge l3ctl made with IPv6 on: it would take addresses from tenant router advertisements. */
  | 'bridge-ipv6'
  | 'missing-device'
  | 'extra-device'
  | 'device-down'
  | 'wrong-mac'
  | 'wrong-bridge'
  /** A port's end with another MTU than network_device_mtu. */
  | 'wrong-mtu'
  | 'missing-port'
  | 'wrong-external-ids'
  | 'no-carrier'
  | 'missing-address'
  /** A wanted IPv4 address held with another scope than global (set by hand): replaced. */
  | 'wrong-scope'
  /** A wanted IPv4 address held with another broadcast, or none: replaced. */
  | 'wrong-broadcast'
  | 'extra-address'
  | 'missing-route'
  | 'extra-route'
  | 'missing-nat-rule'
  | 'extra-nat-rule'
  | 'nat-order'
  | 'missing-nat-chain'
  | 'extra-nat-chain'
  | 'ip_forward-off'
  | 'shared-sysctl'
  /** IPv6 forwarding off, or a port's accept_ra not as its role wants (a router with IPv6). */
  | 'ipv6-sysctl'
  /** An HA router's namespace with IPv6 on: its standby's ports would talk with the master's MACs. */
  | 'ipv6-on'
  /** An address keepalived adds on the master only, held on this node while keepalived here is not master. */
  | 'stale-ha-address'
  /** The same for one of keepalived's routes. */
  | 'stale-ha-route'
  /** A per-router daemon (metadata proxy, …) wanted and never started: no pid file. */
  | 'missing-daemon'
  /** Wanted, its pid file names no live process of ours in the router's namespace. */
  | 'daemon-dead'
  /** Running, but not with the config (or command line) the store asks for. */
  | 'daemon-config'
  /** Running, or its files left, while no longer wanted. */
  | 'extra-daemon';

/** One difference between the store and the kernel. */
export interface Finding {
  kind: FindingKind;
  /** What is wrong: a namespace, device, `ADDR/LEN on DEV`, route destination, NAT line. */
  object: string;
  /** What the store wants; null: absent. */
  expected: string | null;
  /** What the kernel reports; null: absent. */
  live: string | null;
}

export interface Step {
  findings: Finding[];
  actions: Action[];
}

export interface Plan {
  /** The router namespace the router-phase actions run in (null: the one l3ctl runs in). */
  ns: string | null;
  /** The namespace of the bridges (host_namespace; null: the one l3ctl runs in). */
  hostNs: string | null;
  steps: Step[];
  /**
   * What an operator should know that is not drift (sync would not change
   * it): e.g. a metadata proxy with no upstream to send requests to.
   */
  notices?: string[];
}

export const emptyPlan = (ns: string | null, hostNs: string | null): Plan => ({ ns, hostNs, steps: [] });
export const isEmptyPlan = (p: Plan): boolean => p.steps.length === 0;
export const findingsOf = (p: Plan): Finding[] => p.steps.flatMap((s) => s.findings);
export const noticesOf = (p: Plan): string[] => p.notices ?? [];
export const actionsOf = (p: Plan): ActionSet => ({ ns: p.ns, hostNs: p.hostNs, actions: p.steps.flatMap((s) => s.actions) });

/**
 * The one set difference every kind of object goes through (Tailscale's
 * cidrDiff): what is wanted and missing or different, and what is there but
 * not wanted. Keys decide identity; `same` decides whether a present object
 * needs a change.
 */
export function setDiff<W, H>(
  want: Iterable<W>,
  have: Iterable<H>,
  key: { want: (w: W) => string; have: (h: H) => string },
  same: (w: W, h: H) => boolean = () => true,
): { add: W[]; change: [W, H][]; del: H[] } {
  const haveByKey = new Map<string, H>();
  for (const h of have) haveByKey.set(key.have(h), h);
  const wanted = new Set<string>();
  const add: W[] = [];
  const change: [W, H][] = [];
  for (const w of want) {
    const k = key.want(w);
    wanted.add(k);
    const h = haveByKey.get(k);
    if (h === undefined) add.push(w);
    else if (!same(w, h)) change.push([w, h]);
  }
  const del = [...haveByKey].filter(([k]) => !wanted.has(k)).map(([, h]) => h);
  return { add, change, del };
}
