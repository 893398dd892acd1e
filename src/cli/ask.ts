// A missing required argument on a terminal is asked for instead of being a
// usage error: a value of the argument's kind picked from the store (a router,
// only external networks for a gateway, only associated floating IPs to
// disassociate …), anything else typed in. Without a terminal, or with
// --no-input, main leaves it a usage error (exit 2).
import type { State } from '../model/types.js';
import { loadStateSync } from '../store/store.js';
import type { ArgSpec } from './cmdtree-types.js';
import type { Choice, Prompter } from './io.js';

/** What can be picked for a value of `kind`; null: it is typed in. */
function choicesOf(kind: string, s: State): Choice[] | null {
  const [base, narrow] = kind.split(':');
  switch (base) {
    case 'router':
      return s.routers.map((r) => ({ name: r.name, value: r.name, description: r.id }));
    case 'network': {
      const want = narrow === 'external' ? true : narrow === 'internal' ? false : null;
      return s.networks.filter((n) => want === null || n.external === want).map((n) => ({ name: `${n.name} (${n.subnets.map((x) => x.cidr).join(', ')})`, value: n.name, description: n.id }));
    }
    case 'fip':
      return s.floatingips
        .filter((f) => narrow !== 'associated' || f.fixed_ip_address !== null)
        .map((f) => ({ name: `${f.floating_ip_address}${f.fixed_ip_address ? ` -> ${f.fixed_ip_address}` : ''}`, value: f.floating_ip_address }));
  }
  return null;
}

/** The value picked or typed for `arg` of the command at `path`, or null (cancelled, nothing to pick). */
export async function askMissing(arg: ArgSpec, path: string[], storePath: string, prompter: Prompter): Promise<string | null> {
  // A trailing command line (`router exec R CMD…`) is no single value to ask for.
  if (arg.variadic && arg.kind === 'none') return null;
  const s = loadStateSync(storePath);
  const choices = s ? choicesOf(arg.kind, s) : null;
  const message = `l3ctl ${path.join(' ')}: ${arg.name}`;
  if (choices) return choices.length ? prompter.select(message, choices) : null;
  return prompter.input(message);
}
