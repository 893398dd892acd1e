// Time of 24 `fip associate` started at once (24 l3ctl processes serialising
// on the store lock) versus the same 24 run one after the other, on a real
// kernel in a host namespace of its own (issue 5).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'l3ctl');
const N = 24;

export interface BenchRow {
  bench: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  per_fip_ms: number;
  runs: number;
  /** 1-minute load average before the runs: other work on the host skews the times. */
  load: number;
}

function l3ctlSync(store: string, args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, L3CTL_STORE: store }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`l3ctl ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

function l3ctlAsync(store: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, L3CTL_STORE: store }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`l3ctl ${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

const associate = (i: number) => ['fip', 'associate', `203.0.113.${100 + i}`, `198.51.100.${100 + i}`, '-q'];

/** One router with gateway and interface in a fresh store and host namespace; the timed part; teardown. */
async function once(parallel: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-'));
  const store = join(dir, 'state.json');
  const hostNs = `l3ctl-bench-${randomBytes(3).toString('hex')}`;
  let routerNs: string | undefined;
  try {
    l3ctlSync(store, ['config', 'set', 'host_namespace', hostNs]);
    l3ctlSync(store, ['config', 'set', 'external_network_bridge', '']);
    l3ctlSync(store, ['config', 'set', 'send_arp_for_ha', '0']);
    l3ctlSync(store, ['network', 'add', 'ext', '--cidr', '203.0.113.0/24', '--gateway-ip', '203.0.113.1', '--external', '-q']);
    l3ctlSync(store, ['network', 'add', 'priv', '--cidr', '198.51.100.0/24', '-q']);
    l3ctlSync(store, ['router', 'add', 'r1', '-q']);
    routerNs = `qrouter-${(JSON.parse(readFileSync(store, 'utf8')) as { routers: { id: string }[] }).routers[0]!.id}`;
    l3ctlSync(store, ['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10', '-q']);
    l3ctlSync(store, ['interface', 'add', 'r1', 'priv', '-q']);

    const t0 = performance.now();
    if (parallel) {
      await Promise.all(Array.from({ length: N }, (_, i) => l3ctlAsync(store, associate(i))));
    } else {
      for (let i = 0; i < N; i++) await l3ctlAsync(store, associate(i));
    }
    const ms = performance.now() - t0;
    const fips = (JSON.parse(readFileSync(store, 'utf8')) as { floatingips: unknown[] }).floatingips.length;
    if (fips !== N) throw new Error(`expected ${N} floating IPs in the store, found ${fips}`);
    return ms;
  } finally {
    if (routerNs) spawnSync('ip', ['netns', 'del', routerNs]);
    spawnSync('ip', ['netns', 'del', hostNs]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchParallel(rounds = 3): Promise<BenchRow[]> {
  const samples = { parallel: [] as number[], sequential: [] as number[] };
  const load = Math.round(loadavg()[0]! * 10) / 10;
  for (let i = 0; i < rounds; i++) {
    samples.sequential.push(await once(false));
    samples.parallel.push(await once(true));
  }
  const row = (bench: string, xs: number[]): BenchRow => ({
    bench,
    median_ms: Math.round(median(xs)),
    min_ms: Math.round(Math.min(...xs)),
    max_ms: Math.round(Math.max(...xs)),
    per_fip_ms: Math.round(median(xs) / N),
    runs: xs.length,
    load,
  });
  return [row(`${N} fip associate, one after the other`, samples.sequential), row(`${N} fip associate, all at once`, samples.parallel)];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchParallel(Number(process.argv[2] ?? 3)));
}
