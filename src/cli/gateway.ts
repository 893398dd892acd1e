// `gateway set | clear`: a router's gateway port on an external network.
import { firstFree } from '../model/addr.js';
import { HA_IPV4_ONLY, haIpv6Refused, haTakesSubnet } from '../model/ha.js';
import { cidrsText } from '../model/subnets.js';
import { UsageError } from '../model/errors.js';
import type { FixedIp, State } from '../model/types.js';
import { checkMac } from '../model/validate.js';
import { ROUTER_COLUMNS } from './columns.js';
import { newId, newMac } from './ids.js';
import { addressesByVersion, subnetsFor } from './addresses.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printObject } from './output.js';
import { findNetwork, findRouter } from './resolve.js';
import { routerRow } from './router.js';
import { routerView } from './views.js';
import { loadState } from '../store/store.js';

/** Addresses of a network already taken by gateways, interfaces, floating IPs and its subnets' gateway IPs. */
export function usedAddresses(s: State, networkId: string): string[] {
  const net = s.networks.find((n) => n.id === networkId)!;
  const ports = s.routers.flatMap((r) => [...(r.gateway ? [r.gateway] : []), ...r.interfaces]).filter((p) => p.network_id === networkId);
  return [
    ...net.subnets.flatMap((sn) => (sn.gateway_ip ? [sn.gateway_ip] : [])),
    ...ports.flatMap((p) => p.fixed_ips.map((f) => f.ip_address)),
    ...s.floatingips.filter((f) => f.floating_network_id === networkId).map((f) => f.floating_ip_address),
  ];
}

export interface GatewaySetOptions {
  router: string;
  network: string;
  /** At most one per IP version. */
  ip?: string[];
  mac?: string;
}

/**
 * The gateway port gets an address on each subnet of the external network
 * (an IPv4 one for SNAT and floating IPs, an IPv6 one routed as it is): the
 * one given (`--ip`, once per IP version), else the one it has there, else
 * the first free one.
 */
export async function gatewaySet(o: GatewaySetOptions, io: IO): Promise<void> {
  const given = addressesByVersion(o.ip, 'gateway IP');
  const mac = o.mac ? checkMac(o.mac) : undefined;
  const done = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    const n = findNetwork(s, o.network);
    if (!n.external) throw new UsageError(`network '${n.name}' is not external: expected an external network for a gateway`, `l3ctl network add NAME --cidr CIDR --external`);
    const cur = r.gateway;
    if (cur && cur.network_id !== n.id && s.floatingips.some((f) => f.router_id === r.id)) {
      throw new UsageError(`router '${r.name}' has floating IPs on its current gateway network`, 'disassociate them first (l3ctl fip disassociate FIP)');
    }
    if (!n.subnets.length) throw new UsageError(`external network '${n.name}' has no subnet: expected a network with an address range`, `l3ctl subnet add ${n.name} CIDR`);
    subnetsFor(n, given);
    // Same network: keep the port id; a new address or MAC is re-plumbed.
    const same = cur && cur.network_id === n.id ? cur : null;
    const used = usedAddresses(s, n.id);
    const v6 = given.get(6);
    if (v6 && r.ha) throw haIpv6Refused(r, `gateway IP ${v6}`);
    const haSkipped = n.subnets.filter((sn) => !haTakesSubnet(r, sn));
    if (haSkipped.length === n.subnets.length) throw haIpv6Refused(r, `external network '${n.name}' (${cidrsText(n)})`);
    const fixed: FixedIp[] = n.subnets.filter((sn) => haTakesSubnet(r, sn)).map((sn) => {
      const ip = given.get(sn.ip_version) ?? same?.fixed_ips.find((f) => f.subnet_id === sn.id)?.ip_address ?? firstFree(sn.cidr, used);
      if (!ip) throw new UsageError(`external network '${n.name}' has no free address left on ${sn.cidr}`);
      return { subnet_id: sn.id, ip_address: ip };
    });
    if (same) {
      same.fixed_ips = fixed;
      if (mac) same.mac_address = mac;
    } else {
      r.gateway = { id: newId(), network_id: n.id, fixed_ips: fixed, mac_address: mac ?? newMac(), admin_state_up: true };
    }
    return { routers: [r.id], value: { row: routerRow(s, r), router: r.name, haSkipped: haSkipped.map((x) => x.cidr) } };
  });
  if (!done) return;
  for (const c of done.haSkipped) io.warn(`router '${done.router}' gets no gateway address on ${c}: ${HA_IPV4_ONLY}`);
  await printObject(io, ROUTER_COLUMNS, done.row, { view: routerView(await loadState(io.storePath)) });
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
