// `npm run bench`: every benchmark, one table each. The kernel benchmark
// benchmarks (apply.ts, parallel.ts) need root and the kernel tools; it is left out otherwise.
import { benchComplete } from './complete.js';
import { benchStartup } from './startup.js';

function table(title: string, rows: Record<string, unknown>[]): void {
  const cols = Object.keys(rows[0] ?? {});
  const cells = [cols, ...rows.map((r) => cols.map((c) => String(r[c])))];
  const w = cols.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((v, i) => (typeof rows[0]![cols[i]!] === 'number' ? v.padStart(w[i]!) : v.padEnd(w[i]!))).join('  ').trimEnd();
  process.stdout.write(`\n${title}\n${line(cols)}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n${cells.slice(1).map(line).join('\n')}\n`);
}

const runs = Number(process.env.BENCH_RUNS ?? 40);
table('Start-up against bare node (median of interleaved runs)', benchStartup(runs) as unknown as Record<string, unknown>[]);
table('Tab completion (median of interleaved runs)', benchComplete(runs) as unknown as Record<string, unknown>[]);

if (process.getuid?.() === 0) {
  const { benchApply } = await import('./apply.js');
  table('Operator commands on a real kernel', benchApply(Number(process.env.BENCH_ROUNDS ?? 5)) as unknown as Record<string, unknown>[]);
  const { benchParallel } = await import('./parallel.js');
  table('24 fip associate: in parallel vs one after the other', (await benchParallel()) as unknown as Record<string, unknown>[]);
  const { benchDaemons } = await import('./daemons.js');
  table('Per-router daemons through daemon.ts (haproxy, radvd)', (await benchDaemons(Number(process.env.BENCH_ROUNDS ?? 10))) as unknown as Record<string, unknown>[]);
  const { benchMetadata } = await import('./metadata.js');
  const md = benchMetadata(Number(process.env.BENCH_ROUNDS ?? 5));
  table(`The metadata proxy per router, through the CLI (haproxy RSS ${md.rssKb} kB)`, md.rows as unknown as Record<string, unknown>[]);
} else {
  process.stdout.write('\n(kernel benchmark skipped: needs root)\n');
}
