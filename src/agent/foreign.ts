// Devices on a bridge that l3ctl did not plug in: a VM's tap, a veth made by
// hand, another tool's port. Deleting a network deletes its bridge, which
// would cut them off, so the transaction refuses (exit 2) before changing
// anything unless the operator said --force.
import { UsageError } from '../model/errors.js';
import { BRIDGE_PREFIX, networkBridge, tapDevice } from '../model/names.js';
import type { Network, State } from '../model/types.js';
import type { ObservedHost } from '../linux/observe.js';

export interface ForeignDevices {
  network: Network;
  bridge: string;
  devices: string[];
}

/** The host ends l3ctl plugs in: `tap<port id[:11]>` of every stored port. */
export function ourTaps(...states: State[]): Set<string> {
  const out = new Set<string>();
  for (const s of states) {
    for (const r of s.routers) for (const p of [...(r.gateway ? [r.gateway] : []), ...r.interfaces]) out.add(tapDevice(p.id));
  }
  return out;
}

/**
 * Pure: for each removed network whose bridge l3ctl deletes (its own `brq…`,
 * as planNetworkBridges decides; an operator's --bridge is never deleted),
 * the devices on that bridge that are not ours.
 */
export function foreignDevices(host: ObservedHost, removed: Network[], ours: Set<string>): ForeignDevices[] {
  const out: ForeignDevices[] = [];
  for (const n of removed) {
    const bridge = networkBridge(n);
    if (n.bridge || !bridge.startsWith(BRIDGE_PREFIX) || !host.links.has(bridge)) continue;
    const devices = [...host.links.values()].filter((l) => l.master === bridge && !ours.has(l.name)).map((l) => l.name).sort();
    if (devices.length) out.push({ network: n, bridge, devices });
  }
  return out;
}

export function foreignDevicesError(found: ForeignDevices[]): UsageError {
  const what = found.map((f) => `network '${f.network.name}' has ${f.devices.join(', ')} on its bridge ${f.bridge}`).join('; ');
  return new UsageError(
    `${what}: devices l3ctl did not plug in; deleting the network would cut them off`,
    'unplug them first (ip link set DEV nomaster), or delete anyway with --force: the bridge goes, the devices stay',
  );
}
