// Removing a whole store (`lab down`: the lab's own store goes with the lab):
// the file, its .bak and digest, and the daemons' directory once empty,
// under the lock so that no writer is half-way.
import { existsSync, promises as fsp } from 'node:fs';
import { withStoreLock } from './lock.js';
import { backupPath, checkedPath } from './store.js';

/** The store's files that exist now. */
export function storeFiles(storePath: string): string[] {
  return [storePath, backupPath(storePath), checkedPath(storePath)].filter((f) => existsSync(f));
}

/** `check` runs first under the lock: what it throws leaves everything as it is. */
export async function removeStore(storePath: string, check?: () => Promise<void>): Promise<void> {
  await withStoreLock(storePath, async (lease) => {
    await check?.();
    lease.assertHeld();
    for (const f of [storePath, backupPath(storePath), checkedPath(storePath)]) await fsp.rm(f, { force: true });
    // The daemons' directory beside it, once its routers left nothing there
    // (rmdir removes only an empty directory: a file left is kept, and so is the directory).
    for (const d of [`${storePath}.d/routers`, `${storePath}.d`]) await fsp.rmdir(d).catch(() => undefined);
  });
}
