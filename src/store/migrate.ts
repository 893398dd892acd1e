// Stores written by an older l3ctl, brought up to STATE_VERSION on load, one
// version at a time, before the shape is checked. In memory only: the file
// is rewritten in the new version by the next command that saves (its .bak
// then keeps the old one). Each step is small and on its own, so a later
// version adds one step and touches none of the others.
//
// Imports nothing at run time: tab completion migrates too (loadStateSync).
import { STATE_VERSION } from '../model/types.js';

type Obj = Record<string, unknown>;

export interface Migration {
  from: number;
  to: number;
  /** What the step changes, for people reading the code or a failing test. */
  what: string;
  /** Rewrites DATA (a store of version `from`, its shape not yet checked) in place. */
  up(data: Obj): void;
}

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Adds KEY with VALUE where it is missing (a field already there is left for the checks to judge). */
const add = (o: unknown, key: string, value: unknown) => {
  if (isObj(o) && !(key in o)) o[key] = value;
};

export const MIGRATIONS: readonly Migration[] = [
  {
    from: 1,
    to: 2,
    what: 'routers gain ha (false) and ha_vr_id (null): HA routers on keepalived VRRP (issue 20)',
    up(data) {
      if (!Array.isArray(data.routers)) return;
      for (const r of data.routers) {
        add(r, 'ha', false);
        add(r, 'ha_vr_id', null);
      }
    },
  },
];

/**
 * DATA brought up to STATE_VERSION when it is a store of an older, known
 * version; anything else (another shape, a newer or unknown version) is
 * returned as it is, for the schema to report.
 */
export function migrate(data: unknown): unknown {
  if (!isObj(data) || typeof data.version !== 'number' || !Number.isInteger(data.version)) return data;
  let v = data.version;
  if (v >= STATE_VERSION || v < 1) return data;
  const out = structuredClone(data);
  while (v < STATE_VERSION) {
    const step = MIGRATIONS.find((m) => m.from === v);
    if (!step) return data;
    step.up(out);
    v = step.to;
    out.version = v;
  }
  return out;
}
