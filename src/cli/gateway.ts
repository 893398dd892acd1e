// `gateway set | clear`: a router's gateway port on an external network.
import { firstFree } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import type { State } from '../model/types.js';
import { checkIp, checkMac } from '../model/validate.js';
import { ROUTER_COLUMNS } from './columns.js';
import { newId, newMac } from './ids.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printObject } from './output.js';
import { findNetwork, findRouter } from './resolve.js';
import { routerRow } from './router.js';
import { routerView } from './views.js';
import { loadState } from '../store/store.js';

/** Addresses of a network already taken by gateways, floating IPs and its gateway IP. */
export function usedAddresses(s: State, networkId: string): string[] {
  const net = s.networks.find((n) => n.id === networkId)!;
  return [
    ...(net.gateway_ip ? [net.gateway_ip] : []),
    ...s.routers.flatMap((r) => [...(r.gateway?.network_id === networkId ? [r.gateway.ip_address] : []), ...r.interfaces.filter((p) => p.network_id === networkId).map((p) => p.ip_address)]),
    ...s.floatingips.filter((f) => f.floating_network_id === networkId).map((f) => f.floating_ip_address),
  ];
}

export interface GatewaySetOptions {
  router: string;
  network: string;
  ip?: string;
  mac?: string;
}

export async function gatewaySet(o: GatewaySetOptions, io: IO): Promise<void> {
  const ip = o.ip ? checkIp('gateway IP', o.ip) : undefined;
  const mac = o.mac ? checkMac(o.mac) : undefined;
  const row = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    const n = findNetwork(s, o.network);
    if (!n.external) throw new UsageError(`network '${n.name}' is not external: expected an external network for a gateway`, `l3ctl network add NAME --cidr CIDR --external`);
    const cur = r.gateway;
    if (cur && cur.network_id !== n.id && s.floatingips.some((f) => f.router_id === r.id)) {
      throw new UsageError(`router '${r.name}' has floating IPs on its current gateway network`, 'disassociate them first (l3ctl fip disassociate FIP)');
    }
    if (cur && cur.network_id === n.id) {
      // Same network: keep the port id; a new address or MAC is re-plumbed.
      if (ip) cur.ip_address = ip;
      if (mac) cur.mac_address = mac;
    } else {
      const addr = ip ?? firstFree(n.cidr, usedAddresses(s, n.id));
      if (!addr) throw new UsageError(`external network '${n.name}' has no free address left`);
      r.gateway = { id: newId(), network_id: n.id, ip_address: addr, mac_address: mac ?? newMac(), admin_state_up: true };
    }
    return { routers: [r.id], value: routerRow(s, r) };
  });
  if (row) await printObject(io, ROUTER_COLUMNS, row, { view: routerView(await loadState(io.storePath)) });
}

export async function gatewayClear(o: { router: string }, io: IO): Promise<void> {
  const name = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    const fips = s.floatingips.filter((f) => f.router_id === r.id);
    if (fips.length) throw new UsageError(`router '${r.name}' gateway is in use by floating IP ${fips.map((f) => f.floating_ip_address).join(', ')}`, `l3ctl fip disassociate ${fips[0]!.floating_ip_address}`);
    r.gateway = null;
    return { routers: [r.id], value: r.name };
  });
  if (name) io.status(`cleared gateway of router ${name}`);
}
