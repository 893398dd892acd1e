import type { Command } from 'commander';
import { firstFree } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import type { State } from '../model/types.js';
import { checkIp, checkMac } from '../model/validate.js';
import { define, handler, noun } from './define.js';
import { newId, newMac } from './ids.js';
import { mutate } from './mutate.js';
import { printObject } from './output.js';
import { findNetwork, findRouter } from './resolve.js';
import { ROUTER_COLUMNS, routerRow } from './router.js';

/** Addresses of a network already taken by gateways, floating IPs and its gateway IP. */
export function usedAddresses(s: State, networkId: string): string[] {
  const net = s.networks.find((n) => n.id === networkId)!;
  return [
    ...(net.gateway_ip ? [net.gateway_ip] : []),
    ...s.routers.flatMap((r) => [...(r.gateway?.network_id === networkId ? [r.gateway.ip_address] : []), ...r.interfaces.filter((p) => p.network_id === networkId).map((p) => p.ip_address)]),
    ...s.floatingips.filter((f) => f.floating_network_id === networkId).map((f) => f.floating_ip_address),
  ];
}

export function register(program: Command): void {
  const gw = noun(program, 'gateway', { summary: "a router's gateway port (qg- device) on an external network", examples: ['l3ctl gateway set r1 ext'] });

  define(gw, 'set <router> <network>', {
    summary: 'connect a router to an external network: gateway port, default route, SNAT',
    examples: ['l3ctl gateway set r1 ext --ip 203.0.113.10', 'l3ctl gateway set r1 ext'],
  })
    .option('--ip <ip>', 'gateway address (default: first free address of the subnet)')
    .option('--mac <mac>', 'MAC address of the qg- device')
    .action(
      handler(async (ctx, o, rref: string, nref: string) => {
        const ip = o.ip ? checkIp('gateway IP', o.ip) : undefined;
        const mac = o.mac ? checkMac(o.mac) : undefined;
        await mutate(ctx, (s) => {
          const r = findRouter(s, rref);
          const n = findNetwork(s, nref);
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
          return { routers: [r.id], print: () => printObject(ctx, ROUTER_COLUMNS, routerRow(s, r)) };
        });
      }),
    );

  define(gw, 'clear <router>', { summary: "remove a router's gateway (refused while it has floating IPs)", examples: ['l3ctl gateway clear r1'] }).action(
    handler(async (ctx, _o, rref: string) => {
      await mutate(ctx, (s) => {
        const r = findRouter(s, rref);
        const fips = s.floatingips.filter((f) => f.router_id === r.id);
        if (fips.length) throw new UsageError(`router '${r.name}' gateway is in use by floating IP ${fips.map((f) => f.floating_ip_address).join(', ')}`, `l3ctl fip disassociate ${fips[0]!.floating_ip_address}`);
        r.gateway = null;
        return { routers: [r.id], print: () => ctx.status(`cleared gateway of router ${r.name}`) };
      });
    }),
  );
}
