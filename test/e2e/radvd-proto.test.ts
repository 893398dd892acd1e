// Router advertisements by hand, without l3ctl's planner: a router namespace
// with IPv6 forwarding, a qr- veth to a VM namespace, radvd run by daemon.ts
// with radvd.ts's config. Documentation prefix 2001:db8::/32 only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh, shOk, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, e2eUnavailable, requireE2E } from '../helpers/e2e.js';
import { daemonAction, daemonPaths, ensureDaemon, observeDaemon, stopDaemon, type DaemonIO } from '../../src/linux/daemon.js';
import { RealFiles } from '../../src/linux/files.js';
import { RealRunner } from '../../src/linux/runner.js';
import { radvdConfig, radvdSpec, type RaPort } from '../../src/linux/radvd.js';

const R = uniqueName('l3ctl-t-rar');
const V = uniqueName('l3ctl-t-rav');
const QR = 'qr-ratest';
const tmp = mkdtempSync(join(tmpdir(), 'l3ctl-t-ra-'));
const dir = join(tmp, 'routers', 'r1');
const io: DaemonIO = { runner: new RealRunner(), files: new RealFiles() };
const slaac: RaPort[] = [{ device: QR, subnets: [{ cidr: '2001:db8:1::/64', raMode: 'slaac' }] }];
const paths = daemonPaths('radvd', R, dir);

interface Addr {
  local: string;
  prefixlen: number;
  scope: string;
  tentative?: boolean;
}

function addrs(ns: string, dev: string): Addr[] {
  const j = JSON.parse(shOk(['ip', '-j', '-6', '-n', ns, 'addr', 'show', 'dev', dev])) as { addr_info: Addr[] }[];
  return j[0]?.addr_info ?? [];
}

/** The VM's usable (not tentative) global address in PREFIX (`2001:db8:1:`), waiting up to TIMEOUT ms. */
async function slaacAddress(prefix: string, timeoutMs: number): Promise<string | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const a = addrs(V, 'eth0').find((x) => x.scope === 'global' && x.local.startsWith(prefix) && !x.tentative);
    if (a) return a.local;
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}

const sysctl = (ns: string, kv: string) => shOk(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', kv]);
const ping6 = (ns: string, to: string) => sh(['ip', 'netns', 'exec', ns, 'ping', '-6', '-n', '-q', '-c', '1', '-W', '2', to]).code === 0;
const alivePid = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
};

describe('router advertisements prototype (radvd by hand)', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(() => {
    if (e2eUnavailable()) return;
    for (const ns of [R, V]) {
      shOk(['ip', 'netns', 'add', ns]);
      shOk(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // radvd warns (and hosts ignore nothing) without forwarding; a router must not take RAs on qr-.
    sysctl(R, 'net.ipv6.conf.all.forwarding=1');
    shOk(['ip', '-n', R, 'link', 'add', QR, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', V]);
    sysctl(R, `net.ipv6.conf.${QR}.accept_ra=0`);
    // 2: take RAs even if forwarding were on in the VM.
    sysctl(V, 'net.ipv6.conf.eth0.accept_ra=2');
    shOk(['ip', '-n', R, 'addr', 'add', '2001:db8:1::1/64', 'dev', QR, 'nodad']);
  });

  after(async () => {
    try {
      await stopDaemon(io, paths);
    } catch {
      // reported by the tests; the namespaces still go
    }
    deleteNamespaces([R, V]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('namespaces start with IPv6 on: disable_ipv6 is 0 without being set', (t) => {
    if (!requireE2E(t)) return;
    for (const ns of [R, V]) assert.equal(shOk(['ip', 'netns', 'exec', ns, 'sysctl', '-n', 'net.ipv6.conf.default.disable_ipv6']).trim(), '0');
  });

  it('radvd started right after plumbing: the VM gets a SLAAC address in the prefix and a default route via the router\'s link-local address', async (t) => {
    if (!requireE2E(t)) return;
    const want = radvdSpec(R, dir, slaac)!;
    // As the planner would: the ports are just plumbed (link-local addresses still in DAD) when radvd starts.
    shOk(['ip', '-n', R, 'link', 'set', QR, 'up']);
    shOk(['ip', '-n', V, 'link', 'set', 'eth0', 'up']);
    const t0 = performance.now();
    assert.equal(await ensureDaemon(io, paths, want), 'start');
    const startMs = performance.now() - t0;
    const vmAddr = await slaacAddress('2001:db8:1:', 15_000);
    const addrMs = performance.now() - t0;
    assert.ok(vmAddr, `no SLAAC address; radvd log: ${readFileSync(want.extraPaths[0]!, 'utf8')}`);
    const ll = addrs(R, QR).find((a) => a.scope === 'link')!.local;
    const routes = JSON.parse(shOk(['ip', '-j', '-6', '-n', V, 'route', 'show', 'default'])) as { gateway: string; dev: string; protocol: string }[];
    assert.deepEqual(routes.map((r) => [r.gateway, r.dev, r.protocol]), [[ll, 'eth0', 'ra']]);
    assert.ok(ping6(V, '2001:db8:1::1'), 'VM -> router');
    assert.ok(ping6(R, vmAddr), 'router -> VM');
    const pid = (await observeDaemon(io.files, paths)).pid!;
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
    t.diagnostic(`radvd start: ${startMs.toFixed(1)} ms; VM address usable after ${addrMs.toFixed(0)} ms; RSS ${rss} kB`);
  });

  it('a second prefix is taken up by a SIGHUP reload (same pid)', async (t) => {
    if (!requireE2E(t)) return;
    const before = await observeDaemon(io.files, paths);
    const two: RaPort[] = [{ device: QR, subnets: [...slaac[0]!.subnets, { cidr: '2001:db8:2::/64', raMode: 'dhcpv6-stateless' }] }];
    shOk(['ip', '-n', R, 'addr', 'add', '2001:db8:2::1/64', 'dev', QR, 'nodad']);
    const want = radvdSpec(R, dir, two)!;
    assert.equal(daemonAction(want, before), 'reload');
    const t0 = performance.now();
    assert.equal(await ensureDaemon(io, paths, want), 'reload');
    const hupMs = performance.now() - t0;
    // radvd sends an RA at once after re-reading its config.
    const second = await slaacAddress('2001:db8:2:', 15_000);
    t.diagnostic(`radvd reload (SIGHUP): ${hupMs.toFixed(1)} ms; second prefix usable after ${(performance.now() - t0).toFixed(0)} ms`);
    assert.ok(second);
    const after = await observeDaemon(io.files, paths);
    assert.deepEqual([after.alive, after.pid, after.config], [true, before.pid, want.config]);
    assert.match(readFileSync(join(dir, 'radvd.log'), 'utf8'), /attempting to reread config file/);
    assert.equal(await ensureDaemon(io, paths, want), 'none');
  });

  it('killed: observed dead, started again by one ensure', async (t) => {
    if (!requireE2E(t)) return;
    const want = radvdSpec(R, dir, slaac)!;
    await ensureDaemon(io, paths, want);
    const pid = (await observeDaemon(io.files, paths)).pid!;
    process.kill(pid, 'SIGKILL'); // the radvd this test started, by its pid
    for (let i = 0; i < 100 && alivePid(pid); i++) await new Promise((r) => setTimeout(r, 10));
    const seen = await observeDaemon(io.files, paths);
    assert.equal(seen.alive, false);
    assert.equal(seen.why, `radvd is not running (pid ${pid} has exited)`);
    assert.equal(await ensureDaemon(io, paths, want), 'start');
    assert.equal((await observeDaemon(io.files, paths)).alive, true);
  });

  it('no port needs RAs: stopped, no process, no files, no directory', async (t) => {
    if (!requireE2E(t)) return;
    const pid = (await observeDaemon(io.files, paths)).pid!;
    const none = radvdSpec(R, dir, [{ device: QR, subnets: [{ cidr: '2001:db8:1::/64', raMode: null }] }]);
    assert.equal(none, null);
    const t0 = performance.now();
    assert.equal(await ensureDaemon(io, paths, none), 'stop');
    t.diagnostic(`radvd stop: ${(performance.now() - t0).toFixed(1)} ms`);
    assert.equal(alivePid(pid), false);
    assert.equal(existsSync(dir), false);
    assert.equal(sh(['ip', 'netns', 'pids', R]).stdout.trim(), '');
    assert.equal(await ensureDaemon(io, paths, null), 'none');
  });

  it('every mode\'s config passes radvd -c', (t) => {
    if (!requireE2E(t)) return;
    const f = join(tmp, 'check.conf');
    const conf = radvdConfig([
      { device: 'qr-a', subnets: [{ cidr: '2001:db8:1::/64', raMode: 'slaac', dnsNameservers: ['2001:db8::53', '2001:db8::54'] }], mtu: 1450 },
      { device: 'qr-b', subnets: [{ cidr: '2001:db8:2::/64', raMode: 'dhcpv6-stateless' }, { cidr: '2001:db8:3::/64', raMode: 'dhcpv6-stateful' }] },
    ])!;
    writeFileSync(f, conf, { mode: 0o644 });
    const r = sh(['radvd', '-c', '-C', f]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
