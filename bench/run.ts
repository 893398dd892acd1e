// `npm run bench [-- options]`: the figures of issue 16 (and issue 17's
// apply figures), one table per section: figure, value, goal, met. Always
// exits 0 — it is a measurement, not a test. Progress goes to stderr, the
// tables to stdout. Kernel sections need root and skip without it.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';
import { cleanupOnSignal, isRoot } from './lib/kernel.js';
import { freshMachineEnv, START_UP_VARIABLES, stopping } from './lib/proc.js';
import { missing, progress, renderSection, type Section } from './lib/report.js';

const USAGE = `usage: npm run bench -- [--neutron] [--parallel] [--only 1,2,…] [--runs N] [--rounds N] [--big-rounds N] [--inherit-env]
  --neutron      also section 4: the Neutron L3 agent side by side (installs python3-neutron if missing; minutes)
  --parallel     also issue 5's 24 parallel fip associate
  --only LIST    only these sections (1 start-up, 2 growth, 3 floor, 4 neutron, 5 memory, 6 scale, 7 apply, 9 HA failover)
  --runs N       start-up: interleaved runs per command (default 30)
  --rounds N     kernel sections: rounds per figure (default 5; twice that for growth, at most 3 for Neutron and apply)
  --big-rounds N rounds of the 200-router scale figures (default 2)
  --inherit-env  keep ${START_UP_VARIABLES.join(' and ')} (by default removed from every measured process, as on a fresh machine)
`;

interface Options {
  neutron: boolean;
  parallel: boolean;
  only: Set<number> | null;
  runs: number;
  rounds: number;
  bigRounds: number;
  inheritEnv: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { neutron: false, parallel: false, only: null, runs: 30, rounds: 5, bigRounds: 2, inheritEnv: false };
  const num = (v: string | undefined, name: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--neutron') o.neutron = true;
    else if (flag === '--parallel') o.parallel = true;
    else if (flag === '--only') o.only = new Set(value()!.split(',').map((x) => num(x, '--only')));
    else if (flag === '--runs') o.runs = num(value(), '--runs');
    else if (flag === '--rounds') o.rounds = num(value(), '--rounds');
    else if (flag === '--big-rounds') o.bigRounds = num(value(), '--big-rounds');
    else if (flag === '--inherit-env') o.inheritEnv = true;
    else if (flag === '-h' || flag === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (o.only?.has(4)) o.neutron = true;
  return o;
}

const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  cleanupOnSignal();
  const want = (n: number) => !o.only || o.only.has(n);
  const root = isRoot();
  const results: Section[] = [];
  const t0 = performance.now();
  const load0 = loadavg()[0]!;
  const removed = o.inheritEnv ? [] : freshMachineEnv();
  const inherited = o.inheritEnv ? START_UP_VARIABLES.filter((v) => process.env[v] !== undefined) : [];
  process.stdout.write(
    `l3ctl benchmark — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} CPUs, Linux ${release()}, node ${process.version}, ` +
      `l3ctl ${sh(process.execPath, [new URL('../../bin/l3ctl', import.meta.url).pathname, '--version'])} (git ${sh('git', ['-C', new URL('../..', import.meta.url).pathname, 'rev-parse', '--short', 'HEAD'])}), load average ${load0.toFixed(2)} at start\n`,
  );
  if (removed.length) process.stdout.write(`(${removed.join(' and ')} removed from the environment of every measured process, as on a fresh machine; --inherit-env keeps them)\n`);
  if (inherited.length) process.stdout.write(`(--inherit-env: ${inherited.join(' and ')} kept: every node start, bare node's too, pays for them)\n`);

  const section = async (n: number, title: string, kernel: boolean, fn: () => Promise<Section>) => {
    if (!want(n) || stopping()) return;
    if (kernel && !root) {
      const s = { title, rows: [missing(title.replace(/^\d+\. /, ''), 'skipped: needs root')], notes: [] };
      results.push(s);
      process.stdout.write(renderSection(s));
      return;
    }
    progress(`section ${title}`);
    let s: Section;
    try {
      s = await fn();
    } catch (err) {
      if (stopping()) {
        // The section's sandbox is gone (withSandbox's finally); nothing else runs.
        process.stderr.write('[bench] interrupted: every namespace of the benchmark removed\n');
        process.exit(130);
      }
      // One broken figure must not hide the others: report it and go on.
      s = { title, rows: [missing(title.replace(/^\d+\. /, ''), `failed: ${(err as Error).message.split('\n')[0]}`)], notes: [] };
    }
    results.push(s);
    process.stdout.write(renderSection(s));
  };

  let syncRss: { mib: number; how: string } | undefined;
  await section(1, '1. Start-up', false, async () => (await import('./startup.js')).benchStartup(o.runs));
  await section(2, '2. Growth', true, async () => (await import('./growth.js')).benchGrowth(2 * o.rounds));
  await section(3, '3. Floor', true, async () => (await import('./floor.js')).benchFloor(o.rounds));
  // Scale before memory: its first 200-router sync gives memory's first figure.
  await section(6, '6. Scale', true, async () => {
    const r = await (await import('./scale.js')).benchScale(o.rounds, o.bigRounds);
    syncRss = r.syncRss;
    return r.section;
  });
  await section(5, '5. Memory', true, async () => (await import('./memory.js')).benchMemory(syncRss));
  await section(7, '7. Declarative apply', true, async () => (await import('./apply.js')).benchApply(Math.min(o.rounds, 3)));
  await section(9, '9. HA failover', true, async () => (await import('./ha.js')).benchHa(Math.min(o.rounds, 3)));
  if (o.parallel) await section(8, 'Extra: parallel fip associate', true, async () => (await import('./parallel.js')).benchParallel(Math.min(o.rounds, 3)));
  if (o.neutron) await section(4, '4. Against Neutron', true, async () => (await import('./neutron.js')).benchNeutron(Math.min(o.rounds, 3)));
  else if (!o.only) process.stdout.write('\n4. Against the Neutron L3 agent: not run (npm run bench -- --neutron)\n');

  if (stopping()) {
    process.stderr.write('[bench] interrupted\n');
    process.exit(130);
  }
  const rows = results.flatMap((s) => s.rows).filter((r) => r.goal);
  const met = rows.filter((r) => r.met === true).length;
  const measured = rows.filter((r) => r.met !== null).length;
  process.stdout.write(`\n${met} of ${measured} measured goals met (${rows.length - measured} not measured); ${((performance.now() - t0) / 1000).toFixed(0)} s, load average ${loadavg()[0]!.toFixed(2)} at the end\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(err instanceof Error && /^unknown option|needs a positive/.test(err.message) ? 2 : 0);
  },
);
