// Cost of the per-router daemons through daemon.ts on a real kernel: start,
// reload, stop of one haproxy (metadata proxy) and one radvd in a scratch
// namespace of their own, and their memory. Needs root, haproxy and radvd.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { observeDaemon, reloadDaemon, startDaemon, stopDaemon, type DaemonIO, type DaemonSpec } from '../src/linux/daemon.js';
import { RealFiles } from '../src/linux/files.js';
import { RealRunner } from '../src/linux/runner.js';
import { metadataProxySpec } from '../src/linux/haproxy.js';
import { radvdSpec } from '../src/linux/radvd.js';

export interface DaemonBenchRow {
  bench: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  runs: number;
  rss_kb: number;
  load: number;
}

const sh = (argv: string[]) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
};

const rssKb = (pid: number | null) => (pid ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) : 0);

async function time(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

export async function benchDaemons(rounds = 10): Promise<DaemonBenchRow[]> {
  const ns = `l3ctl-bench-d-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-d-'));
  const io: DaemonIO = { runner: new RealRunner(), files: new RealFiles() };
  const load = Math.round(loadavg()[0]! * 10) / 10;
  const id = randomUUID();
  const haproxy = metadataProxySpec(ns, dir, { routerId: id, port: 9697, upstream: null });
  const radvd = radvdSpec(ns, dir, [{ device: 'qr-bench', subnets: [{ cidr: '2001:db8:1::/64', raMode: 'slaac' }] }])!;
  const samples = new Map<string, number[]>();
  const rss = new Map<string, number>();
  const add = (k: string, ms: number) => samples.set(k, [...(samples.get(k) ?? []), ms]);
  const changed = (s: DaemonSpec, i: number): DaemonSpec => ({ ...s, config: `${s.config}# round ${i}\n` });
  try {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    sh(['ip', '-n', ns, 'link', 'add', 'qr-bench', 'type', 'veth', 'peer', 'name', 'qr-bench-peer']);
    sh(['ip', '-n', ns, 'link', 'set', 'qr-bench-peer', 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'qr-bench', 'up']);
    await io.runner.run(['true']); // load execa outside the timings
    for (let i = 0; i < rounds; i++) {
      add('ip netns exec NS true (the floor)', await time(() => io.runner.run(['ip', 'netns', 'exec', ns, 'true'])));
      add('haproxy start', await time(() => startDaemon(io, haproxy)));
      rss.set('haproxy start', rssKb((await observeDaemon(io.files, haproxy)).pid));
      add('haproxy reload (-sf)', await time(() => reloadDaemon(io, changed(haproxy, i))));
      add('haproxy stop', await time(() => stopDaemon(io, haproxy)));
      await startDaemon(io, haproxy);
      add('haproxy stop + start', await time(async () => {
        await stopDaemon(io, haproxy);
        await startDaemon(io, haproxy);
      }));
      await stopDaemon(io, haproxy);
      add('radvd start', await time(() => startDaemon(io, radvd)));
      rss.set('radvd start', rssKb((await observeDaemon(io.files, radvd)).pid));
      add('radvd reload (SIGHUP)', await time(() => reloadDaemon(io, changed(radvd, i))));
      add('radvd stop', await time(() => stopDaemon(io, radvd)));
    }
  } finally {
    await stopDaemon(io, haproxy).catch(() => {});
    await stopDaemon(io, radvd).catch(() => {});
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return [...samples].map(([bench, xs]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { bench, median_ms: r1(s[Math.floor(s.length / 2)]!), min_ms: r1(s[0]!), max_ms: r1(s.at(-1)!), runs: s.length, rss_kb: rss.get(bench) ?? 0, load };
  });
}
