// `network add | delete | list | show`.
import { UsageError } from '../model/errors.js';
import { networkBridge } from '../model/names.js';
import { cidrsText, gatewayIpsText } from '../model/subnets.js';
import type { Network, State } from '../model/types.js';
import { checkName, checkUuid } from '../model/validate.js';
import { loadState } from '../store/store.js';
import { NETWORK_COLUMNS, NETWORK_SHOW_COLUMNS } from './columns.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { confirm } from './prompt.js';
import { findNetwork } from './resolve.js';
import { networkShowView, networkView } from './views.js';
import { sameSubnet, subnetFromOptions, subnetRow } from './subnet.js';
import { newId } from './ids.js';

/**
 * `cidr` and `gateway_ip` are every subnet's, joined by commas (one value
 * for an IPv4-only network, as before); `subnets` has each in full.
 */
export const networkRow = (n: Network) => ({
  id: n.id,
  name: n.name,
  cidr: cidrsText(n),
  gateway_ip: gatewayIpsText(n),
  'router:external': n.external,
  bridge: networkBridge(n),
  subnets: n.subnets.map((sn) => {
    const { network_id: _, ...rest } = subnetRow(n, sn);
    return rest;
  }),
});

function usedBy(s: State, n: Network): string[] {
  const out: string[] = [];
  for (const r of s.routers) {
    if (r.gateway?.network_id === n.id || r.interfaces.some((p) => p.network_id === n.id)) out.push(`router ${r.name}`);
  }
  for (const f of s.floatingips) if (f.floating_network_id === n.id) out.push(`floating IP ${f.floating_ip_address}`);
  return out;
}

function refuseInUse(s: State, n: Network): void {
  const users = usedBy(s, n);
  if (users.length) throw new UsageError(`network '${n.name}' is in use by ${users.join(', ')}: expected a network no router or floating IP uses`, 'remove those first (l3ctl interface remove / gateway clear / fip delete)');
}

export interface NetworkAddOptions {
  name: string;
  /** The first subnet, IPv4 or IPv6 (`subnet add` adds the other). */
  cidr: string;
  /** An address, or 'none'. */
  gatewayIp?: string;
  ipv6RaMode?: string;
  ipv6AddressMode?: string;
  external?: boolean;
  bridge?: string;
  id?: string;
}

export async function networkAdd(o: NetworkAddOptions, io: IO): Promise<void> {
  checkName('network', o.name);
  const subnet = subnetFromOptions(o, io);
  if (o.bridge !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(o.bridge)) {
    throw new UsageError(`invalid bridge name '${o.bridge}': expected 1-15 characters of A-Z a-z 0-9 _ . -`);
  }
  const id = o.id ? checkUuid('network id', o.id) : newId();
  const want: Network = { id, name: o.name, subnets: [{ id: newId(), ...subnet }], external: !!o.external, bridge: o.bridge ?? null };
  const made = await mutate(io, (s) => {
    const same = s.networks.find((n) => n.name === o.name);
    if (same) {
      // Re-running the same definition is fine (its subnet among the network's); a different one is a conflict.
      const sameDef = same.subnets.some((x) => sameSubnet(x, subnet)) && same.external === want.external &&
        same.bridge === want.bridge && (!o.id || same.id === id);
      if (!sameDef) throw new UsageError(`a network named '${o.name}' already exists with a different definition`, `l3ctl network show ${o.name}`);
      return { bridges: true, value: same };
    }
    s.networks.push(want);
    return { bridges: true, value: want };
  });
  if (made) await printObject(io, NETWORK_SHOW_COLUMNS, networkRow(made), { view: networkShowView(await loadState(io.storePath)) });
}

export async function networkDelete(o: { network: string; force?: boolean }, io: IO): Promise<void> {
  const pre = await loadState(io.storePath);
  const n0 = findNetwork(pre, o.network);
  // In use is exit 2 whether or not there is a terminal to confirm on.
  refuseInUse(pre, n0);
  await confirm(io, `Delete network '${n0.name}' (${n0.subnets.map((x) => x.cidr).join(', ') || 'no subnets'})?`);
  const gone = await mutate(io, (s) => {
    const n = findNetwork(s, o.network);
    refuseInUse(s, n);
    s.networks = s.networks.filter((x) => x.id !== n.id);
    return { removedNetworks: [n], unplugForeign: !!o.force, value: n };
  });
  if (gone) io.status(`deleted network ${gone.name}`);
}

export async function networkList(o: { long?: boolean }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  await printList(io, NETWORK_COLUMNS, s.networks.map(networkRow), { view: networkView(s), long: o.long });
}

export async function networkShow(o: { network: string }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  await printObject(io, NETWORK_SHOW_COLUMNS, networkRow(findNetwork(s, o.network)), { view: networkShowView(s) });
}
