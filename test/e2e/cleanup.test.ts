// `agent cleanup` is host-wide: without router_id it looks at every
// qrouter-<uuid> namespace. So this test runs l3ctl and its kernel commands in
// a private mount namespace with its own empty /run/netns: the namespaces it
// makes are the only ones l3ctl can see there, and when the holder process
// ends they go. In it: this store's router, a second registered store's
// router, the lab (its own store), and namespaces nobody owns — empty, with a
// device, with a process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { BIN, tempStore, uniqueName, type CliResult } from '../helpers/cli.js';
import { e2eUnavailable, requireE2E } from '../helpers/e2e.js';

const store = tempStore();
const storeB = tempStore();
const labStore = tempStore();
const tag = uniqueName('l3ctl-t-clean');
const hostNs = `${tag}-h`;
const hostNsB = `${tag}-hb`;
const labPrefix = `${tag}-lab`;
let holder: ChildProcess | null = null;
let sleeper: ChildProcess | null = null;

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
/** l3ctl inside, on `storePath`; every store here shares this test process's registry (helpers/cli.ts). */
function l3ctl(args: string[], storePath = store.path): CliResult {
  const argv = inside([process.execPath, BIN, ...args]);
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8', input: '', env: { ...process.env, L3CTL_STORE: storePath, L3CTL_LAB_PREFIX: labPrefix }, timeout: 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function run(args: string[], storePath = store.path): CliResult {
  const r = l3ctl(args, storePath);
  if (r.code !== 0) throw new Error(`l3ctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}
const namespaces = () => shOk(['ls', '/run/netns']).split('\n').filter(Boolean);
const devices = (ns: string) => (JSON.parse(shOk(['ip', '-n', ns, '-j', 'link', 'show']) || '[]') as { ifname: string }[]).map((l) => l.ifname);
const routerNs = (path: string) => `qrouter-${(JSON.parse(readFileSync(path, 'utf8')) as { routers: { id: string }[] }).routers[0]!.id}`;
const registered = () => (existsSync(process.env.L3CTL_REGISTRY!) ? (JSON.parse(readFileSync(process.env.L3CTL_REGISTRY!, 'utf8')) as { stores: { path: string }[] }).stores.map((e) => e.path) : []);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** The commands a dry run would change things with (reads dropped). */
const mutating = (stdout: string) => stdout.split('\n').filter((l) => l && !/^\+ ip -n \S+ -j |^\+ ip netns pids /.test(l));

describe('agent cleanup (unscoped, in a private /run/netns)', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  const withDevice = `qrouter-${randomUUID()}`;
  const empty = `qrouter-${randomUUID()}`;
  const withProcess = `qrouter-${randomUUID()}`;
  const notOurs = ['qrouter-not-a-uuid', `${tag}-other`];
  let managed = '';
  let managedB = '';
  let bareB = '';
  let labRouter = '';
  let qr = '';

  before(async () => {
    if (e2eUnavailable()) return;
    holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs l3ctl-test /run/netns && exec sleep 600'], { stdio: 'ignore' });
    // Wait until the private /run/netns is mounted (it starts empty). findmnt
    // lists every mount stacked there, the host's bind mount first.
    for (let i = 0; i < 50; i++) {
      const r = sh(['findmnt', '-n', '-o', 'SOURCE', '/run/netns']);
      if (r.stdout.split('\n').map((l) => l.trim()).includes('l3ctl-test')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(namespaces(), [], 'private /run/netns is empty');
    // This store: r1 with a port. A second store: rb with a port. The lab, in a store of its own.
    for (const [path, ns, router] of [[store.path, hostNs, 'r1'], [storeB.path, hostNsB, 'rb']] as const) {
      run(['config', 'set', 'host_namespace', ns], path);
      run(['config', 'set', 'send_arp_for_ha', '0'], path);
      run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24'], path);
      run(['router', 'add', router], path);
      run(['interface', 'add', router, 'priv'], path);
    }
    // A router without ports: its namespace is empty, as an unknown stale one would be.
    run(['router', 'add', 'rb-bare'], storeB.path);
    run(['lab', '--store', labStore.path, 'up']);
    managed = routerNs(store.path);
    managedB = routerNs(storeB.path);
    bareB = `qrouter-${(JSON.parse(readFileSync(storeB.path, 'utf8')) as { routers: { id: string; name: string }[] }).routers.find((r) => r.name === 'rb-bare')!.id}`;
    labRouter = routerNs(labStore.path);
    const s = JSON.parse(readFileSync(store.path, 'utf8')) as { routers: { interfaces: { id: string }[] }[] };
    qr = `qr-${s.routers[0]!.interfaces[0]!.id.slice(0, 11)}`;
    // Nobody's: one with a plugged port whose host end sits in the host namespace, one empty, one with a process.
    shOk(['ip', 'netns', 'add', withDevice]);
    shOk(['ip', '-n', hostNs, 'link', 'add', 'tapstale0001', 'type', 'veth', 'peer', 'name', 'qr-stale00001', 'netns', withDevice]);
    shOk(['ip', 'netns', 'add', empty]);
    shOk(['ip', 'netns', 'add', withProcess]);
    sleeper = spawn(inside(['ip', 'netns', 'exec', withProcess, 'sleep', '600'])[0]!, inside(['ip', 'netns', 'exec', withProcess, 'sleep', '600']).slice(1), { stdio: 'ignore' });
    for (let i = 0; i < 50 && !shOk(['ip', 'netns', 'pids', withProcess]).trim(); i++) await new Promise((res) => setTimeout(res, 50));
    for (const n of notOurs) shOk(['ip', 'netns', 'add', n]);
  });

  after(() => {
    if (sleeper?.pid && alive(sleeper.pid)) sleeper.kill('SIGKILL');
    if (holder) {
      // The lab's and the routers' metadata proxies go with them; anything else left in a test namespace is ended by pid.
      l3ctl(['lab', '--store', labStore.path, 'down']);
      for (const n of namespaces()) {
        for (const pid of sh(['ip', 'netns', 'pids', n]).stdout.split('\n').filter((l) => /^\d+$/.test(l))) sh(['kill', '-KILL', pid]);
        sh(['ip', 'netns', 'del', n]);
      }
      holder.kill('SIGKILL');
    }
    for (const s of [store, storeB, labStore]) s.cleanup();
  });

  it("keeps the routers of a second store and the lab's; removes the empty unknown namespace; lists unknown ones in use", (t) => {
    if (!requireE2E(t)) return;
    assert.deepEqual(registered().sort(), [store.path, storeB.path, labStore.path].sort(), 'each store registered itself when first written');
    const pid = String(sleeper!.pid);
    const dry = run(['agent', 'cleanup', '--dry-run']);
    assert.ok(dry.stderr.includes(`keeping 2 router namespace(s) of store ${storeB.path}\n`), dry.stderr);
    assert.ok(dry.stderr.includes(`keeping 1 router namespace(s) of store ${labStore.path}\n`), dry.stderr);
    assert.ok(dry.stderr.includes(`keeping 2 router namespace(s) no store on this host owns, still in use (--force removes them):\n`), dry.stderr);
    assert.ok(dry.stderr.includes(`  ${withDevice} (devices qr-stale00001)\n`), dry.stderr);
    assert.ok(dry.stderr.includes(`  ${withProcess} (no devices; processes ${pid})\n`), dry.stderr);
    assert.ok(dry.stderr.includes(`will remove 1 stale router namespace(s):\n  ${empty} (no devices)\n`), dry.stderr);
    for (const ns of [managed, managedB, bareB, labRouter]) assert.ok(!dry.stderr.includes(`  ${ns}`), `${ns} is not listed`);
    assert.deepEqual(mutating(dry.stdout), [`+ ip netns del ${empty}`]);
    assert.ok(namespaces().includes(empty), 'dry run removed nothing');

    const noTty = l3ctl(['agent', 'cleanup']);
    assert.equal(noTty.code, 6);
    assert.ok(namespaces().includes(empty));

    const r = run(['agent', 'cleanup', '--yes']);
    assert.match(r.stderr, new RegExp(`removed ${empty}`));
    const left = namespaces();
    assert.ok(!left.includes(empty), 'the empty one is gone');
    for (const ns of [withDevice, withProcess, managed, managedB, bareB, labRouter, hostNs, hostNsB, ...notOurs]) assert.ok(left.includes(ns), `${ns} kept`);
    assert.ok(devices(managed).includes(qr), 'our router untouched');
    assert.ok(devices(withDevice).includes('qr-stale00001'), 'the unknown one in use untouched');
    assert.ok(alive(sleeper!.pid!), 'its process untouched');
    assert.equal(l3ctl(['agent', 'check']).code, 0);
    assert.equal(l3ctl(['agent', 'check'], storeB.path).code, 0, 'the second store has no drift');
    const lab = l3ctl(['lab', '--store', labStore.path, 'check']);
    assert.equal(lab.code, 0, `the lab still works: ${lab.stdout}${lab.stderr}`);
  });

  it('--force removes the unknown ones in use too, ending their processes; other stores stay', async (t) => {
    if (!requireE2E(t)) return;
    const r = run(['agent', 'cleanup', '--force', '--yes']);
    assert.match(r.stderr, /will remove 2 stale router namespace\(s\):/);
    const left = namespaces();
    assert.ok(!left.includes(withDevice) && !left.includes(withProcess), `forced ones gone: ${left.join(' ')}`);
    assert.ok(!devices(hostNs).includes('tapstale0001'), 'the host end of the stale port went with it');
    for (let i = 0; i < 40 && alive(sleeper!.pid!); i++) await new Promise((res) => setTimeout(res, 50));
    assert.ok(!alive(sleeper!.pid!), 'its process was ended');
    for (const ns of [managed, managedB, bareB, labRouter]) assert.ok(left.includes(ns), `${ns} kept even with --force`);
    assert.match(run(['agent', 'cleanup', '--force']).stderr, /no stale router namespaces/);
  });

  it('a store that is gone leaves the registry; its namespaces are unknown then: the empty one goes, the one in use stays', (t) => {
    if (!requireE2E(t)) return;
    rmSync(storeB.path);
    run(['agent', 'cleanup', '--dry-run']);
    assert.ok(registered().includes(storeB.path), 'a dry run changes nothing, the registry included');
    const r = run(['agent', 'cleanup', '--yes']);
    assert.ok(!registered().includes(storeB.path), 'pruned from the registry');
    assert.ok(registered().includes(store.path) && registered().includes(labStore.path));
    assert.ok(r.stderr.includes(`  ${managedB} (devices `), r.stderr);
    assert.ok(r.stderr.includes(`will remove 1 stale router namespace(s):\n  ${bareB} (no devices)\n`), r.stderr);
    assert.ok(namespaces().includes(managedB) && !namespaces().includes(bareB));
  });

  it('a disabled router of this store is not handled: its namespace, put back by hand, is removed', (t) => {
    if (!requireE2E(t)) return;
    // A live router: no terminal, so the confirmation is --yes.
    run(['router', 'disable', 'r1', '--yes']);
    assert.ok(!namespaces().includes(managed), 'disable tore it down');
    shOk(['ip', 'netns', 'add', managed]);
    shOk(['ip', '-n', managed, 'link', 'add', 'qr-byhand0001', 'type', 'veth', 'peer', 'name', 'qr-byhand0002']);
    const r = run(['agent', 'cleanup', '--yes']);
    assert.ok(r.stderr.includes(`  ${managed} (devices qr-byhand0001, qr-byhand0002; router 'r1' of this store, not handled here: admin-down)\n`), r.stderr);
    assert.match(r.stderr, new RegExp(`removed ${managed}`));
    assert.ok(!namespaces().includes(managed));
    run(['router', 'enable', 'r1']);
    assert.ok(devices(managed).includes(qr), 'enable rebuilt it');
    assert.ok(namespaces().includes(labRouter), "the lab's router is still there");
  });
});
