// Stale router namespaces (`agent cleanup`): `qrouter-<uuid>` namespaces that
// no handled router owns. Their daemons (metadata proxy…) are stopped first,
// found by the pid files of the router id beside the store, whether or not the
// store still has the router; then their qr-/qg- devices go (deleting a veth
// end in the namespace removes its host end too; an Open vSwitch port is
// deleted from its bridge, since deleting the namespace would leave its
// record), then the namespace. A managed router's namespace is never a
// candidate (Grizzly's restart cut every router off).
import type { Config } from '../model/config.js';
import { EXTERNAL_DEV_PREFIX, INTERNAL_DEV_PREFIX, isRouterDevice, namespaceName, routerIdOfNamespace } from '../model/names.js';
import type { State } from '../model/types.js';
import { observeLinks } from '../linux/observe.js';
import { ovsPortsOfDevices, ovsUnplugArgv } from '../linux/ovs.js';
import { stopDaemon } from '../linux/daemon.js';
import { isPresent, observeDaemons, type ObservedDaemon } from './daemons.js';
import { driverFor, type DriverName } from './drivers/index.js';
import { skipReason } from './filters.js';
import type { System } from './pass.js';

export interface StaleNamespace {
  ns: string;
  routerId: string;
  /** qr-/qg- devices in it, removed before the namespace. */
  devices: string[];
  /** Those of them that are Open vSwitch ports (interface_driver ovs): deleted from their bridges. */
  ports: { bridge: string; device: string }[];
  /** Daemons of this router id with a process or files left: stopped first, their files removed. */
  daemons: ObservedDaemon[];
}

/** Is this stored router handled here? Unsure (a config error) counts as yes: never remove what might be managed. */
function managed(state: State, config: Config, routerId: string): boolean {
  const r = state.routers.find((x) => x.id === routerId);
  if (!r) return false;
  try {
    return skipReason(state, config, r) === null;
  } catch {
    return true;
  }
}

/** Candidate namespaces, sorted. With router_id set only `qrouter-<router_id>` can be one. */
export function staleNamespaces(namespaces: Iterable<string>, state: State, config: Config): string[] {
  const out: string[] = [];
  for (const ns of namespaces) {
    const id = routerIdOfNamespace(ns);
    if (id === null || managed(state, config, id)) continue;
    if (config.router_id && ns !== namespaceName(config.router_id)) continue;
    out.push(ns);
  }
  return out.sort();
}

export async function observeStale(sys: System, ns: string, driver: DriverName = 'linuxbridge'): Promise<StaleNamespace> {
  const routerId = routerIdOfNamespace(ns)!;
  const [links, ovs, daemons] = await Promise.all([observeLinks(sys.runner, ns), driverFor(driver).observe(sys.runner), observeDaemons(sys.files, sys.storePath, routerId, ns)]);
  const devices = [...links.keys()].filter(isRouterDevice).sort();
  return { ns, routerId, devices, ports: ovs ? ovsPortsOfDevices(ovs, devices) : [], daemons: daemons.filter((d) => isPresent(d.seen)) };
}

export async function removeStale(sys: System, s: StaleNamespace): Promise<void> {
  // A daemon keeps a deleted namespace alive and holds its port: stopped while it can still be found.
  for (const d of s.daemons) await stopDaemon(sys, d.paths, d.seen);
  const { runner } = sys;
  // Internal ports first, then the gateway, as the agent unplugs them.
  const order = [...s.devices.filter((d) => d.startsWith(INTERNAL_DEV_PREFIX)), ...s.devices.filter((d) => d.startsWith(EXTERNAL_DEV_PREFIX))];
  const onSwitch = new Map(s.ports.map((p) => [p.device, p.bridge]));
  // del-port takes the device with it, wherever it is.
  for (const d of order.filter((x) => onSwitch.has(x))) await runner.run(ovsUnplugArgv(onSwitch.get(d)!, d, { timeout: 10 }));
  const rest = order.filter((d) => !onSwitch.has(d));
  if (rest.length) await runner.run(['ip', '-n', s.ns, '-batch', '-'], { input: rest.map((d) => `link del ${d}`).join('\n') + '\n' });
  await runner.run(['ip', 'netns', 'del', s.ns]);
}
