// `agent cleanup` without router_id removes every qrouter-<uuid> namespace no
// handled router owns — on a shared host that would include other people's.
// So this test runs l3ctl and its kernel commands in a private mount
// namespace with its own empty /run/netns: the namespaces it makes are the
// only ones l3ctl can see there, and when the holder process ends they go.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BIN, tempStore, uniqueName, type CliResult } from '../helpers/cli.js';
import { e2eUnavailable, requireE2E } from '../helpers/e2e.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-clean');
const hostNs = `${tag}-h`;
let holder: ChildProcess | null = null;

/** argv run inside the private mount namespace. */
const inside = (argv: string[]) => ['nsenter', '-m', '-t', String(holder!.pid), ...argv];

function sh(argv: string[]): CliResult {
  const r = spawnSync(inside(argv)[0]!, inside(argv).slice(1), { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function shOk(argv: string[]): string {
  const r = sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
function l3ctl(args: string[]): CliResult {
  const r = spawnSync(inside([process.execPath, BIN, ...args])[0]!, inside([process.execPath, BIN, ...args]).slice(1), {
    encoding: 'utf8', input: '', env: { ...process.env, L3CTL_STORE: store.path }, timeout: 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function run(args: string[]): CliResult {
  const r = l3ctl(args);
  if (r.code !== 0) throw new Error(`l3ctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}
const namespaces = () => shOk(['ls', '/run/netns']).split('\n').filter(Boolean);
const devices = (ns: string) => (JSON.parse(shOk(['ip', '-n', ns, '-j', 'link', 'show']) || '[]') as { ifname: string }[]).map((l) => l.ifname);

describe('agent cleanup (unscoped, in a private /run/netns)', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  const stale1 = `qrouter-${randomUUID()}`;
  const stale2 = `qrouter-${randomUUID()}`;
  const notOurs = ['qrouter-not-a-uuid', `${tag}-other`];
  let managed = '';
  let qr = '';

  before(async () => {
    if (e2eUnavailable()) return;
    holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs l3ctl-test /run/netns && exec sleep 600'], { stdio: 'ignore' });
    // Wait until the private /run/netns is mounted (it starts empty).
    for (let i = 0; i < 50; i++) {
      const r = sh(['findmnt', '-n', '-o', 'SOURCE', '/run/netns']);
      if (r.stdout.trim() === 'l3ctl-test') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(namespaces(), [], 'private /run/netns is empty');
    run(['config', 'set', 'host_namespace', hostNs]);
    run(['config', 'set', 'send_arp_for_ha', '0']);
    run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    run(['router', 'add', 'r1']);
    run(['interface', 'add', 'r1', 'priv']);
    const s = JSON.parse(readFileSync(store.path, 'utf8')) as { routers: { id: string; interfaces: { id: string }[] }[] };
    managed = `qrouter-${s.routers[0]!.id}`;
    qr = `qr-${s.routers[0]!.interfaces[0]!.id.slice(0, 11)}`;
    // stale1 with a plugged port whose host end sits in the host namespace, stale2 empty.
    shOk(['ip', 'netns', 'add', stale1]);
    shOk(['ip', '-n', hostNs, 'link', 'add', 'tapstale0001', 'type', 'veth', 'peer', 'name', 'qr-stale00001', 'netns', stale1]);
    shOk(['ip', 'netns', 'add', stale2]);
    for (const n of notOurs) shOk(['ip', 'netns', 'add', n]);
  });

  after(() => {
    if (holder) {
      // The router's metadata proxy goes with it; anything else left in a test namespace is ended by pid.
      l3ctl(['router', 'delete', 'r1', '--yes']);
      for (const n of namespaces()) {
        for (const pid of sh(['ip', 'netns', 'pids', n]).stdout.split('\n').filter((l) => /^\d+$/.test(l))) sh(['kill', '-KILL', pid]);
        sh(['ip', 'netns', 'del', n]);
      }
      holder.kill('SIGKILL');
    }
    store.cleanup();
  });

  it('lists, dry-runs, then removes every unowned qrouter- namespace; the managed one and others stay', (t) => {
    if (!requireE2E(t)) return;
    const dry = run(['agent', 'cleanup', '--dry-run']);
    const [a, b] = [stale1, stale2].sort();
    assert.match(dry.stderr, /will remove 2 stale router namespace\(s\):/);
    assert.ok(dry.stderr.includes(`  ${stale1} (devices qr-stale00001)`), dry.stderr);
    assert.ok(dry.stderr.includes(`  ${stale2} (no devices)`), dry.stderr);
    assert.ok(!dry.stderr.includes(managed));
    const cmds = dry.stdout.split('\n').filter((l) => l && !/^\+ ip -n \S+ -j /.test(l));
    const expectFor = (ns: string) => (ns === stale1 ? [`+ ip -n ${ns} -batch -`, '  link del qr-stale00001', `+ ip netns del ${ns}`] : [`+ ip netns del ${ns}`]);
    assert.deepEqual(cmds, [...expectFor(a!), ...expectFor(b!)]);
    assert.ok(namespaces().includes(stale1) && namespaces().includes(stale2), 'dry run removed nothing');

    const noTty = l3ctl(['agent', 'cleanup']);
    assert.equal(noTty.code, 6);
    assert.ok(namespaces().includes(stale1));

    const r = run(['agent', 'cleanup', '--yes']);
    assert.match(r.stderr, new RegExp(`removed ${stale1}`));
    const left = namespaces();
    assert.ok(!left.includes(stale1) && !left.includes(stale2), `stale namespaces gone: ${left.join(' ')}`);
    assert.ok(!devices(hostNs).includes('tapstale0001'), 'host end of the stale port went with it');
    assert.ok(left.includes(managed), 'managed router kept');
    assert.ok(devices(managed).includes(qr), 'its port untouched');
    for (const n of notOurs) assert.ok(left.includes(n), `${n} is not a router namespace: kept`);
    assert.ok(left.includes(hostNs));
    assert.equal(l3ctl(['agent', 'check']).code, 0);

    const again = run(['agent', 'cleanup']);
    assert.match(again.stderr, /no stale router namespaces/);
  });

  it('a disabled router is not handled: its namespace, put back by hand, is removed', (t) => {
    if (!requireE2E(t)) return;
    run(['router', 'disable', 'r1']);
    assert.ok(!namespaces().includes(managed), 'disable tore it down');
    shOk(['ip', 'netns', 'add', managed]);
    const r = run(['agent', 'cleanup', '--yes']);
    assert.match(r.stderr, new RegExp(`removed ${managed}`));
    assert.ok(!namespaces().includes(managed));
    run(['router', 'enable', 'r1']);
    assert.ok(devices(managed).includes(qr), 'enable rebuilt it');
    assert.match(run(['agent', 'cleanup']).stderr, /no stale router namespaces/);
  });
});
