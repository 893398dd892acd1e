// A tab press must feel instant: `l3ctl __complete router show ''` against a
// store of 50 routers, next to bare `node -e 0` (the floor for any Node CLI).
// hyperfine is not available: spawn each N times, interleaved so that load
// from elsewhere hits both alike, and compare medians. Goal: ratio <= 1.3.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'l3ctl');
export const COMPLETE_GOAL = 1.3;

export interface CompleteRow {
  bench: string;
  median_ms: number;
  min_ms: number;
  runs: number;
  ratio: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time(argv: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

export function benchComplete(runs = 40): CompleteRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-complete-'));
  try {
    const store = join(dir, 'state.json');
    const routers = Array.from({ length: 50 }, (_, i) => ({ id: randomUUID(), name: `r${i}`, admin_state_up: true, gateway: null, interfaces: [], routes: [] }));
    writeFileSync(store, JSON.stringify({ version: 1, config: {}, networks: [], routers, floatingips: [] }));
    const env = { ...process.env, L3CTL_STORE: store };
    const out = spawnSync(process.execPath, [BIN, '__complete', 'router', 'show', ''], { env, encoding: 'utf8' }).stdout;
    if (out.split('\n').filter(Boolean).length !== 50) throw new Error(`__complete did not list the 50 routers: ${out}`);
    const cases: [string, string[]][] = [
      ['node -e 0', [process.execPath, '-e', '0']],
      ["l3ctl __complete router show ''", [process.execPath, BIN, '__complete', 'router', 'show', '']],
      ["l3ctl __complete ''", [process.execPath, BIN, '__complete', '']],
    ];
    const samples = cases.map(() => [] as number[]);
    for (let i = 0; i < 3; i++) cases.forEach(([, argv]) => time(argv, env)); // warm the page cache
    for (let i = 0; i < runs; i++) cases.forEach(([, argv], j) => samples[j]!.push(time(argv, env)));
    const base = median(samples[0]!);
    return cases.map(([bench], j) => ({
      bench,
      median_ms: Number(median(samples[j]!).toFixed(1)),
      min_ms: Number(Math.min(...samples[j]!).toFixed(1)),
      runs,
      ratio: j === 0 ? '1.00 (floor)' : `${(median(samples[j]!) / base).toFixed(2)} (goal <= ${COMPLETE_GOAL})`,
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(benchComplete(Number(process.argv[2] ?? 40)));
}
