// Time of the operator's commands on a real kernel, next to what the Neutron
// L3 agent took for the same work on this kind of machine
// (../shared/anchors/neutron/RESULTS.md, R=1 I=1 F=1, unmodified agent).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'l3ctl');

export interface BenchRow {
  bench: string;
  median_ms: number;
  min_ms: number;
  runs: number;
  reference: string;
}

function l3ctl(store: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, L3CTL_STORE: store }, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`l3ctl ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function benchApply(rounds = 5): BenchRow[] {
  const samples: Record<string, number[]> = { build: [], fipAdd: [], fipDel: [], resync: [], del: [] };
  for (let i = 0; i < rounds; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-'));
    const store = join(dir, 'state.json');
    const hostNs = `l3ctl-bench-${randomBytes(3).toString('hex')}`;
    try {
      l3ctl(store, ['config', 'set', 'host_namespace', hostNs]);
      l3ctl(store, ['config', 'set', 'external_network_bridge', '']);
      l3ctl(store, ['network', 'add', 'ext', '--cidr', '203.0.113.0/24', '--gateway-ip', '203.0.113.1', '--external']);
      l3ctl(store, ['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
      let build = l3ctl(store, ['router', 'add', 'r1']);
      build += l3ctl(store, ['gateway', 'set', 'r1', 'ext']);
      build += l3ctl(store, ['interface', 'add', 'r1', 'priv']);
      build += l3ctl(store, ['fip', 'associate', '203.0.113.20', '198.51.100.5']);
      samples.build!.push(build);
      samples.fipAdd!.push(l3ctl(store, ['fip', 'associate', '203.0.113.21', '198.51.100.6']));
      samples.fipDel!.push(l3ctl(store, ['fip', 'disassociate', '203.0.113.21']));
      samples.resync!.push(l3ctl(store, ['agent', 'sync']));
      samples.del!.push(l3ctl(store, ['router', 'delete', 'r1', '--yes']));
    } finally {
      spawnSync('ip', ['netns', 'del', hostNs]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const row = (bench: string, xs: number[], reference: string): BenchRow => ({
    bench,
    median_ms: Math.round(median(xs)),
    min_ms: Math.round(Math.min(...xs)),
    runs: xs.length,
    reference,
  });
  return [
    row('build router: add, gateway, interface, 1 FIP (4 commands)', samples.build!, 'Neutron a configure: 6440 ms'),
    row('fip associate (one more FIP)', samples.fipAdd!, 'Neutron b +FIP: 400 ms'),
    row('fip disassociate (with conntrack flush)', samples.fipDel!, 'Neutron c -FIP: 460 ms'),
    row('agent sync, converged (no change)', samples.resync!, 'Neutron d resync: 280 ms'),
    row('router delete', samples.del!, 'Neutron e delete: 640 ms'),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(benchApply(Number(process.argv[2] ?? 5)));
}
