// Section 5 — memory: peak RSS of `agent sync` of 200 routers from empty
// (taken during section 6) and of `agent check` on one router holding 5,000
// floating IPs (built first by `agent sync`; 5,000 addresses need the
// benchmarking range 198.18.0.0/15, see lib/topology.ts).
import { l3ctl, l3ctlArgv, peakRss, storeEnv } from './lib/proc.js';
import { withSandbox } from './lib/kernel.js';
import { fmtMs, info, missing, progress, type Section } from './lib/report.js';
import { manyFipsShape } from './lib/topology.js';

export async function benchMemory(syncRss: { mib: number; how: string } | undefined, fips = 5000): Promise<Section> {
  const rows = [syncRss ? info('peak RSS of agent sync, 200 routers from empty', `${syncRss.mib.toFixed(0)} MiB`) : missing('peak RSS of agent sync, 200 routers from empty', 'section 6 did not run')];
  const notes: string[] = [];
  await withSandbox('memory', async (sb) => {
    const s = manyFipsShape(fips, sb.config);
    sb.writeStore(s);
    progress(`memory: building one router with ${fips} FIPs (agent sync)`);
    const build = (await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms;
    progress(`memory: agent check of that router`);
    const p = await peakRss(l3ctlArgv(['agent', 'check', s.routers[0]!.name, '-q']), storeEnv(sb.store));
    rows.push(info(`peak RSS of agent check, one router with ${fips} FIPs`, `${p.mib.toFixed(0)} MiB`, `the check took ${fmtMs(p.ms)}, the sync that built it ${fmtMs(build)}`));
    notes.push(`peak RSS read with ${p.how}`);
  });
  return { title: '5. Memory (peak resident set size)', rows, notes };
}
