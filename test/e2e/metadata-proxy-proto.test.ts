// The metadata proxy by hand, without l3ctl's planner: a router namespace with
// an internal port to a VM and a gateway port to an upstream host, the
// metadata rules restored with iptables-restore, haproxy run by daemon.ts
// with haproxy.ts's config, a unix-socket echo server as the metadata service.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh, shOk, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, e2eUnavailable, requireE2E } from '../helpers/e2e.js';
import { ping } from '../helpers/peer.js';
import { startTcpUpstream, startUnixUpstream, type Echo, type Upstream } from '../helpers/metadata-upstream.js';
import { daemonAction, observeDaemon, reloadDaemon, startDaemon, stopDaemon, ensureDaemon, type DaemonIO, type DaemonSpec } from '../../src/linux/daemon.js';
import { RealFiles } from '../../src/linux/files.js';
import { RealRunner } from '../../src/linux/runner.js';
import { metadataProxyConfig, metadataProxySpec, NO_UPSTREAM_BODY } from '../../src/linux/haproxy.js';
import { metadataRules } from '../../src/agent/metadata-rules.js';

const R = uniqueName('l3ctl-t-mdr');
const V = uniqueName('l3ctl-t-mdv');
const U = uniqueName('l3ctl-t-mdu');
const ROUTER_ID = randomUUID();
const VM_IP = '198.51.100.10';
const GW_IP = '203.0.113.2';
const UPSTREAM_HOST = '203.0.113.1';
const tmp = mkdtempSync(join(tmpdir(), 'l3ctl-t-md-'));
const dir = join(tmp, 'routers', ROUTER_ID);
const io: DaemonIO = { runner: new RealRunner(), files: new RealFiles() };
const spec = (port: number, upstream: string | null): DaemonSpec => metadataProxySpec(R, dir, { routerId: ROUTER_ID, port, upstream });
let unix: Upstream | null = null;
let tcp: Upstream | null = null;
const socketPath = join(tmp, 'metadata.sock');

interface Reply {
  exit: number;
  status: number;
  body: string;
}

/** curl from a namespace: exit code, HTTP status (0 when none), body. */
function curl(ns: string, url: string, extra: string[] = [], timeout = 5): Reply {
  const r = sh(['ip', 'netns', 'exec', ns, 'curl', '-s', '-m', String(timeout), '-o', '-', '-w', '\n%{http_code}', ...extra, url]);
  const i = r.stdout.lastIndexOf('\n');
  return { exit: r.code, status: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, Math.max(i, 0)) };
}

const metadataUrl = (path = '/latest/meta-data/instance-id') => `http://169.254.169.254${path}`;

function echoed(r: Reply): Echo {
  assert.equal(r.status, 200, `expected 200 from the upstream, got exit ${r.exit} status ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as Echo;
}

function restoreRules(port: number, opts: { drop?: boolean } = {}): void {
  const rules = metadataRules(port);
  const filter = opts.drop === false ? rules.filter.filter((l) => !l.includes('-j DROP')) : rules.filter;
  const payload = ['*filter', ':l3ctl-INPUT - [0:0]', ...filter, 'COMMIT', '*nat', ':l3ctl-PREROUTING - [0:0]', ...rules.nat, 'COMMIT', ''].join('\n');
  shOk(['ip', 'netns', 'exec', R, 'iptables-restore', '-w', '--noflush'], payload);
}

const ours = (save: string) => save.split('\n').filter((l) => l.startsWith('-A l3ctl-'));
const alivePid = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
};
const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
const ms = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;

describe('metadata proxy prototype (haproxy by hand)', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    if (e2eUnavailable()) return;
    for (const ns of [R, V, U]) {
      shOk(['ip', 'netns', 'add', ns]);
      shOk(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    shOk(['ip', '-n', R, 'link', 'add', 'qr-mdtest', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', V]);
    shOk(['ip', '-n', R, 'link', 'add', 'qg-mdtest', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', U]);
    shOk(['ip', '-n', R, 'addr', 'add', '198.51.100.1/24', 'dev', 'qr-mdtest']);
    shOk(['ip', '-n', R, 'addr', 'add', `${GW_IP}/24`, 'dev', 'qg-mdtest']);
    shOk(['ip', '-n', V, 'addr', 'add', `${VM_IP}/24`, 'dev', 'eth0']);
    shOk(['ip', '-n', U, 'addr', 'add', `${UPSTREAM_HOST}/24`, 'dev', 'eth0']);
    for (const [ns, dev] of [[R, 'qr-mdtest'], [R, 'qg-mdtest'], [V, 'eth0'], [U, 'eth0']] as const) shOk(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    shOk(['ip', 'netns', 'exec', R, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    shOk(['ip', '-n', V, 'route', 'add', 'default', 'via', '198.51.100.1']);
    shOk(['ip', '-n', U, 'route', 'add', '198.51.100.0/24', 'via', GW_IP]);
    // Our two chains and the jumps into them, once; restoreRules rewrites the chains' rules.
    shOk(['ip', 'netns', 'exec', R, 'iptables-restore', '-w', '--noflush'], '*filter\n:l3ctl-INPUT - [0:0]\n-A INPUT -j l3ctl-INPUT\nCOMMIT\n*nat\n:l3ctl-PREROUTING - [0:0]\n-A PREROUTING -j l3ctl-PREROUTING\nCOMMIT\n');
    unix = await startUnixUpstream(socketPath);
  });

  after(async () => {
    // Our haproxy only, by the pid in our pid file (and only if it is ours: stopDaemon checks).
    try {
      await stopDaemon(io, spec(9697, null));
    } catch {
      // reported by the tests; the namespace deletion below still runs
    }
    await unix?.stop();
    await tcp?.stop();
    deleteNamespaces([R, V, U]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the metadata rules are printed back by iptables-save exactly as generated', (t) => {
    if (!requireE2E(t)) return;
    restoreRules(9697);
    const save = shOk(['ip', 'netns', 'exec', R, 'iptables-save']);
    const r = metadataRules(9697);
    assert.deepEqual(ours(save).sort(), [...r.filter, ...r.nat].sort());
    assert.deepEqual(save.split('\n').filter((l) => / -j l3ctl-/.test(l) && !l.startsWith('-A l3ctl-')), ['-A INPUT -j l3ctl-INPUT', '-A PREROUTING -j l3ctl-PREROUTING']);
  });

  it('haproxy starts in the router namespace through daemon.ts and is observed alive', async (t) => {
    if (!requireE2E(t)) return;
    const s = spec(9697, socketPath);
    assert.equal(daemonAction(s, await observeDaemon(io.files, s)), 'start');
    const t0 = performance.now();
    const pid = await startDaemon(io, s);
    const startMs = ms(t0);
    assert.ok(pid);
    const seen = await observeDaemon(io.files, s);
    assert.deepEqual([seen.alive, seen.pid, seen.config], [true, pid, s.config]);
    assert.equal(daemonAction(s, seen), 'none');
    assert.equal(shOk(['ip', 'netns', 'identify', String(pid)]).trim(), R);
    assert.match(shOk(['ip', 'netns', 'exec', R, 'ss', '-Hltn', 'sport', '= :9697']), /0\.0\.0\.0:9697/);
    t.diagnostic(`haproxy start (write config, run, pid alive): ${startMs} ms; RSS ${rssKb(pid!)} kB`);
  });

  it('a GET from the VM reaches the upstream with its path, query, address and the router id; spoofed headers are replaced', (t) => {
    if (!requireE2E(t)) return;
    const e = echoed(
      curl(V, metadataUrl('/latest/meta-data/instance-id?format=text'), ['-H', 'X-Forwarded-For: 192.0.2.66', '-H', 'X-Neutron-Router-ID: not-this-one', '-H', 'X-Neutron-Network-ID: nor-this']),
    );
    assert.equal(e.method, 'GET');
    assert.equal(e.path, '/latest/meta-data/instance-id');
    assert.equal(e.query, 'format=text');
    assert.equal(e.headers['x-forwarded-for'], VM_IP);
    assert.equal(e.headers['x-neutron-router-id'], ROUTER_ID);
    assert.equal(e.headers['x-neutron-network-id'], undefined);
    assert.equal(e.headers.host, '169.254.169.254');
  });

  it('a POST with a body is forwarded whole', (t) => {
    if (!requireE2E(t)) return;
    const body = JSON.stringify({ password: 'xyz', line2: 'a\nb' });
    const e = echoed(curl(V, metadataUrl('/openstack/2013-04-04/password'), ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', body]));
    assert.equal(e.method, 'POST');
    assert.equal(e.path, '/openstack/2013-04-04/password');
    assert.equal(e.body, body);
    assert.equal(e.headers['x-forwarded-for'], VM_IP);
  });

  it('upstream gone: the VM gets 503 and the router keeps routing; upstream back: works without touching haproxy', async (t) => {
    if (!requireE2E(t)) return;
    const before = (await observeDaemon(io.files, spec(9697, socketPath))).pid;
    await unix!.stop();
    unix = null;
    const r = curl(V, metadataUrl());
    assert.equal(r.status, 503, r.body);
    assert.ok(ping(V, UPSTREAM_HOST), 'the VM still reaches the external network through the router');
    unix = await startUnixUpstream(socketPath);
    assert.equal(echoed(curl(V, metadataUrl())).headers['x-forwarded-for'], VM_IP);
    assert.equal((await observeDaemon(io.files, spec(9697, socketPath))).pid, before);
  });

  it('the proxy port answers nothing from the external network (gateway address) nor to a VM aiming at it directly', (t) => {
    if (!requireE2E(t)) return;
    const fromOutside = curl(U, `http://${GW_IP}:9697/latest/meta-data/`, [], 2);
    assert.deepEqual([fromOutside.exit, fromOutside.status], [28, 0], 'dropped: curl times out');
    const direct = curl(V, 'http://198.51.100.1:9697/latest/meta-data/', [], 2);
    assert.deepEqual([direct.exit, direct.status], [28, 0]);
    // Without the DROP the external host would be served as if it were an instance: the rule is what closes it.
    restoreRules(9697, { drop: false });
    try {
      assert.equal(echoed(curl(U, `http://${GW_IP}:9697/latest/meta-data/`)).headers['x-forwarded-for'], UPSTREAM_HOST);
    } finally {
      restoreRules(9697);
    }
    assert.equal(curl(U, `http://${GW_IP}:9697/`, [], 2).exit, 28);
    // And the VM's own path is still open.
    assert.equal(echoed(curl(V, metadataUrl())).headers['x-forwarded-for'], VM_IP);
  });

  it('upstream unset: 503 from haproxy itself; set later (http://host:port): a config rewrite and a reload are enough', async (t) => {
    if (!requireE2E(t)) return;
    const unset = spec(9697, null);
    const old = await observeDaemon(io.files, unset);
    assert.equal(daemonAction(unset, old), 'reload');
    const t0 = performance.now();
    const pid = await reloadDaemon(io, unset, old);
    t.diagnostic(`haproxy soft reload (-sf): ${ms(t0)} ms`);
    assert.notEqual(pid, old.pid);
    const r = curl(V, metadataUrl());
    assert.equal(r.status, 503);
    assert.equal(r.body, NO_UPSTREAM_BODY);

    tcp = await startTcpUpstream(U, UPSTREAM_HOST, 8775);
    const set = spec(9697, `http://${UPSTREAM_HOST}:8775`);
    assert.equal(await ensureDaemon(io, set, set), 'reload');
    const e = echoed(curl(V, metadataUrl('/latest/meta-data/local-ipv4')));
    assert.equal(e.headers['x-forwarded-for'], VM_IP);
    assert.equal(e.headers['x-neutron-router-id'], ROUTER_ID);
    assert.equal(await ensureDaemon(io, set, set), 'none');
  });

  it('a soft reload refuses no request: requests during ten reloads all succeed', async (t) => {
    if (!requireE2E(t)) return;
    const s = spec(9697, `http://${UPSTREAM_HOST}:8775`);
    // A client loop in the VM: one request every 20 ms for 2 s, counting the HTTP codes.
    const loop = `ok=0; bad=0; for i in $(seq 100); do c=$(curl -s -m 3 -o /dev/null -w '%{http_code}' ${metadataUrl()}); if [ "$c" = 200 ]; then ok=$((ok+1)); else bad=$((bad+1)); fi; sleep 0.02; done; echo $ok $bad`;
    const child = spawn('ip', ['netns', 'exec', V, 'sh', '-c', loop], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      await reloadDaemon(io, { ...s, config: `${s.config}# reload ${i}\n` });
      times.push(ms(t0));
    }
    await new Promise((r) => child.on('close', r));
    const [ok, bad] = out.trim().split(' ').map(Number);
    t.diagnostic(`reloads: ${times.join(', ')} ms; requests during them: ${ok} ok, ${bad} failed`);
    assert.equal(bad, 0);
    assert.equal(ok, 100);
    await reloadDaemon(io, s);
  });

  it('a non-default port: rules and config rewritten, one reload, the old port closed', async (t) => {
    if (!requireE2E(t)) return;
    restoreRules(8775);
    const s = spec(8775, `http://${UPSTREAM_HOST}:8775`);
    assert.equal(await ensureDaemon(io, s, s), 'reload');
    const listening = shOk(['ip', 'netns', 'exec', R, 'ss', '-Hltn']);
    assert.match(listening, /0\.0\.0\.0:8775/);
    assert.doesNotMatch(listening, /:9697/);
    assert.equal(echoed(curl(V, metadataUrl())).headers['x-forwarded-for'], VM_IP);
    assert.equal(curl(U, `http://${GW_IP}:8775/`, [], 2).exit, 28);
    const r = metadataRules(8775);
    assert.deepEqual(ours(shOk(['ip', 'netns', 'exec', R, 'iptables-save'])).sort(), [...r.filter, ...r.nat].sort());
  });

  it('killed: observed dead with a reason, started again by one ensure, and works', async (t) => {
    if (!requireE2E(t)) return;
    const s = spec(8775, `http://${UPSTREAM_HOST}:8775`);
    const pid = (await observeDaemon(io.files, s)).pid!;
    process.kill(pid, 'SIGKILL'); // the haproxy this test started, by its pid
    for (let i = 0; i < 100 && alivePid(pid); i++) await new Promise((r) => setTimeout(r, 10));
    const seen = await observeDaemon(io.files, s);
    assert.deepEqual([seen.alive, seen.pid], [false, pid]);
    assert.equal(seen.why, `haproxy is not running (pid ${pid} has exited)`);
    assert.equal(curl(V, metadataUrl(), [], 2).status, 0, 'nothing listens');
    assert.equal(await ensureDaemon(io, s, s), 'start');
    assert.equal(echoed(curl(V, metadataUrl())).headers['x-neutron-router-id'], ROUTER_ID);
  });

  it('stopped: no process, no files, no directory; stop+start costs', async (t) => {
    if (!requireE2E(t)) return;
    const s = spec(8775, `http://${UPSTREAM_HOST}:8775`);
    const pid = (await observeDaemon(io.files, s)).pid!;
    let t0 = performance.now();
    await stopDaemon(io, s);
    const stopMs = ms(t0);
    assert.equal(alivePid(pid), false);
    assert.equal(existsSync(dir), false);
    assert.deepEqual(readdirSync(join(tmp, 'routers')), []);
    assert.equal(sh(['ip', 'netns', 'pids', R]).stdout.trim(), '');
    assert.equal(await ensureDaemon(io, s, null), 'none');
    t0 = performance.now();
    await startDaemon(io, s);
    const startMs = ms(t0);
    t.diagnostic(`haproxy stop (TERM, wait for exit, remove files): ${stopMs} ms; start: ${startMs} ms`);
    await stopDaemon(io, s);
  });

  it('every config variant passes haproxy -c (unix, http, https, none)', (t) => {
    if (!requireE2E(t)) return;
    for (const upstream of ['/run/l3ctl/m.sock', 'http://203.0.113.1:8775', 'http://metadata.invalid', 'https://metadata.invalid', 'http://[2001:db8::1]:8775', null]) {
      const f = join(tmp, 'check.conf');
      writeFileSync(f, metadataProxyConfig({ routerId: ROUTER_ID, port: 9697, upstream }));
      const r = sh(['haproxy', '-c', '-f', f]);
      assert.equal(r.code, 0, `${upstream}: ${r.stdout}${r.stderr}`);
      // An unresolvable name is a warning, never an alert.
      assert.doesNotMatch(r.stdout + r.stderr, /ALERT/, String(upstream));
    }
  });
});
