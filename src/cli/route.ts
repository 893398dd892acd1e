// `route add | delete | list`: a router's extra routes.
import type { Router } from '../model/types.js';
import { checkCidr, checkIp } from '../model/validate.js';
import { loadState } from '../store/store.js';
import { ROUTE_COLUMNS } from './columns.js';
import type { IO } from './io.js';
import { mutate } from './mutate.js';
import { printList, printObject } from './output.js';
import { findRouter } from './resolve.js';
import { routeView } from './views.js';

const rows = (r: Router) => r.routes.map((x) => ({ router_id: r.id, destination: x.destination, nexthop: x.nexthop }));

export async function routeAdd(o: { router: string; destination: string; nexthop: string }, io: IO): Promise<void> {
  const destination = checkCidr('destination', o.destination);
  const nexthop = checkIp('nexthop', o.nexthop);
  const done = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    const cur = r.routes.find((x) => x.destination === destination);
    if (cur) cur.nexthop = nexthop;
    else r.routes.push({ destination, nexthop });
    return { routers: [r.id], value: r };
  });
  if (!done) return;
  io.status(`route ${destination} via ${nexthop} on router ${done.name}`);
  // The route as `route list` shows it, as every other add prints its object.
  await printObject(io, ROUTE_COLUMNS, { router_id: done.id, destination, nexthop });
}

export async function routeDelete(o: { router: string; destination: string }, io: IO): Promise<void> {
  const destination = checkCidr('destination', o.destination);
  const said = await mutate(io, (s) => {
    const r = findRouter(s, o.router);
    if (!r.routes.some((x) => x.destination === destination)) {
      // Already gone: the effect is in place, so a re-run script succeeds.
      return { routers: [r.id], value: `router ${r.name} has no route to ${destination}; nothing to delete` };
    }
    r.routes = r.routes.filter((x) => x.destination !== destination);
    return { routers: [r.id], value: `deleted route ${destination} from router ${r.name}` };
  });
  if (said) io.status(said);
}

export async function routeList(o: { router?: string; long?: boolean }, io: IO): Promise<void> {
  const s = await loadState(io.storePath);
  const list = o.router ? [findRouter(s, o.router)] : s.routers;
  await printList(io, ROUTE_COLUMNS, list.flatMap(rows), { view: routeView(s), long: o.long });
}
