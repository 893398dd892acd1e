// Section 6 — scale: `agent sync` from empty, a converged `agent sync` and
// one `router delete` of all routers, at 16 and at 200 routers of the same
// shape (scaleShape: gateway, two ports, a FIP on every fourth router). The
// time per router must not grow with the number of routers. The first
// 200-router sync from empty also gives section 5 its peak RSS.
import { existsSync } from 'node:fs';
import { l3ctl, l3ctlArgv, median, peakRss, storeEnv } from './lib/proc.js';
import { withSandbox, type Sandbox } from './lib/kernel.js';
import type { State } from '../src/model/types.js';
import { fmtMs, progress, ratioGoal, row, type Section } from './lib/report.js';
import { routerNamespaces, scaleShape } from './lib/topology.js';

interface Times {
  sync: number[];
  converged: number[];
  del: number[];
}

export interface ScaleResult {
  section: Section;
  /** Peak RSS (MiB) of `agent sync` of the largest size from empty, and how it was read. */
  syncRss?: { mib: number; how: string };
}

/** One round at one size in `sb`: sync from empty, converged sync, delete of all. */
async function round(sb: Sandbox, s: State, t: Times, notes: string[], rss: boolean): Promise<{ mib: number; how: string } | undefined> {
  const R = s.routers.length;
  let mem: { mib: number; how: string } | undefined;
  sb.clearKernel();
  sb.writeStore(s);
  if (rss) {
    const p = await peakRss(l3ctlArgv(['agent', 'sync', '-q']), storeEnv(sb.store));
    t.sync.push(p.ms);
    mem = { mib: p.mib, how: p.how };
  } else {
    t.sync.push((await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms);
  }
  t.converged.push((await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms);
  t.del.push((await l3ctl(sb.store, ['router', 'delete', ...s.routers.map((r) => r.name), '--yes', '-q'])).ms);
  const left = routerNamespaces(s).filter((ns) => existsSync(`/run/netns/${ns}`)).length;
  if (left) notes.push(`${left} of ${R} router namespaces were left after router delete`);
  sb.clearKernel();
  return mem;
}

export async function benchScale(rounds: number, bigRounds: number, small = 16, big = 200): Promise<ScaleResult> {
  const notes: string[] = [];
  const a: { t: Times } = { t: { sync: [], converged: [], del: [] } };
  const b: { t: Times; rss?: { mib: number; how: string } } = { t: { sync: [], converged: [], del: [] } };
  // The two sizes alternate, so that a change of load on the shared machine hits both.
  await withSandbox('scale', async (sb) => {
    const ss = scaleShape(small, sb.config);
    const sb2 = scaleShape(big, sb.config);
    for (let i = 0; i < Math.max(rounds, bigRounds); i++) {
      if (i < rounds) {
        progress(`scale: ${small} routers, round ${i + 1}/${rounds}: sync from empty, converged sync, delete`);
        await round(sb, ss, a.t, notes, false);
      }
      if (i < bigRounds) {
        progress(`scale: ${big} routers, round ${i + 1}/${bigRounds}: sync from empty, converged sync, delete`);
        const mem = await round(sb, sb2, b.t, notes, i === 0);
        if (mem) b.rss = mem;
      }
    }
  });
  const per = (xs: number[], n: number) => median(xs) / n;
  const r = (what: string, k: keyof Times) => {
    const pa = per(a.t[k], small);
    const pb = per(b.t[k], big);
    return row(`${what}: per router at ${big} / at ${small}`, pb / pa, ratioGoal('<=', 1), `${(pb / pa).toFixed(2)}× (${pb.toFixed(1)} / ${pa.toFixed(1)} ms per router; ${fmtMs(median(b.t[k]))} / ${fmtMs(median(a.t[k]))} in all)`);
  };
  // The per-router figure at 16 carries the fixed cost of a process (start, store, host namespace);
  // the cost of each added router shows whether the part that grows is linear.
  for (const [what, k] of [['sync from empty', 'sync'], ['converged sync', 'converged'], ['router delete', 'del']] as const) {
    notes.push(`${what}: each router beyond ${small} added ${((median(b.t[k]) - median(a.t[k])) / (big - small)).toFixed(1)} ms`);
  }
  return {
    section: {
      title: `6. Scale: ${small} and ${big} routers, gateway + 2 ports + a FIP on every 4th (median of ${rounds} / ${bigRounds} rounds)`,
      rows: [r('agent sync from empty', 'sync'), r('converged agent sync', 'converged'), r(`router delete of all`, 'del')],
      notes,
    },
    syncRss: b.rss,
  };
}
