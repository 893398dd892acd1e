// The daemons l3ctl started for a store (haproxy, radvd, keepalived), found
// by the pid files beside it (<store>.d/routers/<id>/*.pid). A test or a
// benchmark that deletes a router namespace by its own hand, or a store
// directory without asking l3ctl first, would otherwise leave them running
// in a namespace nobody can name any more.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // gone meanwhile
      }
    }
  }
  return killed;
}
