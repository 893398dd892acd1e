// What a plan asks the system to do, kind by kind: the vocabulary between
// the planner (src/agent) and the code that runs programs (apply.ts).
import type { L3ctlError } from '../model/errors.js';
import type { DaemonPaths, DaemonSpec } from './daemon.js';
import type { TableName } from './iptables.js';

/**
 * Order of the lines of one router namespace's `ip -batch`: adds before
 * deletes (a device is never left bare), addresses before routes (a route's
 * nexthop is reachable when it is written). An address the kernel holds in
 * a form l3ctl does not add (another scope, another broadcast) cannot be
 * changed in place: it is deleted (addr-replace) just before it is added
 * again, and the routes the deletion takes with it are written after; an
 * unwanted route through that device goes before (route-del-first): the
 * deletion may have taken it already.
 */
export const ROUTER_ORDER = ['lo', 'link', 'route-del-first', 'addr-replace', 'addr-add', 'route-replace', 'route-del', 'addr-del', 'fip-del', 'link-del'] as const;
export type RouterOrder = (typeof ROUTER_ORDER)[number];

/** A rule to write in one of our chains, with the counters it has now (kept across the rewrite). */
export interface NatRule {
  rule: string;
  counters?: string;
}

export type Action =
  /** `ip netns add` (a router's namespace, or the host namespace of l3ctl's own). */
  | { phase: 'netns-add'; ns: string }
  /**
   * A program of the interface driver that plugs a port (ovs-vsctl add-port,
   * or what clears the way for it), run in order before the host batch, which
   * moves what it made into the router's namespace.
   */
  | { phase: 'plug'; argv: string[] }
  /** A line of the host namespace's `ip -batch` (bridges, host-side veth ends). */
  | { phase: 'host'; line: string }
  /** A line of the router namespace's `ip -batch`. */
  | { phase: 'router'; order: RouterOrder; line: string }
  /** One of our chains rewritten whole (declared, hence flushed, then its rules); rules null: the chain goes. */
  | { phase: 'nat'; table: TableName; chain: string; rules: NatRule[] | null }
  /**
   * One of our chains edited in place: these rules deleted by text, then
   * these inserted at their positions (1-based, ascending); the rules it
   * keeps keep their counters.
   */
  | { phase: 'nat-edit'; table: TableName; chain: string; del: string[]; ins: { position: number; rule: string }[] }
  /** Our jumps in a built-in chain: the live ones deleted by text, the wanted ones inserted at their positions. */
  | { phase: 'nat-jumps'; table: TableName; builtin: string; del: string[]; ins: { position: number; rule: string }[] }
  /** A program of the interface driver that unplugs a port (ovs-vsctl del-port), after the router batch took its addresses off. */
  | { phase: 'unplug'; argv: string[] }
  /** A floating IP /32, added once its NAT rules are in place. */
  | { phase: 'fip'; line: string }
  /** `warning`: said when it is set (ip_forward in the host's real namespace). */
  | { phase: 'sysctl'; setting: string; warning?: string }
  /** A setting of a device of the host namespace (a bridge's disable_ipv6), once the host's batch has made it. */
  | { phase: 'host-sysctl'; setting: string }
  /** A setting of one device (net.ipv6.conf.DEV.accept_ra=0), once the router's batch has made the device. */
  | { phase: 'dev-sysctl'; setting: string }
  /**
   * A program in the namespace. `optional`: a missing program is a warning
   * with this text, not a failure (conntrack). `independent`: it may run at
   * the same time as the plan's other independent programs (a flush of one
   * floating IP's conntrack entries); the others run one at a time, in order.
   */
  | { phase: 'exec'; argv: string[]; okCodes?: number[]; optional?: string; independent?: true }
  /**
   * A per-router daemon (daemon.ts), after the NAT rules that lead to it and
   * before the namespace's deletion: start (config written, pid awaited),
   * reload (config rewritten, taken up without a gap), restart, stop (ended,
   * its files removed; only its paths are needed).
   */
  | { phase: 'daemon'; op: 'start' | 'reload' | 'restart'; spec: DaemonSpec }
  | { phase: 'daemon'; op: 'stop'; spec: DaemonPaths }
  /**
   * Duplicate address detection of this node's HA address (`arping -D`),
   * after the router batch and before the daemons: a reply from any MAC but
   * `ignoreMacs` (this node's other HA ports) fails the apply.
   */
  | { phase: 'dad'; dev: string; ip: string; ignoreMacs: string[] }
  /** Gratuitous ARP, in the background. */
  | { phase: 'garp'; dev: string; ip: string }
  | { phase: 'netns-del'; ns: string }
  /** What cannot be done (the operator's bridge is missing): apply fails before running anything. */
  | { phase: 'fail'; error: L3ctlError };

/** The actions of one plan, and the namespaces they run in. */
export interface ActionSet {
  /** The router namespace (null: the one l3ctl runs in). */
  ns: string | null;
  /** The namespace of the bridges (null: the one l3ctl runs in). */
  hostNs: string | null;
  actions: Action[];
}
