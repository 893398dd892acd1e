// The cross-process store lock (issues 5, 10): mutual exclusion, waits and
// timeouts, takeover of dead and stale holders, and a lease that knows when
// it was lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  withStoreLock,
  LockTimeoutError,
  LockCompromisedError,
  lockDirPath,
  lockOwnerPath,
  LOCK_STALE_MS,
} from '../../src/store/lock.js';
import { UsageError } from '../../src/model/errors.js';
import { fakeLock, ownerFields } from '../helpers/lock-owner.js';

// Compiled layout: dist/test/unit/lock.test.js -> dist/src/store/lock.js
const LOCK_JS = fileURLToPath(new URL('../../src/store/lock.js', import.meta.url));

const tmpDirs: string[] = [];
function tmpStore(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l3ctl-lock-'));
  tmpDirs.push(dir);
  return path.join(dir, 'state.json');
}
after(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const ownerPid = (store: string) => (JSON.parse(fs.readFileSync(lockOwnerPath(store), 'utf8')) as { pid: number }).pid;
/** Files beside the store: no lock dir and no lock moved aside may be left. */
const leftovers = (store: string) => fs.readdirSync(path.dirname(store)).filter((f) => f.includes('.lock'));

/** A child node process running `body` (ESM, top-level await) with the lock module as L. */
function child(body: string): ChildProcess {
  const script = `const L = await import(${JSON.stringify(LOCK_JS)});\nconst { withStoreLock } = L;\n${body}`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves when the child prints `line` on stdout; collects all it prints in `lines`. */
function waitForLine(cp: ChildProcess, line: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`child did not print ${line}; stdout: ${buf}; stderr: ${err}`)), timeoutMs);
    cp.stderr!.on('data', (d) => (err += d));
    cp.stdout!.on('data', (d) => {
      buf += d;
      if (buf.split('\n').includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    cp.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before printing ${line}; stdout: ${buf}; stderr: ${err}`));
    });
  });
}

/** A child that takes the lock, prints "locked", and holds it for holdMs. */
async function holder(store: string, holdMs: number): Promise<ChildProcess> {
  const cp = child(
    `await withStoreLock(${JSON.stringify(store)}, async () => {
       console.log('locked');
       await new Promise((r) => setTimeout(r, ${holdMs}));
     });`,
  );
  await waitForLine(cp, 'locked');
  return cp;
}

async function exitCode(cp: ChildProcess): Promise<number | null> {
  if (cp.exitCode !== null || cp.signalCode !== null) return cp.exitCode;
  const [code] = await once(cp, 'exit');
  return code as number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('concurrent withStoreLock in separate processes never overlap (no lost update)', async () => {
  const store = tmpStore();
  const dir = path.dirname(store);
  const log = path.join(dir, 'log');
  const counter = path.join(dir, 'counter');
  fs.writeFileSync(counter, '0');
  const N_PROC = 4;
  const ROUNDS = 3;
  // Read-sleep-write on a counter: without mutual exclusion updates are lost
  // and enter/exit lines interleave.
  const body = `
    import('node:fs').then(async (fs) => {
      for (let i = 0; i < ${ROUNDS}; i++) {
        await withStoreLock(${JSON.stringify(store)}, async () => {
          fs.appendFileSync(${JSON.stringify(log)}, 'enter ' + process.pid + ' ' + Date.now() + '\\n');
          const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));
          await new Promise((r) => setTimeout(r, 60));
          fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));
          fs.appendFileSync(${JSON.stringify(log)}, 'exit ' + process.pid + ' ' + Date.now() + '\\n');
        }, { timeoutSec: 30 });
      }
    });`;
  const procs = Array.from({ length: N_PROC }, () => child(body));
  const codes = await Promise.all(procs.map(exitCode));
  assert.deepEqual(codes, Array(N_PROC).fill(0));

  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
  assert.equal(lines.length, 2 * N_PROC * ROUNDS);
  let lastExit = 0;
  for (let i = 0; i < lines.length; i += 2) {
    const [e, pidIn, tIn] = lines[i]!;
    const [x, pidOut, tOut] = lines[i + 1]!;
    assert.equal(e, 'enter', `line ${i}`);
    assert.equal(x, 'exit', `line ${i + 1}: another process entered before ${pidIn} left`);
    assert.equal(pidOut, pidIn);
    assert.ok(Number(tIn) >= lastExit, 'entered before the previous holder left');
    lastExit = Number(tOut);
  }
  assert.equal(fs.readFileSync(counter, 'utf8'), String(N_PROC * ROUNDS));
  assert.equal(new Set(lines.map((l) => l[1])).size, N_PROC);
  assert.deepEqual(leftovers(store), [], 'released cleanly: nothing of the lock left');
});

test('a held lock and a short timeout: LockTimeoutError, exit 4, naming the holder; onWaiting after ~1 s', async () => {
  const store = tmpStore();
  const cp = await holder(store, 20_000);
  try {
    assert.equal(ownerPid(store), cp.pid);
    const notices: { msg: string; at: number }[] = [];
    let ran = false;
    const t0 = Date.now();
    await assert.rejects(
      withStoreLock(store, async () => {
        ran = true;
      }, { timeoutSec: 1.5, onWaiting: (msg) => notices.push({ msg, at: Date.now() - t0 }) }),
      (err: unknown) => {
        assert.ok(err instanceof LockTimeoutError);
        assert.equal(err.exitCode, 4);
        assert.equal(err.message, `store ${store} is locked by pid ${cp.pid} (held for more than 1.5 s)`);
        return true;
      },
    );
    const waited = Date.now() - t0;
    assert.equal(ran, false);
    assert.ok(waited >= 1500 && waited < 5000, `timed out after ${waited} ms`);
    assert.equal(notices.length, 1, 'onWaiting is called exactly once');
    assert.equal(notices[0]!.msg, `waiting for the lock held by pid ${cp.pid}…`);
    // After a second of silence, and before the 1.5 s timeout.
    assert.ok(notices[0]!.at >= 1000 && notices[0]!.at < 1500, `notice after ${notices[0]!.at} ms`);

    // The timeout also comes from L3CTL_LOCK_TIMEOUT, and a bad value is a usage error.
    const saved = process.env.L3CTL_LOCK_TIMEOUT;
    try {
      process.env.L3CTL_LOCK_TIMEOUT = '0.3';
      const t1 = Date.now();
      await assert.rejects(withStoreLock(store, async () => {}), LockTimeoutError);
      assert.ok(Date.now() - t1 < 1000, 'env timeout of 0.3 s was not used');
      process.env.L3CTL_LOCK_TIMEOUT = 'soon';
      await assert.rejects(withStoreLock(store, async () => {}), (err: unknown) => err instanceof UsageError && /L3CTL_LOCK_TIMEOUT 'soon'/.test(err.message));
    } finally {
      if (saved === undefined) delete process.env.L3CTL_LOCK_TIMEOUT;
      else process.env.L3CTL_LOCK_TIMEOUT = saved;
    }
  } finally {
    cp.kill('SIGKILL');
    await exitCode(cp);
  }
});

test('a short wait is silent, then the lock is acquired', async () => {
  const store = tmpStore();
  const cp = await holder(store, 400);
  const notices: string[] = [];
  let ran = false;
  await withStoreLock(store, async () => {
    ran = true;
    assert.equal(ownerPid(store), process.pid);
  }, { timeoutSec: 5, onWaiting: (m) => notices.push(m) });
  assert.equal(ran, true);
  assert.deepEqual(notices, []);
  assert.equal(await exitCode(cp), 0);
});

test('a holder killed with SIGKILL is taken over at once (its pid is dead), silently', async (t) => {
  const store = tmpStore();
  const cp = await holder(store, 60_000);
  cp.kill('SIGKILL');
  await exitCode(cp);
  // The dead holder's lock dir is still there, fresh (refreshed within LOCK_UPDATE_MS).
  assert.equal(ownerPid(store), cp.pid);
  const t0 = Date.now();
  let tookOverAfter = -1;
  const notices: string[] = [];
  await withStoreLock(store, async () => {
    tookOverAfter = Date.now() - t0;
    assert.equal(ownerPid(store), process.pid);
  }, { timeoutSec: 15, onWaiting: (m) => notices.push(m) });
  t.diagnostic(`SIGKILLed holder taken over after ${tookOverAfter} ms`);
  assert.ok(tookOverAfter >= 0 && tookOverAfter < 500, `took over after ${tookOverAfter} ms`);
  assert.deepEqual(notices, [], 'no wait to announce');
  assert.deepEqual(leftovers(store), []);
});

test('a holder stopped for less than the stale time keeps the lock; the waiter says it is stopped', async () => {
  const store = tmpStore();
  const staleMs = 3000;
  const cp = child(`
    await withStoreLock(${JSON.stringify(store)}, async (lease) => {
      console.log('locked');
      await new Promise((r) => setTimeout(r, 300));
      lease.assertHeld();
      console.log('still held');
    }, { staleMs: ${staleMs} });`);
  await waitForLine(cp, 'locked');
  cp.kill('SIGSTOP');
  try {
    await assert.rejects(withStoreLock(store, async () => {}, { timeoutSec: 1.5, staleMs }), (err: unknown) => {
      assert.ok(err instanceof LockTimeoutError);
      assert.equal(err.message, `store ${store} is locked by pid ${cp.pid} (stopped; held for more than 1.5 s)`);
      assert.match(err.hint ?? '', new RegExp(`kill -CONT ${cp.pid}`));
      return true;
    });
  } finally {
    cp.kill('SIGCONT');
  }
  await waitForLine(cp, 'still held');
  assert.equal(await exitCode(cp), 0);
  assert.deepEqual(leftovers(store), []);
});

test('a holder stopped past the stale time is taken over; resumed, its assertHeld throws and it saves nothing', async (t) => {
  const store = tmpStore();
  const data = path.join(path.dirname(store), 'data');
  fs.writeFileSync(data, 'initial');
  const staleMs = 2000;
  // The stopped writer: read, (be stopped), check the lease, write.
  const cp = child(`
    const fs = await import('node:fs');
    try {
      await withStoreLock(${JSON.stringify(store)}, async (lease) => {
        const seen = fs.readFileSync(${JSON.stringify(data)}, 'utf8');
        console.log('locked');
        await new Promise((r) => setTimeout(r, 300));
        try {
          lease.assertHeld();
        } catch (e) {
          console.log('assertHeld: ' + e.name + ' ' + e.exitCode + ' ' + e.message);
          throw e;
        }
        fs.writeFileSync(${JSON.stringify(data)}, seen + ' + stopped writer');
      }, { staleMs: ${staleMs} });
    } catch (e) {
      console.log('withStoreLock: ' + e.name);
      process.exitCode = e.exitCode;
    }`);
  let out = '';
  cp.stdout!.on('data', (d) => (out += d));
  await waitForLine(cp, 'locked');
  cp.kill('SIGSTOP');
  const t0 = Date.now();
  try {
    await withStoreLock(store, async (lease) => {
      t.diagnostic(`stopped holder taken over after ${Date.now() - t0} ms (stale time ${staleMs} ms)`);
      assert.ok(Date.now() - t0 >= staleMs - 1000, `not before the lock was stale (${Date.now() - t0} ms)`);
      const seen = fs.readFileSync(data, 'utf8');
      // The stopped writer wakes up while we hold the lock: it must not write.
      cp.kill('SIGCONT');
      assert.equal(await exitCode(cp), 4, out);
      lease.assertHeld(); // and it did not take the lock back
      fs.writeFileSync(data, seen + ' + second writer');
    }, { staleMs, timeoutSec: 10 });
  } finally {
    cp.kill('SIGCONT');
  }
  assert.equal(fs.readFileSync(data, 'utf8'), 'initial + second writer');
  assert.match(out, new RegExp(`^assertHeld: LockCompromisedError 4 lost the lock on store ${store} \\(pid ${process.pid} took it over\\); nothing was saved$`, 'm'));
  assert.match(out, /^withStoreLock: LockCompromisedError$/m);
  assert.deepEqual(leftovers(store), []);
});

test('a pid that lives on but is another process (reused pid) is a dead holder', async () => {
  const store = tmpStore();
  fakeLock(store, { pid: process.pid, token: 'x', ...ownerFields(), start: '1' }, 0);
  const t0 = Date.now();
  await withStoreLock(store, async () => assert.equal(ownerPid(store), process.pid), { timeoutSec: 5 });
  assert.ok(Date.now() - t0 < 500, `taken over at once (${Date.now() - t0} ms)`);
});

test('a holder that cannot be judged (other pid namespace, another boot, an owner file that does not parse) is waited for until its lock is stale', async () => {
  for (const owner of [{ pid: 1, token: 'x', ...ownerFields(), pidns: 'pid:[1]' }, { pid: 1, token: 'x', ...ownerFields(), boot: 'another-boot' }, null]) {
    const store = tmpStore();
    fakeLock(store, owner, 0);
    if (!owner) fs.writeFileSync(lockOwnerPath(store), '{"pid": 12');
    await assert.rejects(withStoreLock(store, async () => {}, { timeoutSec: 0.3 }), (err: unknown) => {
      assert.ok(err instanceof LockTimeoutError);
      assert.match(err.message, new RegExp(`locked by pid ${owner ? 1 : 'unknown'} \\(`));
      return true;
    }, `fresh lock of ${JSON.stringify(owner)} is respected`);
    const t = new Date(Date.now() - LOCK_STALE_MS - 1000);
    fs.utimesSync(lockDirPath(store), t, t);
    await withStoreLock(store, async () => assert.equal(ownerPid(store), process.pid), { timeoutSec: 0.3 });
    assert.deepEqual(leftovers(store), []);
  }
});

test('an empty lock dir (an older l3ctl killed between its mkdir and its owner file) holds nobody up', async () => {
  const store = tmpStore();
  fakeLock(store, null, 0);
  const notices: string[] = [];
  const t0 = Date.now();
  await withStoreLock(store, async () => assert.equal(ownerPid(store), process.pid), { timeoutSec: 3, onWaiting: (m) => notices.push(m) });
  assert.ok(Date.now() - t0 < 500, `taken at once (${Date.now() - t0} ms)`);
  assert.deepEqual(notices, []);
  assert.deepEqual(leftovers(store), []);
});

test('a holder killed at any moment while it takes or releases the lock never leaves one that holds the next l3ctl up', async (t) => {
  const store = tmpStore();
  // Takes and releases the lock as fast as it can; killed at a random moment of that loop.
  const body = `console.log('looping'); for (;;) await withStoreLock(${JSON.stringify(store)}, async () => {});`;
  const rounds = 25;
  for (let round = 1; round <= rounds; round++) {
    const cp = child(body);
    await waitForLine(cp, 'looping');
    await sleep(5 + Math.random() * 20);
    cp.kill('SIGKILL');
    await exitCode(cp);
    const notices: string[] = [];
    const t0 = Date.now();
    await assert.doesNotReject(
      withStoreLock(store, async () => assert.equal(ownerPid(store), process.pid), { timeoutSec: 2, onWaiting: (m) => notices.push(m) }),
      `round ${round}: the lock left by the killed process is taken`,
    );
    const ms = Date.now() - t0;
    assert.ok(ms < 1000 && notices.length === 0, `round ${round}: waited ${ms} ms (${notices.join(' ')})`);
  }
  t.diagnostic(`${rounds} processes killed while taking and releasing the lock`);
  // What a kill can leave beside the store is a directory under a temporary name, never the lock itself;
  // once stale, the next lock taken removes it.
  assert.equal(fs.existsSync(lockDirPath(store)), false);
  const old = new Date(Date.now() - LOCK_STALE_MS - 1000);
  for (const f of leftovers(store)) fs.utimesSync(path.join(path.dirname(store), f), old, old);
  await withStoreLock(store, async () => {});
  assert.deepEqual(leftovers(store), []);
});

test('temporary lock directories abandoned by a kill are removed once stale, and only those', async () => {
  const store = tmpStore();
  const dir = path.dirname(store);
  const lock = path.basename(lockDirPath(store));
  const made = (name: string, ageMs: number) => {
    const p = path.join(dir, name);
    fs.mkdirSync(p);
    fs.writeFileSync(path.join(p, 'owner'), JSON.stringify({ pid: 999999, token: 'x', ...ownerFields() }));
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(p, t, t);
  };
  made(`${lock}.999999.0123abcd.new`, LOCK_STALE_MS + 1000); // killed while making its lock
  made(`${lock}.999998.89abcdef.old`, LOCK_STALE_MS + 1000); // killed while moving a dead lock aside
  made(`${lock}.999997.00ff00ff.new`, 0); // another l3ctl making its lock right now
  made(`${lock}.999996.00ff00ff.new.keep`, LOCK_STALE_MS + 1000); // not a name l3ctl makes
  made(`other.json.lock.999995.0123abcd.new`, LOCK_STALE_MS + 1000); // another store's
  await withStoreLock(store, async () => {});
  assert.deepEqual(leftovers(store).sort(), [`other.json.lock.999995.0123abcd.new`, `${lock}.999996.00ff00ff.new.keep`, `${lock}.999997.00ff00ff.new`]);
});

test('the holder keeps its lock fresh while it holds it', async () => {
  const store = tmpStore();
  await withStoreLock(store, async () => {
    await sleep(1600);
    const age = Date.now() - fs.statSync(lockDirPath(store)).mtimeMs;
    assert.ok(age < 900, `lock refreshed ${age} ms ago`);
  }, { staleMs: 2000 });
});

test('a lock removed or replaced under the holder: assertHeld throws, and so does withStoreLock after fn', async () => {
  const store = tmpStore();
  let finished = false;
  await assert.rejects(
    withStoreLock(store, async (lease) => {
      lease.assertHeld();
      fs.rmSync(lockDirPath(store), { recursive: true });
      assert.throws(() => lease.assertHeld(), (err: unknown) => {
        assert.ok(err instanceof LockCompromisedError);
        assert.equal(err.exitCode, 4);
        assert.equal(err.message, `lost the lock on store ${store} (another l3ctl took it over); nothing was saved`);
        return true;
      });
      finished = true;
    }),
    (err: unknown) => err instanceof LockCompromisedError && /lost the lock on store/.test(err.message),
  );
  assert.equal(finished, true, 'fn ran to its end');

  // Someone else's lock in its place: named, and left alone.
  await assert.rejects(withStoreLock(store, async (lease) => {
    fs.rmSync(lockDirPath(store), { recursive: true });
    fakeLock(store, { pid: 4242, token: 'theirs', ...ownerFields() }, 0);
    assert.throws(() => lease.assertHeld(), /\(pid 4242 took it over\)/);
  }), LockCompromisedError);
  assert.equal(ownerPid(store), 4242, 'the other lock is not removed');
});

test('the lock is released when fn throws, and the error propagates', async () => {
  const store = path.join(path.dirname(tmpStore()), 'deeper', 'state.json'); // parent made on demand
  await assert.rejects(withStoreLock(store, async () => {
    assert.equal(fs.existsSync(lockDirPath(store)), true);
    throw new Error('boom');
  }), /^Error: boom$/);
  assert.deepEqual(leftovers(store), []);
  // Free again, immediately (timeout 0 = a single attempt).
  assert.equal(await withStoreLock(store, async () => 42, { timeoutSec: 0 }), 42);
});
