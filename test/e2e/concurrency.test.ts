// Many scripts at once (issue 5): l3ctl is many short processes sharing one
// store, so parallel commands must serialise on the store lock and lose
// nothing; a held lock makes a writer wait, then give up with exit 4 naming
// the holder, while readers carry on.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { l3ctl, l3ctlOk, readStore, sh, tempStore, uniqueName, ROOT, type CliResult } from '../helpers/cli.js';
import { baseCommands, e2eUnavailable, removeTestKernel, requireE2E } from '../helpers/e2e.js';
import { agentCheck, kernelVsStore, loadStore, plannedChanges } from '../helpers/converged.js';

const skip = !!e2eUnavailable() && !process.env.CI;
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** A store of its own, a host namespace of its own, and cleanup of every router namespace it made. */
function world(label: string) {
  const store = tempStore();
  const hostNs = uniqueName(`l3ctl-t-${label}`);
  const opts = { store: store.path };
  return {
    store,
    hostNs,
    opts,
    run: (args: string[]) => l3ctlOk(args, opts),
    async base() {
      for (const args of baseCommands(hostNs)) await l3ctlOk(args, opts);
    },
    cleanup() {
      removeTestKernel(store.path, [hostNs]);
      store.cleanup();
    },
  };
}

const failures = (rs: CliResult[], args: string[][]) =>
  rs.flatMap((r, i) => (r.code === 0 ? [] : [`${args[i]!.join(' ')} → exit ${r.code}: ${r.stderr.trim()}`]));

describe('parallel commands on one store', { skip }, () => {
  const worlds: ReturnType<typeof world>[] = [];
  after(() => worlds.forEach((w) => w.cleanup()));

  it('24 fip associate at once on one router: all exit 0, all 24 in the store and in the kernel', async (t) => {
    if (!requireE2E(t)) return;
    const w = world('par24');
    worlds.push(w);
    await w.base();
    await w.run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    await w.run(['router', 'add', 'r1']);
    await w.run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
    await w.run(['interface', 'add', 'r1', 'priv']);

    const args = range(100, 24).map((i) => ['fip', 'associate', `203.0.113.${i}`, `198.51.100.${i}`, '-q']);
    let writing = true;
    const writers = Promise.all(args.map((a) => l3ctl(a, w.opts))).finally(() => (writing = false));
    // Meanwhile a reader, one `fip list` after another: never a half-written
    // store, and never an older one than it saw before.
    const seen: number[] = [];
    const readErrors: string[] = [];
    while (writing) {
      const r = await l3ctl(['fip', 'list', '-f', 'json'], w.opts);
      if (r.code !== 0) readErrors.push(`exit ${r.code}: ${r.stderr.trim()}`);
      else seen.push((JSON.parse(r.stdout) as unknown[]).length);
    }
    const rs = await writers;
    assert.deepEqual(failures(rs, args), []);
    t.diagnostic(`FIP counts seen by the reader: ${seen.join(' ')}`);
    assert.deepEqual(readErrors, [], 'reads during the writes all succeed');
    assert.ok(seen.length > 1, `the reader ran during the writes (${seen.length} reads)`);
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), `each read sees a whole store, never going back: ${seen.join(' ')}`);

    const s = loadStore(w.store.path);
    const r1 = s.routers[0]!;
    assert.deepEqual(
      s.floatingips.map((f) => `${f.floating_ip_address}>${f.fixed_ip_address}@${f.router_id}`).sort(),
      range(100, 24).map((i) => `203.0.113.${i}>198.51.100.${i}@${r1.id}`).sort(),
      'the store holds all 24 mappings',
    );
    const ns = `qrouter-${r1.id}`;
    const nat = sh(['ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat']).stdout.split('\n');
    const floatSnat = nat.filter((l) => l.startsWith('-A l3ctl-float-snat '));
    assert.deepEqual(
      floatSnat.sort(),
      range(100, 24).map((i) => `-A l3ctl-float-snat -s 198.51.100.${i}/32 -j SNAT --to-source 203.0.113.${i} --random-fully`).sort(),
      '24 float-snat rules',
    );
    const qg = `qg-${r1.gateway!.id.slice(0, 11)}`;
    const addrs = sh(['ip', '-n', ns, '-o', '-4', 'addr', 'show', 'dev', qg]).stdout;
    const slash32 = [...addrs.matchAll(/inet (\S+)\/32 /g)].map((m) => m[1]!).sort();
    assert.deepEqual(slash32, range(100, 24).map((i) => `203.0.113.${i}`).sort(), `24 /32 addresses on ${qg}`);
    assert.deepEqual(kernelVsStore(w.store.path), []);
    assert.deepEqual(await plannedChanges(w.store.path), [], 'agent sync --dry-run shows only reads');
  });

  it('routers, interfaces, routes, FIPs and networks changed at the same time: nothing lost', async (t) => {
    if (!requireE2E(t)) return;
    const w = world('parmix');
    worlds.push(w);
    await w.base();
    // Three routers, each on its own /26 of 198.51.100.0/24.
    const R = [1, 2, 3];
    const base = (r: number) => (r - 1) * 64;
    for (const r of R) {
      await w.run(['network', 'add', `priv${r}`, '--cidr', `198.51.100.${base(r)}/26`]);
      await w.run(['router', 'add', `r${r}`]);
      await w.run(['gateway', 'set', `r${r}`, 'ext', '--ip', `203.0.113.${10 + r}`]);
    }

    // Per router, a script of its own (interface first: routes and FIPs need it);
    // the three scripts and the network adds all run at once.
    const perRouter = async (r: number): Promise<string[]> => {
      const first = await l3ctl(['interface', 'add', `r${r}`, `priv${r}`, '-q'], w.opts);
      if (first.code !== 0) return [`interface add r${r}: exit ${first.code}: ${first.stderr.trim()}`];
      const args = [
        ['route', 'add', `r${r}`, `192.0.2.${r * 16}/28`, `198.51.100.${base(r) + 62}`],
        ['route', 'add', `r${r}`, `192.0.2.${r * 16 + 128}/28`, `198.51.100.${base(r) + 61}`],
        ...range(0, 4).map((k) => ['fip', 'associate', `203.0.113.${100 + r * 10 + k}`, `198.51.100.${base(r) + 10 + k}`]),
      ].map((a) => [...a, '-q']);
      const rs = await Promise.all(args.map((a) => l3ctl(a, w.opts)));
      return failures(rs, args);
    };
    const netArgs = range(0, 6).map((k) => ['network', 'add', `side${k}`, '--cidr', `192.0.2.${192 + k * 8}/29`, '-q']);
    const results = await Promise.all([
      ...R.map(perRouter),
      Promise.all(netArgs.map((a) => l3ctl(a, w.opts))).then((rs) => failures(rs, netArgs)),
    ]);
    assert.deepEqual(results.flat(), []);

    const s = loadStore(w.store.path);
    assert.deepEqual(s.networks.map((n) => n.name).sort(), ['ext', 'priv1', 'priv2', 'priv3', ...range(0, 6).map((k) => `side${k}`)].sort());
    for (const r of R) {
      const router = s.routers.find((x) => x.name === `r${r}`)!;
      assert.deepEqual(router.interfaces.map((p) => p.fixed_ips[0]!.ip_address), [`198.51.100.${base(r) + 1}`], `r${r} interface`);
      assert.deepEqual(router.routes.map((x) => x.destination).sort(), [`192.0.2.${r * 16 + 128}/28`, `192.0.2.${r * 16}/28`].sort(), `r${r} routes`);
      assert.deepEqual(
        s.floatingips.filter((f) => f.router_id === router.id).map((f) => f.floating_ip_address).sort(),
        range(0, 4).map((k) => `203.0.113.${100 + r * 10 + k}`).sort(),
        `r${r} floating IPs`,
      );
    }
    assert.deepEqual(kernelVsStore(w.store.path), [], 'the kernel holds exactly what the store says');
    assert.deepEqual(await plannedChanges(w.store.path), [], 'agent sync --dry-run shows only reads');
    const check = await agentCheck(w.store.path);
    if (check) assert.equal(check.code, 0, `agent check is clean: ${check.out}`);
  });
});

describe('the store lock', { skip }, () => {
  const w = world('lock');
  let holder: ChildProcess | undefined;
  after(() => {
    if (holder && holder.exitCode === null) holder.kill('SIGKILL');
    w.cleanup();
  });

  /** A process that holds the lock (the real withStoreLock) until its stdin closes; resolves once it holds it. */
  function holdLock(): Promise<ChildProcess> {
    const lockJs = join(ROOT, 'dist', 'src', 'store', 'lock.js');
    const code = `
      const { withStoreLock } = await import(${JSON.stringify(lockJs)});
      await withStoreLock(${JSON.stringify(w.store.path)}, async () => {
        process.stdout.write('locked\\n');
        await new Promise((r) => {
          const t = setTimeout(r, 120000);
          process.stdin.on('end', () => { clearTimeout(t); r(); }).resume();
        });
      });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve(child));
      child.on('exit', (c) => reject(new Error(`lock holder exited ${c} before taking the lock`)));
    });
  }

  it('a held lock: writers give up with exit 4 naming the holder, after saying they wait; readers do not wait', async (t) => {
    if (!requireE2E(t)) return;
    await w.base();
    await w.run(['router', 'add', 'r1']);
    const before = readStore(w.store.path);
    holder = await holdLock();
    const pid = holder.pid!;

    const t0 = Date.now();
    const quick = await l3ctl(['network', 'add', 'priv', '--cidr', '198.51.100.0/24'], { ...w.opts, env: { L3CTL_LOCK_TIMEOUT: '1' } });
    const quickMs = Date.now() - t0;
    assert.equal(quick.code, 4, quick.stderr);
    const first = quick.stderr.split('\n').find((l) => l.startsWith('l3ctl: error:'));
    assert.match(first ?? '', new RegExp(`^l3ctl: error: .*locked by pid ${pid}\\b`), quick.stderr);
    assert.ok(quickMs >= 1000 && quickMs < 4000, `gave up after the 1 s timeout (took ${quickMs} ms)`);
    assert.equal(readStore(w.store.path), before, 'store untouched');

    const slow = await l3ctl(['router', 'add', 'r2'], { ...w.opts, env: { L3CTL_LOCK_TIMEOUT: '2.5' } });
    assert.equal(slow.code, 4, slow.stderr);
    const lines = slow.stderr.trim().split('\n');
    assert.equal(lines[0], `l3ctl: waiting for the lock held by pid ${pid}…`, 'the wait is announced first');
    assert.match(lines[1] ?? '', new RegExp(`^l3ctl: error: .*locked by pid ${pid}\\b`));
    assert.equal(readStore(w.store.path), before, 'store untouched');

    const t1 = Date.now();
    const list = await l3ctl(['router', 'list', '-f', 'json'], w.opts);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as { name: string }[]).map((r) => r.name), ['r1']);
    assert.ok(Date.now() - t1 < 1000, 'a read does not wait for the lock');
    assert.equal(list.stderr, '', 'and says nothing about it');

    // Once the holder lets go, the next writer goes through at once.
    const exited = new Promise((r) => holder!.once('exit', r));
    holder.stdin!.end();
    await exited;
    const t2 = Date.now();
    await w.run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24', '-q']);
    assert.ok(Date.now() - t2 < 2000, `no wait after release (${Date.now() - t2} ms)`);
  });
});
