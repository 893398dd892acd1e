// Which store the lab uses, and how it goes. The lab deletes its store on
// `lab down`, so it only ever works in a store it made: its own default path,
// or `--store` given on the command line; never the operator's L3CTL_STORE.
import { existsSync } from 'node:fs';
import { UsageError } from '../model/errors.js';
import { removeStore } from '../store/remove.js';
import { readRegistrySync, unregisterStores } from '../store/registry.js';
import { loadState, loadStateSync } from '../store/store.js';
import { foreignContent, LAB_STORE_PATH, ROUTER, type LabNames } from './topology.js';

export interface LabStore {
  path: string;
  /** Given with --store (commands printed for the operator then carry it). */
  explicit: boolean;
  /** Said once on stderr: the operator's L3CTL_STORE is not the lab's. */
  note?: string;
}

import { labDefaultStore } from '../model/lab.js';
export { labDefaultStore };

/** --store from the command line, else the lab's default; L3CTL_STORE is never used. */
export function chooseLabStore(option: string | undefined, env: NodeJS.ProcessEnv = process.env): LabStore {
  if (option) return { path: option, explicit: true };
  const path = labDefaultStore(env);
  const note = env.L3CTL_STORE ? `L3CTL_STORE (${env.L3CTL_STORE}) is not used by the lab; its store is ${path} (l3ctl lab --store PATH … chooses another)` : undefined;
  return { path, explicit: false, ...(note ? { note } : {}) };
}

/**
 * Remove the lab's store, its .bak, digest and daemons' directory (once
 * empty), then its registry entry. Looked at
 * again under the store's lock: a store that meanwhile holds anything but the
 * lab is refused (exit 2) and left as it is.
 */
export async function removeLabStore(storePath: string, names: LabNames, warn: (t: string) => void): Promise<void> {
  await removeStore(storePath, async () => {
    if (!existsSync(storePath)) return;
    const why = foreignContent(await loadState(storePath), names);
    if (why) throw new UsageError(`lab down: store ${storePath} was not removed: ${why}`, 'remove those objects with the ordinary commands, or remove the file by hand');
  });
  try {
    await unregisterStores([storePath]);
  } catch (err) {
    warn(`store ${storePath} is still in the store registry (${(err as Error).message}); agent cleanup drops it once it sees the file is gone`);
  }
}

/**
 * For "unknown router" on a store: the registered stores that have a router
 * of that name, else (for the lab's router) the lab's default store. Reads
 * only, never throws; null when there is nothing to say.
 */
