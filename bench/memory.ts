// Section 5 — memory: peak RSS of `agent sync` of 200 routers from empty
// (taken during section 6) and of `agent check` on one router as its floating
// IPs grow. Issue 16 names 5,000 FIPs; the documentation ranges this project
// may use hold at most 250 on one external /24, so the check is measured at
// 50, 125 and 250 FIPs and judged on its growth: linear means the RSS added
// per FIP stays the same from one step to the next (a quadratic table would
// multiply it), and the 5,000 figure is that line carried on.
import { l3ctl, l3ctlArgv, peakRss, storeEnv } from './lib/proc.js';
import { withSandbox } from './lib/kernel.js';
import { fmtMs, info, missing, progress, row, type Section } from './lib/report.js';
import { manyFipsShape } from './lib/topology.js';

const STEPS = [50, 125, 250];

export async function benchMemory(syncRss: { mib: number; how: string } | undefined): Promise<Section> {
  const rows = [syncRss ? info('peak RSS of agent sync, 200 routers from empty', `${syncRss.mib.toFixed(0)} MiB`) : missing('peak RSS of agent sync, 200 routers from empty', 'section 6 did not run')];
  const notes: string[] = [];
  const seen: { fips: number; mib: number }[] = [];
  for (const fips of STEPS) {
    await withSandbox(`memory-${fips}`, async (sb) => {
      const s = manyFipsShape(fips, sb.config);
      sb.writeStore(s);
      progress(`memory: building one router with ${fips} FIPs (agent sync)`);
      const build = (await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms;
      progress(`memory: agent check of that router`);
      const p = await peakRss(l3ctlArgv(['agent', 'check', s.routers[0]!.name, '-q']), storeEnv(sb.store));
      seen.push({ fips, mib: p.mib });
      rows.push(info(`peak RSS of agent check, one router with ${fips} FIPs`, `${p.mib.toFixed(1)} MiB`, `the check took ${fmtMs(p.ms)}, the sync that built it ${fmtMs(build)}`));
      if (!notes.length) notes.push(`peak RSS read with ${p.how}`);
    });
  }
  if (seen.length === STEPS.length) {
    const [a, b, c] = seen as [typeof seen[0], typeof seen[0], typeof seen[0]];
    const slope1 = (b.mib - a.mib) / (b.fips - a.fips);
    const slope2 = (c.mib - b.mib) / (c.fips - b.fips);
    // Noise of an RSS reading is about a MiB: small slopes are flat, not growing.
    const ratio = Math.max(slope2, 0.004) / Math.max(slope1, 0.004);
    rows.push(row('growth of the check: MiB per FIP, 125→250 / 50→125', ratio, { op: '<=', limit: 1.5, unit: '×' }, `${ratio.toFixed(2)}× (${(slope2 * 1000).toFixed(1)} / ${(slope1 * 1000).toFixed(1)} MiB per 1000 FIPs)`));
    rows.push(info('agent check at 5,000 FIPs, carried on linearly', `≈ ${(c.mib + Math.max(slope2, 0) * (5000 - c.fips)).toFixed(0)} MiB`));
  }
  return { title: '5. Memory (peak resident set size)', rows, notes };
}
