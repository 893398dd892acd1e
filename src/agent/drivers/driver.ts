// The interface driver: the seam between the plan and the way a port is
// plugged. The planner asks it which bridge a port goes on, what it reads
// besides the namespaces, how a port is plugged and unplugged, and what of a
// plugged port can drift. One module per driver answers (linuxbridge.ts,
// ovs.ts); all of it is pure planning but observe().
import type { Config } from '../../model/config.js';
import type { Network } from '../../model/types.js';
import type { Action } from '../../linux/actions.js';
import type { ObservedHost, ObservedLink } from '../../linux/observe.js';
import type { ObservedOvs } from '../../linux/ovs.js';
import type { Runner } from '../../linux/runner.js';
import type { DesiredPort } from '../desired.js';
import type { Finding, Step } from '../steps.js';

export type DriverName = Config['interface_driver'];

/** What was observed on the host side of the ports. */
export interface HostSide {
  /** The namespace of the bridges: veth host ends; where a fresh OVS internal port appears. */
  host: ObservedHost;
  /** The switch as one ovs-vsctl read reports it; null unless the driver is ovs. */
  ovs: ObservedOvs | null;
}

/** The host side, and where the router's devices live. */
export interface PortSide extends HostSide {
  /** The router's namespace (null: the one l3ctl runs in). */
  ns: string | null;
  /** The router shares the host namespace with the bridges (use_namespaces false). */
  shared: boolean;
}

export interface PortBridge {
  bridge: string;
  /** l3ctl never creates it (the operator's external bridge; every Open vSwitch bridge). */
  mustExist: boolean;
  /** The config key that names it, for errors (null: derived from the network). */
  option: string | null;
}

export interface InterfaceDriver {
  readonly name: DriverName;
  /** The bridge a port of this kind on this network is plugged into. */
  bridgeOf(config: Config, kind: DesiredPort['kind'], net: Network): PortBridge;
  /** What the driver reads besides the namespaces, once per router pass (linuxbridge: nothing). */
  observe(runner: Runner): Promise<ObservedOvs | null>;
  /** Steps for the networks themselves (linuxbridge: each network's bridge; ovs: none, they are the L2 agent's). */
  planNetworks(networks: Network[], host: ObservedHost): Step[];
  /** Steps before any port of a router is plugged: the host namespace, the bridges its ports need. */
  planBridges(ports: DesiredPort[], side: HostSide): Step[];
  /**
   * A device in the router's namespace that cannot carry its port and is
   * replaced by a fresh plug (its addresses and routes with it): why, or null.
   */
  replaces(p: DesiredPort, dev: ObservedLink, side: PortSide): Finding | null;
  /** Actions that plug a port into the router's namespace; `old`: the device replaces() condemned. */
  plug(p: DesiredPort, side: PortSide, old?: ObservedLink): Action[];
  /** Steps that repair the plug of a device that can stay (the host end, the switch's record). */
  plugDrift(p: DesiredPort, dev: ObservedLink, side: PortSide): Step[];
  /** Actions that remove a device of ours no port wants (its floating IPs are taken off before). */
  unplug(dev: ObservedLink, side: PortSide): Action[];
}

export const step = (findings: Finding[], actions: Action[]): Step => ({ findings, actions });

/** network_device_mtu on the router's end of a port (the agent's set_mtu), when it is set. */
export const deviceMtu = (p: DesiredPort): Action[] => (p.mtu ? [{ phase: 'router', order: 'link', line: `link set ${p.device} mtu ${p.mtu}` }] : []);

/** The router's end with another MTU than network_device_mtu (set): drift. */
export function deviceMtuDrift(p: DesiredPort, dev: ObservedLink): Step[] {
  if (!p.mtu || dev.mtu === undefined || dev.mtu === p.mtu) return [];
  return [step([{ kind: 'wrong-mtu', object: p.device, expected: `mtu ${p.mtu}`, live: `mtu ${dev.mtu}` }], deviceMtu(p))];
}

/** The host namespace, when l3ctl owns it and it is missing. */
export function hostNamespaceSteps(host: ObservedHost): Step[] {
  if (!host.ns || host.exists) return [];
  return [step([{ kind: 'missing-host-namespace', object: host.ns, expected: 'present', live: null }], [{ phase: 'netns-add', ns: host.ns }, { phase: 'host', line: 'link set lo up' }])];
}
