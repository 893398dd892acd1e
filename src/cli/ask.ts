// A missing required argument on a terminal is asked for instead of being a
// usage error: a value of the argument's kind picked from the store, offering
// only what makes sense where it is asked (a network the router is not on
// yet, an external one other than its gateway's, only associated floating
// IPs to disassociate, the router's own routes to delete …); a new value may
// be typed where the command accepts one (a new floating IP address).
// Without a terminal, or with --no-input, main leaves it a usage error (exit 2).
import { subnetOfVersion } from '../model/subnets.js';
import type { Router, State } from '../model/types.js';
import { loadStateSync } from '../store/store.js';
import type { ArgSpec } from './cmdtree-types.js';
import type { Choice, Prompter } from './io.js';

/** The choice that asks for a value typed in instead. */
const TYPE_NEW = '\u0000new';

/** What the command line already says: the arguments before the missing one, by name. */
export type Given = Record<string, string>;

function routerOf(s: State, ref: string | undefined): Router | undefined {
  if (!ref) return undefined;
  return s.routers.find((r) => r.name === ref || r.id === ref.toLowerCase()) ?? (ref.length >= 4 ? s.routers.find((r) => r.id.startsWith(ref.toLowerCase())) : undefined);
}

const inUse = (s: State, networkId: string) =>
  s.routers.some((r) => r.gateway?.network_id === networkId || r.interfaces.some((p) => p.network_id === networkId)) || s.floatingips.some((f) => f.floating_network_id === networkId);

/** What can be picked for a value of `kind` for the command at `path`; null: it is typed in. */
async function choicesOf(kind: string, s: State, path: string[], given: Given): Promise<Choice[] | null> {
  const [base, narrow] = kind.split(':');
  const verb = path.join(' ');
  const router = routerOf(s, given.router);
  const netChoice = (n: State['networks'][number]) => ({ name: `${n.name} (${n.subnets.map((x) => x.cidr).join(', ')}${n.external ? ', external' : ''})`, value: n.name, description: n.id });
  switch (base) {
    case 'router': {
      // Only routers the verb would change.
      const rs =
        verb === 'router enable' ? s.routers.filter((r) => !r.admin_state_up)
        : verb === 'router disable' ? s.routers.filter((r) => r.admin_state_up)
        : verb === 'router standby' ? s.routers.filter((r) => r.ha)
        : s.routers;
      return rs.map((r) => ({ name: r.name, value: r.name, description: r.id }));
    }
    case 'network': {
      const want = narrow === 'external' ? true : narrow === 'internal' ? false : null;
      // The HA network is keepalived's (config ha_network): never a router's interface, and not deleted under HA routers.
      const haRef = s.config.ha_network;
      const haNet = haRef ? s.networks.find((n) => n.id === haRef) ?? s.networks.find((n) => n.name === haRef) : undefined;
      let nets = s.networks.filter((n) => (want === null || n.external === want) && !(n === haNet && (verb === 'interface add' || (verb === 'network delete' && s.routers.some((r) => r.ha)))));
      if (router && verb === 'interface add') {
        // Not one it is on, nor one overlapping its subnets (refused anyway).
        const { overlaps } = await import('../model/addr.js');
        const mine = router.interfaces.map((p) => s.networks.find((n) => n.id === p.network_id)).filter((n) => n !== undefined);
        nets = nets.filter((n) => !mine.some((m) => m.id === n.id || m.subnets.some((a) => n.subnets.some((b) => overlaps(a.cidr, b.cidr)))));
      }
      if (verb === 'network delete') nets = nets.filter((n) => !inUse(s, n.id));
      const choices = nets.map(netChoice);
      // Its gateway's network stays on offer (a new --ip on it), last and said so.
      const current = router && verb === 'gateway set' ? router.gateway?.network_id : undefined;
      return [...choices.filter((c) => c.description !== current), ...choices.filter((c) => c.description === current).map((c) => ({ ...c, name: `${c.name}: its gateway now` }))];
    }
    case 'port': {
      if (!router) return null;
      return router.interfaces.map((p) => {
        const n = s.networks.find((x) => x.id === p.network_id);
        return { name: `${n?.name ?? p.network_id} (${p.fixed_ips.map((f) => f.ip_address).join(', ')})`, value: n?.name ?? p.id, description: p.id };
      });
    }
    case 'route':
      return router ? router.routes.map((r) => ({ name: `${r.destination} via ${r.nexthop}`, value: r.destination })) : null;
    case 'fip': {
      const fips = s.floatingips.filter((f) => narrow !== 'associated' || f.fixed_ip_address !== null);
      const shown = fips.map((f) => ({ name: `${f.floating_ip_address}${f.fixed_ip_address ? ` -> ${f.fixed_ip_address}` : ' (not associated)'}`, value: f.floating_ip_address }));
      // associate allocates the address it is given: free ones first, then a new one.
      if (verb === 'fip associate') return [...shown.filter((c) => c.name.endsWith('(not associated)')), { name: 'a new floating IP…', value: TYPE_NEW }, ...shown.filter((c) => !c.name.endsWith('(not associated)'))];
      return shown;
    }
    case 'config-key': {
      const { CONFIG_KEYS } = await import('../model/config.js');
      return CONFIG_KEYS.map((k) => ({ name: k.name, value: k.name, description: k.help }));
    }
  }
  return null;
}

/** The first free address of the only external network, to offer as the new floating IP. */
async function firstFreeFip(s: State): Promise<string | undefined> {
  const ext = s.networks.filter((n) => n.external);
  if (ext.length !== 1) return undefined;
  const [{ firstFree }, { usedAddresses }] = await Promise.all([import('../model/addr.js'), import('./gateway.js')]);
  const v4 = subnetOfVersion(ext[0]!, 4);
  return v4 ? firstFree(v4.cidr, usedAddresses(s, ext[0]!.id)) ?? undefined : undefined;
}

/** The value picked or typed for `arg` of the command at `path`, or null (nothing to pick, input closed). Ctrl-C throws. */
export async function askMissing(arg: ArgSpec, path: string[], storePath: string, prompter: Prompter, given: Given = {}): Promise<string | null> {
  // A trailing command line (`router exec R CMD…`) is no single value to ask for.
  if (arg.rest || (arg.variadic && arg.kind === 'none')) return null;
  const s = loadStateSync(storePath);
  const choices = s ? await choicesOf(arg.kind, s, path, given) : null;
  const message = `l3ctl ${path.join(' ')}: ${arg.name}`;
  if (!choices) return prompter.input(message);
  if (!choices.length) return null;
  const picked = await prompter.select(message, choices);
  if (picked !== TYPE_NEW) return picked;
  const free = s ? await firstFreeFip(s) : undefined;
  return prompter.input(`${message}: the new address`, free ? { default: free } : undefined);
}
