// "unknown router X": the hint that names another store on this host holding
// X (the lab's, a second store). Light: every command's error path may ask.
import { readRegistrySync } from './registry.js';
import { loadStateSync } from './store.js';
import { labDefaultStore, ROUTER } from '../model/lab.js';

export function otherStoreHint(ref: string): string | null {
  const q = (s: string) => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const holders = (readRegistrySync() ?? []).map((e) => e.path).filter((p) => loadStateSync(p)?.routers.some((r) => r.name === ref || r.id === ref));
  if (holders.length) return `router '${ref}' is in ${holders.length > 1 ? 'stores' : 'store'} ${holders.join(', ')}: l3ctl --store ${q(holders[0]!)} router show ${q(ref)}`;
  if (ref === ROUTER) return `'${ROUTER}' is the lab's router, in the lab's own store: l3ctl --store ${q(labDefaultStore())} router show ${ROUTER}`;
  return null;
}
