// A writer stopped while it holds the store lock (issue 10, item 10). With
// the old 4 s stale time a writer stopped for longer lost the lock, a second
// writer saved, and the first then saved over it. Now a stopped writer keeps
// the lock for LOCK_STALE_MS (the second waits, then applies on top); stopped
// for longer it loses the lock to the waiter, and when it resumes it saves
// nothing, exits 4, and puts the kernel in line with the store as it is then.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, l3ctlOk, tempStore, uniqueName } from '../helpers/cli.js';
import { baseCommands, e2eUnavailable, removeTestKernel, requireE2E } from '../helpers/e2e.js';
import { agentCheck, kernelVsStore, loadStore, plannedChanges } from '../helpers/converged.js';
import { LOCK_STALE_MS } from '../../src/store/lock.js';

const store = tempStore();
const hostNs = uniqueName('l3ctl-t-lock');
const opts = { store: store.path };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Writer {
  child: ChildProcess;
  stderr: () => string;
  /** Exit code once it exits (128+n for a signal death). */
  done: Promise<number>;
}

/** `l3ctl ARGS` in the background; with `pauseOn`, it stalls 500 ms before the first command matching it. */
function writer(args: string[], env: Record<string, string> = {}, pauseOn?: string): Writer {
  const fault = pauseOn ? { L3CTL_FAULT_INJECT: pauseOn, L3CTL_FAULT_DELAY_MS: '500' } : {};
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, L3CTL_STORE: store.path, ...fault, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return { child, stderr: () => err, done };
}

/** Resolves once the writer is inside its apply (holding the lock), at the injected pause. */
async function pausedInApply(w: Writer): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (/fault injection: delaying/.test(w.stderr())) return;
    if (w.child.exitCode !== null) throw new Error(`writer exited ${w.child.exitCode} before its apply: ${w.stderr()}`);
    await sleep(10);
  }
  throw new Error(`writer never reached its apply: ${w.stderr()}`);
}

const fips = () => loadStore(store.path).floatingips.map((f) => `${f.floating_ip_address}>${f.fixed_ip_address}`).sort();

async function assertConverged(what: string): Promise<void> {
  assert.deepEqual(kernelVsStore(store.path), [], `${what}: the kernel holds what the store says`);
  assert.deepEqual(await plannedChanges(store.path), [], `${what}: agent sync --dry-run shows only reads`);
  const check = await agentCheck(store.path);
  assert.ok(check, 'agent check exists');
  assert.equal(check.code, 0, `${what}: agent check: ${check.out}`);
}

describe('a writer stopped while it holds the lock', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  const stopped: ChildProcess[] = [];
  before(async () => {
    if (e2eUnavailable()) return;
    for (const args of baseCommands(hostNs)) await l3ctlOk(args, opts);
    await l3ctlOk(['network', 'add', 'priv', '--cidr', '198.51.100.0/24'], opts);
    await l3ctlOk(['router', 'add', 'r1'], opts);
    await l3ctlOk(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10'], opts);
    await l3ctlOk(['interface', 'add', 'r1', 'priv'], opts);
  });
  after(() => {
    for (const c of stopped) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    removeTestKernel(store.path, [hostNs]);
    store.cleanup();
  });

  it('stopped past the old 4 s stale time: keeps the lock; the second writer waits and applies on top', async (t) => {
    if (!requireE2E(t)) return;
    const a = writer(['fip', 'associate', '203.0.113.101', '198.51.100.101', '-q'], {}, '203\\.0\\.113\\.101');
    stopped.push(a.child);
    await pausedInApply(a);
    a.child.kill('SIGSTOP');
    const b = writer(['fip', 'associate', '203.0.113.102', '198.51.100.102', '-q']);
    await sleep(6000);
    assert.equal(b.child.exitCode, null, `the second writer still waits: ${b.stderr()}`);
    assert.match(b.stderr(), new RegExp(`^l3ctl: waiting for the lock held by pid ${a.child.pid}…$`, 'm'));
    assert.deepEqual(fips(), [], 'nothing saved yet');
    a.child.kill('SIGCONT');
    assert.equal(await a.done, 0, a.stderr());
    assert.equal(await b.done, 0, b.stderr());
    assert.deepEqual(fips(), ['203.0.113.101>198.51.100.101', '203.0.113.102>198.51.100.102'], 'both changes are in the store');
    await assertConverged('after both writers');
  });

  it(`stopped past the stale time (${LOCK_STALE_MS / 1000} s): the waiter takes over and saves; the first exits 4, saves nothing`, async (t) => {
    if (!requireE2E(t)) return;
    const withB = [...fips(), '203.0.113.104>198.51.100.104'].sort();
    const a = writer(['fip', 'associate', '203.0.113.103', '198.51.100.103', '-q'], {}, '203\\.0\\.113\\.103');
    stopped.push(a.child);
    await pausedInApply(a);
    a.child.kill('SIGSTOP');
    const t0 = Date.now();
    // Its timeout must outlast the stale time.
    const b = writer(['fip', 'associate', '203.0.113.104', '198.51.100.104', '-q'], { L3CTL_LOCK_TIMEOUT: String(LOCK_STALE_MS / 1000 + 30) });
    assert.equal(await b.done, 0, b.stderr());
    const waited = Date.now() - t0;
    t.diagnostic(`the second writer finished ${waited} ms after the first was stopped`);
    assert.ok(waited >= LOCK_STALE_MS - 3000, `it waited for the lock to go stale (${waited} ms)`);
    assert.deepEqual(fips(), withB);

    a.child.kill('SIGCONT');
    assert.equal(await a.done, 4, a.stderr());
    const first = a.stderr().split('\n').find((l) => l.startsWith('l3ctl: error:'));
    assert.match(first ?? '', new RegExp(`^l3ctl: error: lost the lock on store ${store.path} \\((pid ${b.child.pid}|another l3ctl) took it over\\); nothing was saved$`), a.stderr());
    assert.doesNotMatch(a.stderr(), /^\s+at /m, 'no stack trace');
    assert.deepEqual(fips(), withB, "the second writer's change is kept; the first one's is not saved");
    await assertConverged('after the stopped writer resumed');
  });
});
