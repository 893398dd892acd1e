import type { Command } from 'commander';
import type { Router } from '../model/types.js';
import { checkCidr, checkIp } from '../model/validate.js';
import { loadState } from '../store/store.js';
import { define, handler, noun } from './define.js';
import { mutate } from './mutate.js';
import { printList } from './output.js';
import { findRouter } from './resolve.js';

export const ROUTE_COLUMNS = ['router_id', 'destination', 'nexthop'];
const rows = (r: Router) => r.routes.map((x) => ({ router_id: r.id, destination: x.destination, nexthop: x.nexthop }));

export function register(program: Command): void {
  const route = noun(program, 'route', { summary: "a router's extra routes", examples: ['l3ctl route list r1'] });

  define(route, 'add <router> <destination> <nexthop>', {
    summary: 'add or replace an extra route (NEXTHOP must lie on one of the router\'s subnets)',
    examples: ['l3ctl route add r1 192.0.2.0/24 198.51.100.254'],
  }).action(
    handler(async (ctx, _o, rref: string, dst: string, nh: string) => {
      const destination = checkCidr('destination', dst);
      const nexthop = checkIp('nexthop', nh);
      await mutate(ctx, (s) => {
        const r = findRouter(s, rref);
        const cur = r.routes.find((x) => x.destination === destination);
        if (cur) cur.nexthop = nexthop;
        else r.routes.push({ destination, nexthop });
        return { routers: [r.id], print: () => ctx.status(`route ${destination} via ${nexthop} on router ${r.name}`) };
      });
    }),
  );

  define(route, 'delete <router> <destination>', { summary: 'delete an extra route', examples: ['l3ctl route delete r1 192.0.2.0/24'] }).action(
    handler(async (ctx, _o, rref: string, dst: string) => {
      const destination = checkCidr('destination', dst);
      await mutate(ctx, (s) => {
        const r = findRouter(s, rref);
        if (!r.routes.some((x) => x.destination === destination)) {
          // Already gone: the effect is in place, so a re-run script succeeds.
          return { routers: [r.id], print: () => ctx.status(`router ${r.name} has no route to ${destination}; nothing to delete`) };
        }
        r.routes = r.routes.filter((x) => x.destination !== destination);
        return { routers: [r.id], print: () => ctx.status(`deleted route ${destination} from router ${r.name}`) };
      });
    }),
  );

  define(route, 'list [router]', { summary: 'list extra routes', examples: ['l3ctl route list r1 -f value'] }).action(
    handler(async (ctx, _o, rref?: string) => {
      const s = await loadState(ctx.storePath);
      const list = rref ? [findRouter(s, rref)] : s.routers;
      await printList(ctx, ROUTE_COLUMNS, list.flatMap(rows));
    }),
  );
}
