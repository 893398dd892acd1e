// Putting the kernel back after a test or a benchmark: a deleted namespace
// lives on while a process holds it, so its processes are ended first, by
// pid; and the daemons l3ctl started for a store (haproxy, radvd,
// keepalived), found by the pid files beside it, are ended before the store
// goes (a namespace deleted by hand leaves them in a namespace nobody can name).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false; // gone meanwhile
  }
};

/** Deletes namespaces of the caller's own, ending every process still in one first. */
export function deleteNamespaces(names: Iterable<string>): void {
  for (const ns of names) {
    if (!existsSync(`/run/netns/${ns}`)) continue;
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split('\n').filter((l) => /^\d+$/.test(l))) kill(Number(pid));
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** SIGKILLs every live process a pid file of STOREPATH names whose command line names that store's files; returns their pids. */
export function killStoreDaemons(storePath: string): number[] {
  const root = `${storePath}.d/routers`;
  if (!existsSync(root)) return [];
  const killed: number[] = [];
  for (const router of readdirSync(root)) {
    const dir = join(root, router);
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.pid'));
    } catch {
      continue;
    }
    for (const f of files) {
      const pid = Number(readFileSync(join(dir, f), 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 1) continue;
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // exited
      }
      // Ours only: a recycled pid belongs to someone else.
      if (!cmdline.includes(`${storePath}.d/`)) continue;
      if (kill(pid)) killed.push(pid);
    }
  }
  return killed;
}
