// What a store lock's owner file says of a process (src/store/lock.ts):
// for tests that make a lock by hand, held by a process that lives.
import { readFileSync, readlinkSync } from 'node:fs';

/** boot id, pid namespace and start time of PID, as an l3ctl holding the lock records them. */
export function ownerFields(pid: number | 'self' = 'self') {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return {
    boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    pidns: readlinkSync(`/proc/${pid}/ns/pid`),
    start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19],
  };
}

/** The owner file of a lock held by PID (default: this process). */
export const ownerFile = (pid: number = process.pid) => JSON.stringify({ pid, token: 'held-by-a-test', ...ownerFields(pid) }) + '\n';
