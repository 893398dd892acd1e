// Start-up: `l3ctl --version`, `l3ctl --help` and `l3ctl router list` on a
// store of 500 routers, next to bare `node -e 0` (the floor for any Node CLI)
// in the same run. Each command is spawned N times, the commands interleaved
// in a new order every round so that load from elsewhere hits all alike;
// medians are compared. Goals (issue 12): --version <= 1.3x, router list <= 1.6x
// (issue 16 asks 1.5x).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'l3ctl');

export interface StartupRow {
  bench: string;
  median_ms: number;
  min_ms: number;
  runs: number;
  ratio: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time(argv: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

/** A store of `n` routers, each with a gateway, one interface and a floating IP. */
export function bigStore(path: string, n: number): void {
  const ext = randomUUID();
  const networks = [{ id: ext, name: 'ext', cidr: '203.0.112.0/22', gateway_ip: '203.0.112.1', external: true, bridge: null }];
  const routers = [];
  const floatingips = [];
  for (let i = 0; i < n; i++) {
    const net = randomUUID();
    const id = randomUUID();
    networks.push({ id: net, name: `priv${i}`, cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null });
    const mac = (k: number) => `fa:16:3e:0${k}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const port = (network_id: string, ip_address: string, k: number) => ({ id: randomUUID(), network_id, ip_address, mac_address: mac(k), admin_state_up: true });
    routers.push({ id, name: `r${i}`, admin_state_up: true, gateway: port(ext, `203.0.${112 + Math.floor(i / 250)}.${(i % 250) + 2}`, 1), interfaces: [port(net, '198.51.100.1', 2)], routes: [] });
    floatingips.push({ id: randomUUID(), floating_ip_address: `203.0.${114 + Math.floor(i / 250)}.${(i % 250) + 2}`, floating_network_id: ext, fixed_ip_address: '198.51.100.5', router_id: id });
  }
  writeFileSync(path, JSON.stringify({ version: 1, config: {}, networks, routers, floatingips }));
}

export const STARTUP_GOALS: Record<string, number> = { 'l3ctl --version': 1.3, 'l3ctl --help': 1.3, 'l3ctl router list (500 routers)': 1.6 };

export function benchStartup(runs = 40): StartupRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-startup-'));
  try {
    const store = join(dir, 'state.json');
    bigStore(store, 500);
    const env = { ...process.env, L3CTL_STORE: store };
    const cases: [string, string[]][] = [
      ['node -e 0', [process.execPath, '-e', '0']],
      ['l3ctl --version', [process.execPath, BIN, '--version']],
      ['l3ctl --help', [process.execPath, BIN, '--help']],
      ['l3ctl router list (500 routers)', [process.execPath, BIN, 'router', 'list']],
    ];
    const samples = cases.map(() => [] as number[]);
    for (let i = 0; i < 3; i++) cases.forEach(([, argv]) => time(argv, env)); // warm the page cache
    for (let i = 0; i < runs; i++) {
      const order = cases.map((_, j) => j).sort(() => Math.random() - 0.5);
      for (const j of order) samples[j]!.push(time(cases[j]![1], env));
    }
    const base = median(samples[0]!);
    return cases.map(([bench], j) => {
      const ratio = median(samples[j]!) / base;
      const goal = STARTUP_GOALS[bench];
      return {
        bench,
        median_ms: Number(median(samples[j]!).toFixed(1)),
        min_ms: Number(Math.min(...samples[j]!).toFixed(1)),
        runs,
        ratio: j === 0 ? '1.00 (floor)' : `${ratio.toFixed(2)} (goal <= ${goal}: ${ratio <= goal! ? 'met' : 'not met'})`,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(benchStartup(Number(process.argv[2] ?? 40)));
}
