// The metadata proxy through the l3ctl CLI (issue 13): a VM behind a router
// asks http://169.254.169.254/ and its request reaches a metadata service (an
// echo server on a unix socket) with its address and the router's id; the
// proxy is checked, repaired, moved to another port, rolled back, cleaned up
// and stopped with the router, as an operator would see it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, l3ctl, l3ctlOk, readStore, sh, shOk, tempStore, uniqueName, type CliResult } from '../helpers/cli.js';
import { addTestHost, baseCommands, deleteNamespaces, e2eUnavailable, kernelSnapshot, listening, namespaces, requireE2E } from '../helpers/e2e.js';
import { curlFrom, startUnixUpstream, type Echo, type Reply, type Upstream } from '../helpers/metadata-upstream.js';
import { ping } from '../helpers/peer.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-meta');
const hostNs = `${tag}-h`;
const up = `${tag}-up`;
const vm = `${tag}-vm`;
const opts = { store: store.path };
const run = (args: string[], o = opts) => l3ctlOk(args, o);
const cli = (args: string[], o: Parameters<typeof l3ctl>[1] = opts) => l3ctl(args, o);
const socketPath = join(store.dir, 'metadata.sock');
const VM_IP = '198.51.100.5';
const GW_IP = '203.0.113.10';
const URL_ID = 'http://169.254.169.254/latest/meta-data/instance-id';
const NO_UPSTREAM_BODY = 'l3ctl: no metadata service is configured for this router';

interface Stored {
  config: Record<string, string>;
  networks: { id: string; name: string }[];
  routers: { id: string; name: string }[];
}
const stored = (): Stored => JSON.parse(readFileSync(store.path, 'utf8')) as Stored;
const idOf = (name: string) => stored().routers.find((r) => r.name === name)!.id;
const nsOf = (name: string) => `qrouter-${idOf(name)}`;
/** A router's daemon files: beside the store, per router id. */
const dirOf = (id: string) => `${store.path}.d/routers/${id}`;
const bridgeOf = (net: string) => `brq${stored().networks.find((n) => n.name === net)!.id.slice(0, 11)}`;

let upstream: Upstream | null = null;
let r1 = '';
let ns1 = '';
const made: string[] = [];

/** Processes in a namespace, with their command lines (what `ip netns pids` lists). */
function processesIn(ns: string): { pid: number; argv: string[] }[] {
  return sh(['ip', 'netns', 'pids', ns]).stdout.split('\n').filter((l) => /^\d+$/.test(l)).flatMap((p) => {
    try {
      return [{ pid: Number(p), argv: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean) }];
    } catch {
      return [];
    }
  });
}
const proxiesIn = (ns: string) => processesIn(ns).filter((p) => p.argv[0] === 'haproxy');
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
};
async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
}
/** Every file under a directory, recursively (empty when it is missing). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath ?? e.path, e.name));
}
// A bridge's MAC follows its ports (rollback.test.ts says why): not state l3ctl keeps.
const snapshot = (nss: string[]) => kernelSnapshot(nss).replace(/^(link brq\S+) \S+/gm, '$1 <mac>');
const ours = (ns: string) => sh(['ip', 'netns', 'exec', ns, 'iptables-save']).stdout.split('\n').filter((l) => l.startsWith('-A l3ctl-'));
const metadataLines = (ns: string) => ours(ns).filter((l) => /169\.254\.169\.254|127\.0\.0\.1|--ctdir ORIGINAL/.test(l));

function echoed(r: Reply): Echo {
  assert.equal(r.status, 200, `expected 200 from the upstream, got curl exit ${r.exit}, status ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as Echo;
}

interface Finding { router: string; kind: string; object: string; expected: string | null; live: string | null }
async function check(): Promise<{ code: number; findings: Finding[]; r: CliResult }> {
  const r = await cli(['agent', 'check', '-f', 'json']);
  return { code: r.code, findings: r.stdout.trim() ? (JSON.parse(r.stdout) as Finding[]) : [], r };
}

/** l3ctl killed (SIGKILL, as a crash or an OOM kill) once a fault-injection delay before a command matching `pattern` starts. */
function killAtDelay(args: string[], pattern: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, L3CTL_STORE: store.path, L3CTL_FAULT_INJECT: pattern, L3CTL_FAULT_DELAY_MS: '20000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.on('data', (d) => {
      err += d;
      if (/fault injection: delaying/.test(err)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

describe('metadata proxy through l3ctl', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    if (e2eUnavailable()) return;
    for (const args of baseCommands(hostNs)) await run(args);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    await run(['network', 'add', 'priv2', '--cidr', '192.0.2.0/26']);
    await run(['network', 'add', 'priv3', '--cidr', '192.0.2.64/26']);
    await run(['router', 'add', 'r1']);
    await run(['gateway', 'set', 'r1', 'ext', '--ip', GW_IP]);
    await run(['interface', 'add', 'r1', 'priv']);
    [r1, ns1] = [idOf('r1'), nsOf('r1')];
    made.push(ns1);
    addTestHost({ name: up, hostNs, bridge: bridgeOf('ext'), cidr: '203.0.113.1/24' });
    addTestHost({ name: vm, hostNs, bridge: bridgeOf('priv'), cidr: `${VM_IP}/24`, gateway: '198.51.100.1' });
    upstream = await startUnixUpstream(socketPath);
  });

  after(async () => {
    await upstream?.stop();
    const names = (() => {
      try {
        return stored().routers.map((r) => r.name);
      } catch {
        return [];
      }
    })();
    if (names.length) await cli(['router', 'delete', ...names, '--yes']);
    deleteNamespaces([...made, up, vm, hostNs]);
    store.cleanup();
  });

  it('interface add starts one proxy in the router namespace, its files beside the store, and the three rules', (t) => {
    if (!requireE2E(t)) return;
    const dir = dirOf(r1);
    const proxies = proxiesIn(ns1);
    assert.equal(proxies.length, 1, JSON.stringify(processesIn(ns1)));
    assert.deepEqual(proxies[0]!.argv, ['haproxy', '-f', `${dir}/haproxy.conf`, '-p', `${dir}/haproxy.pid`, '-D']);
    assert.equal(readFileSync(`${dir}/haproxy.pid`, 'utf8').trim(), String(proxies[0]!.pid));
    assert.match(readFileSync(`${dir}/haproxy.conf`, 'utf8'), new RegExp(`X-Neutron-Router-ID ${r1}`));
    assert.deepEqual(listening(ns1), ['0.0.0.0:9697']);
    assert.deepEqual(metadataLines(ns1).sort(), [
      '-A l3ctl-INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 9697 -j ACCEPT',
      '-A l3ctl-INPUT -p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP',
      '-A l3ctl-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
    ]);
  });

  it('no metadata_upstream: the VM gets 503 from the proxy; check and show say so in one line, and it is not drift', async (t) => {
    if (!requireE2E(t)) return;
    const r = curlFrom(vm, URL_ID);
    assert.deepEqual([r.status, r.body], [503, NO_UPSTREAM_BODY]);
    const notice = /^l3ctl: notice: metadata_upstream is not set: metadata proxies answer 503 to every request/;
    const table = await cli(['agent', 'check']);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stderr.split('\n').filter((l) => notice.test(l)).length, 1, table.stderr);
    const c = await check();
    assert.deepEqual([c.code, c.findings], [0, []]);
    assert.match(c.r.stderr, notice);
    const show = (await run(['router', 'show', 'r1'])).stdout;
    assert.match(show, /^notice: metadata_upstream is not set/m);
    assert.match(show, /^drift: none$/m);
    const json = JSON.parse((await run(['router', 'show', 'r1', '-f', 'json'])).stdout) as { notices: string[]; drift: unknown[]; live: { daemons: string[] } };
    assert.equal(json.notices.length, 1);
    assert.deepEqual(json.drift, []);
    assert.deepEqual(json.live.daemons, [`haproxy: pid ${proxiesIn(ns1)[0]!.pid}`]);
  });

  it('GET and POST from the VM reach the upstream: path, method, body, X-Forwarded-For = the VM, X-Neutron-Router-ID = the router', async (t) => {
    if (!requireE2E(t)) return;
    const before = proxiesIn(ns1)[0]!.pid;
    await run(['config', 'set', 'metadata_upstream', socketPath]);
    const get = echoed(curlFrom(vm, URL_ID));
    assert.equal(get.method, 'GET');
    assert.equal(get.path, '/latest/meta-data/instance-id');
    assert.equal(get.headers['x-forwarded-for'], VM_IP);
    assert.equal(get.headers['x-neutron-router-id'], r1);
    const body = JSON.stringify({ password: 'p4ss', note: 'two\nlines' });
    const post = echoed(curlFrom(vm, 'http://169.254.169.254/openstack/2013-04-04/password', ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', body]));
    assert.equal(post.method, 'POST');
    assert.equal(post.path, '/openstack/2013-04-04/password');
    assert.equal(post.body, body);
    assert.equal(post.headers['x-forwarded-for'], VM_IP);
    assert.equal(post.headers['x-neutron-router-id'], r1);
    // A reload (a new process took the listener over), and no notice any more.
    assert.notEqual(proxiesIn(ns1)[0]!.pid, before);
    const c = await check();
    assert.equal(c.code, 0);
    assert.doesNotMatch(c.r.stderr, /notice/);
  });

  it('killed: agent check exits 3 naming it, agent sync starts it again and requests work', async (t) => {
    if (!requireE2E(t)) return;
    const pid = Number(readFileSync(`${dirOf(r1)}/haproxy.pid`, 'utf8'));
    process.kill(pid, 'SIGKILL'); // the proxy this test's l3ctl started, by its pid
    await waitGone(pid);
    assert.equal(curlFrom(vm, URL_ID).status, 0, 'nothing answers');
    const c = await check();
    assert.equal(c.code, 3, c.r.stderr);
    assert.deepEqual(c.findings.map((f) => [f.router, f.kind, f.object, f.live]), [['r1', 'daemon-dead', 'haproxy', `haproxy is not running (pid ${pid} has exited)`]]);
    await run(['agent', 'sync']);
    assert.equal(echoed(curlFrom(vm, URL_ID)).headers['x-forwarded-for'], VM_IP);
    assert.notEqual(proxiesIn(ns1)[0]!.pid, pid);
    assert.equal((await check()).code, 0);
  });

  it('from the upstream host, the gateway address on the proxy port gets nothing', (t) => {
    if (!requireE2E(t)) return;
    const r = curlFrom(up, `http://${GW_IP}:9697/latest/meta-data/instance-id`, [], 2);
    assert.deepEqual([r.exit, r.status], [28, 0], 'dropped: curl times out');
    // The router itself is reachable from there: it is the port that is closed.
    assert.ok(ping(up, GW_IP));
  });

  it('a non-default metadata_port: rules, listener and requests move to it; the old port is closed', async (t) => {
    if (!requireE2E(t)) return;
    await run(['config', 'set', 'metadata_port', '8775']);
    assert.deepEqual(metadataLines(ns1).sort(), [
      '-A l3ctl-INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 8775 -j ACCEPT',
      '-A l3ctl-INPUT -p tcp -m tcp --dport 8775 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP',
      '-A l3ctl-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8775',
    ]);
    assert.deepEqual(listening(ns1), ['0.0.0.0:8775']);
    assert.equal(proxiesIn(ns1).length, 1);
    assert.equal(echoed(curlFrom(vm, URL_ID)).headers['x-neutron-router-id'], r1);
    assert.equal(curlFrom(up, `http://${GW_IP}:8775/`, [], 2).exit, 28);
  });

  it('the upstream stopped: the VM gets 502/503 and the router still routes', async (t) => {
    if (!requireE2E(t)) return;
    await upstream!.stop();
    upstream = null;
    const r = curlFrom(vm, URL_ID);
    assert.ok([502, 503].includes(r.status), `status ${r.status} (curl exit ${r.exit})`);
    assert.ok(ping(vm, '203.0.113.1'), 'the VM still reaches the external network through the router');
    upstream = await startUnixUpstream(socketPath);
    assert.equal(echoed(curlFrom(vm, URL_ID)).headers['x-forwarded-for'], VM_IP);
  });

  it('l3ctl killed between writing a config and reloading the proxy: check names it, sync reloads it', async (t) => {
    if (!requireE2E(t)) return;
    // The store says 8776 (restored from elsewhere, say); the sync that writes the config dies before haproxy -sf.
    const s = stored();
    s.config.metadata_port = '8776';
    writeFileSync(store.path, JSON.stringify(s, null, 2) + '\n');
    const err = await killAtDelay(['agent', 'sync'], `haproxy -f ${dirOf(r1)}`);
    assert.match(err, /fault injection: delaying/);
    assert.match(readFileSync(`${dirOf(r1)}/haproxy.conf`, 'utf8'), /bind 0\.0\.0\.0:8776/, 'the new config was written');
    assert.deepEqual(listening(ns1), ['0.0.0.0:8775'], 'and the proxy never took it up');
    const c = await check();
    assert.equal(c.code, 3, `the config on disk is not what runs: ${c.r.stdout}${c.r.stderr}`);
    assert.deepEqual(c.findings.map((f) => [f.kind, f.object]), [['daemon-config', 'haproxy']]);
    await run(['agent', 'sync']);
    assert.deepEqual(listening(ns1), ['0.0.0.0:8776']);
    assert.equal(echoed(curlFrom(vm, URL_ID)).headers['x-forwarded-for'], VM_IP);
    await run(['config', 'unset', 'metadata_port']);
    assert.deepEqual(listening(ns1), ['0.0.0.0:9697']);
    assert.equal((await check()).code, 0);
  });

  it('a failed change is rolled back with the proxies: a reload undone; option off: no rules, no process; a start undone', async (t) => {
    if (!requireE2E(t)) return;
    await run(['router', 'add', 'r2']);
    await run(['interface', 'add', 'r2', 'priv2']);
    const ns2 = nsOf('r2');
    made.push(ns2);
    assert.equal(proxiesIn(ns2).length, 1);
    const fail = { ...opts, env: { L3CTL_FAULT_INJECT: `^ip netns exec ${ns2} iptables-restore` } };

    // r1 is converged first (and its proxy reloaded onto 8790), then r2 fails.
    let storeBefore = readStore(store.path);
    let kernelBefore = snapshot([ns1, ns2]);
    const conf1 = readFileSync(`${dirOf(r1)}/haproxy.conf`, 'utf8');
    let r = await cli(['-v', 'config', 'set', 'metadata_port', '8790'], fail);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`+ ip netns exec ${ns1} haproxy -f ${dirOf(r1)}/haproxy.conf`), 'r1 was reloaded before r2 failed');
    assert.ok(r.stderr.includes('hint: the kernel was put back as it was before this command; the store is unchanged'), r.stderr);
    assert.equal(readStore(store.path), storeBefore);
    assert.equal(snapshot([ns1, ns2]), kernelBefore, 'rules and listeners as before');
    assert.equal(readFileSync(`${dirOf(r1)}/haproxy.conf`, 'utf8'), conf1);
    assert.equal((await check()).code, 0);

    await run(['config', 'set', 'enable_metadata_proxy', 'false']);
    for (const [ns, id] of [[ns1, r1], [ns2, idOf('r2')]] as const) {
      assert.deepEqual(metadataLines(ns), [], `${ns}: no metadata rule`);
      assert.deepEqual(proxiesIn(ns), [], `${ns}: no proxy`);
      assert.deepEqual(filesUnder(dirOf(id!)), []);
    }
    assert.equal(curlFrom(vm, URL_ID, [], 2).status, 0);
    assert.equal((await check()).code, 0);

    // r1's proxy starts, then r2 fails: r1's is stopped again and its files go.
    storeBefore = readStore(store.path);
    kernelBefore = snapshot([ns1, ns2]);
    r = await cli(['-v', 'config', 'set', 'enable_metadata_proxy', 'true'], fail);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`+ ip netns exec ${ns1} haproxy -f`), 'r1 started its proxy before r2 failed');
    assert.equal(readStore(store.path), storeBefore);
    assert.equal(snapshot([ns1, ns2]), kernelBefore);
    assert.deepEqual(proxiesIn(ns1), []);
    assert.deepEqual(filesUnder(dirOf(r1)), []);
    assert.equal((await check()).code, 0);

    await run(['config', 'set', 'enable_metadata_proxy', 'true']);
    assert.equal(proxiesIn(ns1).length, 1);
    assert.equal(proxiesIn(ns2).length, 1);
    assert.equal(echoed(curlFrom(vm, URL_ID)).headers['x-neutron-router-id'], r1);
  });

  it('haproxy missing from the machine: exit 1 naming the package, rolled back', async (t) => {
    if (!requireE2E(t)) return;
    await run(['router', 'add', 'r3']);
    const ns3 = nsOf('r3');
    made.push(ns3);
    // A PATH with the tools l3ctl runs, but no haproxy.
    const bin = join(store.dir, 'bin-no-haproxy');
    mkdirSync(bin);
    for (const tool of ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'sysctl', 'conntrack', 'arping', 'kill']) {
      symlinkSync(shOk(['sh', '-c', `command -v ${tool}`]).trim(), join(bin, tool));
    }
    const storeBefore = readStore(store.path);
    const kernelBefore = snapshot([ns3, hostNs]);
    const r = await cli(['interface', 'add', 'r3', 'priv3'], { ...opts, env: { PATH: bin } });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], 'l3ctl: error: haproxy is not installed (Debian package haproxy)');
    assert.ok(lines.includes('hint: apt-get install haproxy'), r.stderr);
    assert.ok(lines.includes('hint: the kernel was put back as it was before this command; the store is unchanged'), r.stderr);
    assert.equal(readStore(store.path), storeBefore);
    assert.equal(snapshot([ns3, hostNs]), kernelBefore);
    assert.deepEqual(filesUnder(dirOf(idOf('r3'))), []);
  });

  it('agent cleanup of a namespace whose router left the store: its proxy is ended first, found by its pid file', async (t) => {
    if (!requireE2E(t)) return;
    await run(['interface', 'add', 'r3', 'priv3']);
    const id3 = idOf('r3');
    const ns3 = nsOf('r3');
    const pid = proxiesIn(ns3)[0]!.pid;
    // The store loses r3 (restored from an older copy, say): its namespace and proxy are now nobody's.
    const s = stored();
    s.routers = s.routers.filter((r) => r.id !== id3);
    writeFileSync(store.path, JSON.stringify(s, null, 2) + '\n');
    // router_id scopes the cleanup to that one namespace (others on this machine are not ours).
    await run(['config', 'set', 'router_id', id3]);
    try {
      const dry = await run(['agent', 'cleanup', '--dry-run']);
      assert.ok(dry.stdout.split('\n').includes(`+ kill -TERM ${pid}`), dry.stdout);
      assert.ok(alive(pid));
      const r = await run(['agent', 'cleanup', '--yes']);
      assert.match(r.stderr, new RegExp(`${ns3} \\(devices qr-\\S+; haproxy pid ${pid}; router '${id3}' of this store, not handled here: it left the store, its daemon files did not\\)`));
      await waitGone(pid);
      assert.ok(!alive(pid), 'the proxy was ended');
      assert.ok(!namespaces().includes(ns3));
      assert.deepEqual(filesUnder(dirOf(id3)), []);
    } finally {
      await cli(['config', 'unset', 'router_id']);
    }
  });

  it('router delete: no proxy process and no files left', async (t) => {
    if (!requireE2E(t)) return;
    const pids = [...proxiesIn(ns1), ...proxiesIn(nsOf('r2'))].map((p) => p.pid);
    assert.equal(pids.length, 2);
    await run(['router', 'delete', 'r1', 'r2', '--yes']);
    await Promise.all(pids.map(waitGone));
    assert.deepEqual(pids.filter(alive), []);
    assert.deepEqual(filesUnder(`${store.path}.d`), []);
  });
});
