// Extra (issue 5, `--parallel`): 24 `fip associate` processes started at
// once (serialising on the store lock) against the same 24 one after the
// other, on one router in a sandbox of its own.
import { existsSync, readFileSync } from 'node:fs';
import { l3ctl, median } from './lib/proc.js';
import { withSandbox } from './lib/kernel.js';
import { fmtMs, info, progress, ratioRow, type Section } from './lib/report.js';
import { manyFipsShape } from './lib/topology.js';

const N = 24;
const associate = (i: number) => ['fip', 'associate', `203.0.113.${100 + i}`, `198.51.100.${100 + i}`, '--router', 'r0', '-q'];

export async function benchParallel(rounds: number): Promise<Section> {
  const t = { parallel: [] as number[], sequential: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    for (const parallel of [false, true]) {
      progress(`parallel: round ${i + 1}/${rounds}: ${N} fip associate ${parallel ? 'at once' : 'one after the other'}`);
      await withSandbox('parallel', async (sb) => {
        sb.writeStore(manyFipsShape(0, sb.config));
        await l3ctl(sb.store, ['agent', 'sync', '-q']);
        const t0 = performance.now();
        if (parallel) await Promise.all(Array.from({ length: N }, (_, k) => l3ctl(sb.store, associate(k))));
        else for (let k = 0; k < N; k++) await l3ctl(sb.store, associate(k));
        (parallel ? t.parallel : t.sequential).push(performance.now() - t0);
        const fips = (JSON.parse(readFileSync(sb.store, 'utf8')) as { floatingips: unknown[] }).floatingips.length;
        if (fips !== N || !existsSync(sb.store)) throw new Error(`expected ${N} floating IPs in the store, found ${fips}`);
      });
    }
  }
  return {
    title: `Extra (issue 5): ${N} fip associate on one router (median of ${rounds} rounds)`,
    rows: [
      info(`${N} one after the other`, `${fmtMs(median(t.sequential))} (${fmtMs(median(t.sequential) / N)} each)`),
      info(`${N} started at once`, `${fmtMs(median(t.parallel))} (${fmtMs(median(t.parallel) / N)} each)`),
      ratioRow('at once / one after the other', median(t.parallel), median(t.sequential), null),
    ],
    notes: [],
  };
}
