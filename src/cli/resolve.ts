// NAME, full id, or an unambiguous id prefix of at least 4 characters.
import { CONFIG_KEY_NAMES, configKey, type ConfigKey } from '../model/config.js';
import { UsageError } from '../model/errors.js';
import type { FloatingIp, Network, Port, Router, State } from '../model/types.js';
import { closest } from './similar.js';
import { otherStoreHint } from '../store/elsewhere.js';

// As model/validate's shown(): a value on one line, control characters escaped.
// Not imported from there, so that reading commands do not load the address math.
const shown = (s: string) => JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"');

function byRef<T extends { id: string; name: string }>(kind: string, list: T[], ref: string, elsewhere?: (ref: string) => string | null): T {
  const named = list.find((x) => x.name === ref);
  const byId = list.find((x) => x.id === ref.toLowerCase());
  // Only a store made before names and ids were kept apart can hold both.
  if (named && byId && named !== byId) {
    throw new UsageError(`${kind} '${shown(ref)}' is ambiguous: it is the name of ${kind} ${named.id} and the id of ${kind} '${byId.name}'`, `give ${named.id} for the first, '${byId.name}' for the second`);
  }
  const exact = named ?? byId;
  if (exact) return exact;
  if (ref.length >= 4 && /^[0-9a-f-]+$/i.test(ref)) {
    const hits = list.filter((x) => x.id.startsWith(ref.toLowerCase()));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw new UsageError(`${kind} id prefix '${ref}' is ambiguous: it matches ${hits.map((h) => h.name).join(', ')}`, 'give more characters of the id, or the name');
  }
  const near = closest(ref, list.map((x) => x.name));
  const short = ref.length < 4 && /^[0-9a-f-]+$/i.test(ref) && list.some((x) => x.id.startsWith(ref.toLowerCase()));
  const here = short ? `an id prefix needs at least 4 characters`
    : near ? `did you mean '${near}'?` : list.length ? `${kind}s: ${list.map((x) => x.name).join(', ')}` : `no ${kind}s yet: l3ctl ${kind} add NAME …`;
  const other = elsewhere?.(ref);
  throw new UsageError(`unknown ${kind} '${shown(ref)}': expected the name, id or id prefix of an existing ${kind}`, other ? `${other}\n${here}` : here);
}

// Another store on this host may have it (the lab's lab-r1): the hint says which.
export const findRouter = (s: State, ref: string): Router => byRef('router', s.routers, ref, otherStoreHint);
export const findNetwork = (s: State, ref: string): Network => byRef('network', s.networks, ref);

export function findFip(s: State, ref: string): FloatingIp {
  const hit = s.floatingips.find((f) => f.floating_ip_address === ref || f.id === ref.toLowerCase());
  if (hit) return hit;
  if (ref.length >= 4 && /^[0-9a-f-]+$/i.test(ref)) {
    const hits = s.floatingips.filter((f) => f.id.startsWith(ref.toLowerCase()));
    if (hits.length === 1) return hits[0]!;
  }
  const addrs = s.floatingips.map((f) => f.floating_ip_address);
  const near = closest(ref, addrs);
  throw new UsageError(
    `unknown floating IP '${shown(ref)}': expected the address or id of an allocated floating IP`,
    near ? `did you mean '${near}'?` : addrs.length ? `floating IPs: ${addrs.join(', ')}` : 'none allocated yet: l3ctl fip add [IP]',
  );
}

/** An interface of the router given by network (name/id) or port id (prefix). */
export function findPort(s: State, router: Router, ref: string): Port {
  const byPort = router.interfaces.filter((p) => p.id === ref.toLowerCase() || (ref.length >= 4 && p.id.startsWith(ref.toLowerCase())));
  if (byPort.length === 1) return byPort[0]!;
  const net = s.networks.find((n) => n.name === ref || n.id === ref.toLowerCase());
  const onNet = net ? router.interfaces.find((p) => p.network_id === net.id) : undefined;
  if (onNet) return onNet;
  const names = router.interfaces.map((p) => s.networks.find((n) => n.id === p.network_id)?.name ?? p.id);
  const near = closest(ref, names);
  throw new UsageError(
    `router '${router.name}' has no interface on '${shown(ref)}': expected one of its networks or a port id`,
    near ? `did you mean '${near}'?` : names.length ? `its interfaces: ${names.join(', ')}` : `router '${router.name}' has no interfaces`,
  );
}

/** A config key by name; an unknown one names the closest key. */
export function findConfigKey(name: string): ConfigKey {
  if (!CONFIG_KEY_NAMES.includes(name)) {
    const near = closest(name, CONFIG_KEY_NAMES);
    throw new UsageError(`unknown config key '${shown(name)}'`, near ? `did you mean '${near}'?` : `valid keys: ${CONFIG_KEY_NAMES.join(', ')}`);
  }
  return configKey(name);
}
