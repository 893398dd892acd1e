import type { Command } from 'commander';
import { contains } from '../model/addr.js';
import { UsageError } from '../model/errors.js';
import { internalDevice } from '../model/names.js';
import type { Port, Router, State } from '../model/types.js';
import { checkIp, checkMac, checkUuid } from '../model/validate.js';
import { loadState } from '../store/store.js';
import { define, handler, noun } from './define.js';
import { newId, newMac } from './ids.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { findNetwork, findPort, findRouter } from './resolve.js';

export const PORT_COLUMNS = ['id', 'router_id', 'network_id', 'ip_address', 'mac_address', 'device'];

export const portRow = (r: Router, p: Port) => ({
  id: p.id,
  router_id: r.id,
  network_id: p.network_id,
  ip_address: p.ip_address,
  mac_address: p.mac_address,
  device: internalDevice(p.id),
});

function allPorts(s: State, r?: Router) {
  return (r ? [r] : s.routers).flatMap((x) => x.interfaces.map((p) => portRow(x, p)));
}

export function register(program: Command): void {
  const iface = noun(program, 'interface', { summary: "a router's internal ports (qr- devices)", examples: ['l3ctl interface list r1'] });

  define(iface, 'add <router> <network>', {
    summary: "plug a router into an internal network (default IP: the subnet's gateway IP)",
    examples: ['l3ctl interface add r1 priv', 'l3ctl interface add r1 priv --ip 198.51.100.254'],
  })
    .option('--ip <ip>', "the router's address on the subnet")
    .option('--mac <mac>', 'MAC address of the qr- device (default: fa:16:3e:…)')
    .option('--id <uuid>', 'port id')
    .action(
      handler(async (ctx, o, rref: string, nref: string) => {
        const ip = o.ip ? checkIp('interface IP', o.ip) : undefined;
        const mac = o.mac ? checkMac(o.mac) : undefined;
        const id = o.id ? checkUuid('port id', o.id) : undefined;
        await mutate(ctx, (s) => {
          const r = findRouter(s, rref);
          const n = findNetwork(s, nref);
          if (n.external) throw new UsageError(`network '${n.name}' is external: use it as a gateway (l3ctl gateway set ${r.name} ${n.name})`);
          const want = ip ?? n.gateway_ip;
          if (!want) throw new UsageError(`network '${n.name}' has no gateway IP: pass --ip`);
          const existing = r.interfaces.find((p) => p.network_id === n.id);
          let port: Port;
          if (existing) {
            if (existing.ip_address !== want || (mac && existing.mac_address !== mac) || (id && existing.id !== id)) {
              throw new UsageError(`router '${r.name}' already has a port on network '${n.name}' (${existing.ip_address})`, `remove it first: l3ctl interface remove ${r.name} ${n.name}`);
            }
            port = existing;
          } else {
            port = { id: id ?? newId(), network_id: n.id, ip_address: want, mac_address: mac ?? newMac(), admin_state_up: true };
            r.interfaces.push(port);
          }
          return { routers: [r.id], print: () => printObject(ctx, PORT_COLUMNS, portRow(r, port)) };
        });
      }),
    );

  define(iface, 'remove <router> <network-or-port>', {
    summary: 'unplug a router from an internal network',
    examples: ['l3ctl interface remove r1 priv'],
  }).action(
    handler(async (ctx, _o, rref: string, ref: string) => {
      await mutate(ctx, (s) => {
        const r = findRouter(s, rref);
        const p = findPort(s, r, ref);
        const net = s.networks.find((n) => n.id === p.network_id)!;
        const fips = s.floatingips.filter((f) => f.router_id === r.id && f.fixed_ip_address && contains(net.cidr, f.fixed_ip_address));
        if (fips.length) {
          throw new UsageError(`the interface on '${net.name}' is required by floating IP ${fips.map((f) => f.floating_ip_address).join(', ')}`, `l3ctl fip disassociate ${fips[0]!.floating_ip_address}`);
        }
        const routes = r.routes.filter((rt) => contains(net.cidr, rt.nexthop));
        if (routes.length) {
          throw new UsageError(`route ${routes[0]!.destination} via ${routes[0]!.nexthop} needs the interface on '${net.name}'`, `l3ctl route delete ${r.name} ${routes[0]!.destination}`);
        }
        r.interfaces = r.interfaces.filter((x) => x.id !== p.id);
        return { routers: [r.id], print: () => ctx.status(`removed interface ${internalDevice(p.id)} (${p.ip_address}) from router ${r.name}`) };
      });
    }),
  );

  define(iface, 'list [router]', { summary: "list routers' internal ports", examples: ['l3ctl interface list r1 -f json'] }).action(
    handler(async (ctx, _o, rref?: string) => {
      const s = await loadState(ctx.storePath);
      await printList(ctx, PORT_COLUMNS, allPorts(s, rref ? findRouter(s, rref) : undefined));
    }),
  );
}
