// Two arguments given the wrong way round (`gateway set ext r1`, `fip
// associate FIXED FIP`, `route add R NEXTHOP DEST`): when a verb refused its
// arguments and the other order would make sense, the error gets a hint with
// the command line the operator meant. Loaded only after such an error.
import { contains, isIPv4, parseCidr } from '../model/addr.js';
import type { State } from '../model/types.js';
import { loadStateSync } from '../store/store.js';

type Values = Record<string, unknown>;

const byRef = <T extends { id: string; name: string }>(list: T[], ref: unknown): T | undefined => {
  if (typeof ref !== 'string' || !ref) return undefined;
  const low = ref.toLowerCase();
  return list.find((x) => x.name === ref || x.id === low) ?? (ref.length >= 4 ? list.find((x) => x.id.startsWith(low)) : undefined);
};

const isNetwork = (s: State, ref: unknown, external: boolean) => byRef(s.networks, ref)?.external === external;
const isRouter = (s: State, ref: unknown) => byRef(s.routers, ref) !== undefined;
/** On an external network's subnet, or an allocated floating IP. */
const isFloating = (s: State, ip: unknown) =>
  typeof ip === 'string' && (s.floatingips.some((f) => f.floating_ip_address === ip) || (isIPv4(ip) && s.networks.some((n) => n.external && n.subnets.some((sn) => contains(sn.cidr, ip)))));
/** On an internal subnet some router is plugged into. */
const isFixed = (s: State, ip: unknown) =>
  typeof ip === 'string' && isIPv4(ip) && s.routers.some((r) => r.interfaces.some((p) => { const n = s.networks.find((x) => x.id === p.network_id); return !!n && n.subnets.some((sn) => contains(sn.cidr, ip)); }));

/** Per verb: the two arguments people swap, and whether the other order makes sense. */
const SWAPS: Record<string, [string, string, (s: State, v: Values) => boolean]> = {
  'gateway set': ['router', 'network', (s, v) => !isRouter(s, v.router) && isNetwork(s, v.router, true) && isRouter(s, v.network)],
  'interface add': ['router', 'network', (s, v) => !isRouter(s, v.router) && isNetwork(s, v.router, false) && isRouter(s, v.network)],
  'interface remove': ['router', 'networkOrPort', (s, v) => !isRouter(s, v.router) && isNetwork(s, v.router, false) && isRouter(s, v.networkOrPort)],
  'fip associate': ['fip', 'fixedIp', (s, v) => !isFloating(s, v.fip) && isFixed(s, v.fip) && isFloating(s, v.fixedIp)],
  'route add': ['destination', 'nexthop', (_s, v) => typeof v.destination === 'string' && isIPv4(v.destination) && typeof v.nexthop === 'string' && v.nexthop.includes('/') && parseCidr(v.nexthop) !== null],
};

const quoted = (w: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/**
 * `did you mean \`l3ctl gateway set r1 ext\`?` when the verb at `path` was
 * given two arguments the wrong way round; `args`: the words after `l3ctl`.
 */
export function swapHint(path: string[], values: Values, args: string[], storePath: string): string | undefined {
  const swap = SWAPS[path.join(' ')];
  if (!swap) return undefined;
  const [a, b, makesSense] = swap;
  const s = loadStateSync(storePath);
  if (!s || !makesSense(s, values)) return undefined;
  const [va, vb] = [values[a], values[b]];
  if (typeof va !== 'string' || typeof vb !== 'string' || va === vb) return undefined;
  // The two words after the command's own, exchanged where they stand.
  const from = args.indexOf(path[path.length - 1]!) + 1;
  const i = args.indexOf(va, from);
  const j = args.indexOf(vb, from);
  if (from <= 0 || i < 0 || j < 0) return undefined;
  const fixed = [...args];
  [fixed[i], fixed[j]] = [vb, va];
  return `did you mean \`l3ctl ${fixed.map(quoted).join(' ')}\`?`;
}
