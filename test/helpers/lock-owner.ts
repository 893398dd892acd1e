// Store locks made by hand for tests (src/store/lock.ts): the owner file of a
// process as an l3ctl holding the lock records it, and the lock directory.
import { mkdirSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { lockDirPath, lockOwnerPath } from '../../src/store/lock.js';

/** boot id, pid namespace and start time of PID, as an l3ctl holding the lock records them. */
export function ownerFields(pid: number | 'self' = 'self') {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return {
    boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    pidns: readlinkSync(`/proc/${pid}/ns/pid`),
    start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19],
  };
}

/** The owner of a lock held by PID (default: this process, which lives as long as the test). */
export const liveOwner = (pid: number = process.pid) => ({ pid, token: 'held-by-a-test', ...ownerFields(pid) });

/** The store's lock dir: `owner` as given (null: an empty dir), its mtime ageMs in the past. */
export function fakeLock(store: string, owner: object | null, ageMs = 0): void {
  mkdirSync(lockDirPath(store));
  if (owner) writeFileSync(lockOwnerPath(store), JSON.stringify(owner));
  const t = new Date(Date.now() - ageMs);
  utimesSync(lockDirPath(store), t, t);
}
