// Removing a whole store (`lab down`: the lab's own store goes with the lab):
// the file and its .bak, under the lock so that no writer is half-way.
import { existsSync, promises as fsp } from 'node:fs';
import { withStoreLock } from './lock.js';
import { backupPath, checkedPath } from './store.js';

/** The store's files that exist now. */
export function storeFiles(storePath: string): string[] {
  return [storePath, backupPath(storePath), checkedPath(storePath)].filter((f) => existsSync(f));
}

export async function removeStore(storePath: string): Promise<void> {
  await withStoreLock(storePath, async (lease) => {
    lease.assertHeld();
    for (const f of [storePath, backupPath(storePath), checkedPath(storePath)]) await fsp.rm(f, { force: true });
  });
}
