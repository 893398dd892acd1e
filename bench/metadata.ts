// What the metadata proxy costs per router, through the CLI on a real kernel:
// `router add` + `interface add` (the proxy starts with the first internal
// port), a converged `agent sync` and `router delete`, with
// enable_metadata_proxy on (the default) and off, rounds interleaved so both
// see the same machine load. Also the proxy's memory. Needs root and haproxy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'l3ctl');

export interface MetadataBenchRow {
  bench: string;
  proxy_on_ms: number;
  proxy_off_ms: number;
  extra_ms: number;
  runs: number;
}

function l3ctl(store: string, args: string[]): { ms: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, L3CTL_STORE: store }, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`l3ctl ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One router built and deleted; times of each step, and the proxy's RSS (kB) when it runs. */
function round(proxy: boolean): { build: number; sync: number; del: number; rssKb: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-md-'));
  const store = join(dir, 'state.json');
  const hostNs = `l3ctl-bench-md-${randomBytes(3).toString('hex')}`;
  try {
    l3ctl(store, ['config', 'set', 'host_namespace', hostNs]);
    l3ctl(store, ['config', 'set', 'send_arp_for_ha', '0']);
    l3ctl(store, ['config', 'set', 'enable_metadata_proxy', String(proxy)]);
    l3ctl(store, ['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    const add = l3ctl(store, ['router', 'add', 'r1', '-f', 'value', '-c', 'id']);
    const build = add.ms + l3ctl(store, ['interface', 'add', 'r1', 'priv']).ms;
    const id = add.stdout.trim();
    let rssKb: number | null = null;
    if (proxy) {
      const pid = readFileSync(`${store}.d/routers/${id}/haproxy.pid`, 'utf8').trim();
      rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    }
    const sync = l3ctl(store, ['agent', 'sync']).ms;
    const del = l3ctl(store, ['router', 'delete', 'r1', '--yes']).ms;
    return { build, sync, del, rssKb };
  } finally {
    spawnSync('ip', ['netns', 'del', hostNs]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function benchMetadata(rounds = 5): { rows: MetadataBenchRow[]; rssKb: number } {
  const on: ReturnType<typeof round>[] = [];
  const off: ReturnType<typeof round>[] = [];
  for (let i = 0; i < rounds; i++) {
    on.push(round(true));
    off.push(round(false));
  }
  const row = (bench: string, key: 'build' | 'sync' | 'del'): MetadataBenchRow => {
    const a = Math.round(median(on.map((x) => x[key])));
    const b = Math.round(median(off.map((x) => x[key])));
    return { bench, proxy_on_ms: a, proxy_off_ms: b, extra_ms: a - b, runs: rounds };
  };
  return {
    rows: [
      row('router add + interface add (the proxy starts)', 'build'),
      row('agent sync, converged', 'sync'),
      row('router delete (the proxy stops)', 'del'),
    ],
    rssKb: median(on.map((x) => x.rssKb ?? 0)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = benchMetadata(Number(process.argv[2] ?? 5));
  console.table(r.rows);
  console.log(`haproxy RSS per router: ${r.rssKb} kB`);
}
