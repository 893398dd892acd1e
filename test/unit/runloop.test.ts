// The `agent run` loop in-process: a scripted pass, a fake clock and an
// EventEmitter for signals. Pure, no root.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { passSummary, runLoop, type Clock, type Level, type LogFormat, type PassResult, type RunLoopOptions } from '../../src/agent/runloop.js';
import { L3ctlError } from '../../src/model/errors.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);

/** A queue of things the loop waits on, handed to the test as they are asked for. */
class Waiters<T> {
  private items: T[] = [];
  private takers: ((t: T) => void)[] = [];
  push(t: T): void {
    const take = this.takers.shift();
    if (take) take(t);
    else this.items.push(t);
  }
  next(): Promise<T> {
    const t = this.items.shift();
    return t !== undefined ? Promise.resolve(t) : new Promise((resolve) => this.takers.push(resolve));
  }
  get pending(): number {
    return this.items.length;
  }
}

interface PassCall {
  n: number;
  /** Let the pass end after `ms` of fake time. */
  finish(r?: Partial<PassResult>, ms?: number): void;
  fail(err: Error, ms?: number): void;
}

interface SleepCall {
  ms: number;
  /** The fake time has passed: the sleep ends. */
  elapse(): void;
}

function harness(o: Partial<RunLoopOptions> = {}) {
  let now = T0;
  const passes = new Waiters<PassCall>();
  const sleeps = new Waiters<SleepCall>();
  const lines: { level: Level; line: string }[] = [];
  const signals = new EventEmitter();
  const clock: Clock = {
    now: () => now,
    sleep: (ms, wake) =>
      new Promise<void>((resolve) => {
        if (wake.aborted) return resolve();
        wake.addEventListener('abort', () => resolve(), { once: true });
        sleeps.push({
          ms,
          elapse: () => {
            now += ms;
            resolve();
          },
        });
      }),
  };
  const pass = (n: number) =>
    new Promise<PassResult>((resolve, reject) =>
      passes.push({
        n,
        finish: (r = {}, ms = 0) => {
          now += ms;
          resolve({ routers: 2, changed: [], failed: [], skipped: 0, interval: 5, errors: [], warnings: [], ...r });
        },
        fail: (err, ms = 0) => {
          now += ms;
          reject(err);
        },
      }),
    );
  const done = runLoop({ pass, clock, signals, log: (level, line) => void lines.push({ level, line }) }, { format: 'text' as LogFormat, ...o });
  return { passes, sleeps, lines, signals, done, texts: () => lines.map((l) => l.line) };
}

/** Lets every settled promise run its continuation (the loop reaching its next await). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('agent run loop', { timeout: 5000 }, () => {
  it('logs one line per pass and waits the interval minus the time the pass took', async () => {
    const h = harness();
    (await h.passes.next()).finish({ routers: 16, changed: ['r3'] }, 210);
    const s = await h.sleeps.next();
    assert.equal(s.ms, 5000 - 210, 'interval from the pass (periodic_interval 5 s)');
    assert.deepEqual(h.lines, [{ level: 'info', line: 'pass 1: 16 routers, 1 changed (r3), 0 failed, 0.21 s' }]);
    s.elapse();
    const p2 = await h.passes.next();
    assert.equal(p2.n, 2);
    h.signals.emit('SIGTERM');
    p2.finish();
    assert.equal(await h.done, 2);
    assert.equal(h.texts()[1], 'pass 2: 2 routers, 0 changed, 0 failed, 0.00 s');
  });

  it('SIGHUP while waiting runs a pass at once, marked (SIGHUP); the next one waits the full interval again', async () => {
    const h = harness();
    (await h.passes.next()).finish();
    await h.sleeps.next(); // waiting 5 s
    h.signals.emit('SIGHUP');
    const p2 = await h.passes.next();
    assert.equal(p2.n, 2);
    p2.finish({}, 100);
    const s = await h.sleeps.next();
    assert.match(h.texts()[1]!, /^pass 2 \(SIGHUP\): /);
    assert.equal(s.ms, 4900);
    s.elapse();
    const p3 = await h.passes.next();
    h.signals.emit('SIGTERM');
    p3.finish();
    await h.done;
    assert.match(h.texts()[2]!, /^pass 3: /, 'a timer pass is not marked');
  });

  it('SIGHUP during a pass runs another right after it, without waiting', async () => {
    const h = harness();
    const p1 = await h.passes.next();
    h.signals.emit('SIGHUP');
    p1.finish();
    const p2 = await h.passes.next();
    assert.equal(h.sleeps.pending, 0, 'no sleep between the two passes');
    h.signals.emit('SIGTERM');
    p2.finish();
    assert.equal(await h.done, 2);
    assert.match(h.texts()[1]!, /^pass 2 \(SIGHUP\): /);
  });

  it('SIGTERM during a pass: the pass finishes and is logged, then the loop returns; handlers are removed', async () => {
    const h = harness();
    const p1 = await h.passes.next();
    h.signals.emit('SIGTERM');
    await settle();
    assert.equal(h.lines.length, 0, 'the pass is not cut short');
    p1.finish({ changed: ['r1', 'r2'] }, 50);
    assert.equal(await h.done, 1);
    assert.deepEqual(h.texts(), ['pass 1: 2 routers, 2 changed (r1, r2), 0 failed, 0.05 s']);
    assert.equal(h.sleeps.pending, 0);
    for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) assert.equal(h.signals.listenerCount(s), 0, s);
  });

  it('SIGTERM (or SIGINT) while waiting ends the loop at once', async () => {
    for (const sig of ['SIGTERM', 'SIGINT']) {
      const h = harness();
      (await h.passes.next()).finish();
      await h.sleeps.next();
      h.signals.emit(sig);
      assert.equal(await h.done, 1, sig);
      assert.equal(h.passes.pending, 0);
    }
  });

  it('a failing pass is logged with its hint and the loop goes on after the interval (default 40 s before any config was read)', async () => {
    const h = harness();
    (await h.passes.next()).fail(new L3ctlError('the store stayed locked for 30 s', 4, 'another l3ctl holds it'), 30);
    const s = await h.sleeps.next();
    assert.equal(s.ms, 40_000 - 30);
    assert.deepEqual(h.lines, [{ level: 'error', line: 'l3ctl: error: pass 1 failed: the store stayed locked for 30 s\nhint: another l3ctl holds it' }]);
    s.elapse();
    const p2 = await h.passes.next();
    h.signals.emit('SIGTERM');
    p2.finish();
    assert.equal(await h.done, 2);
    assert.match(h.texts()[1]!, /^pass 2: 2 routers/);
  });

  it('router errors and warnings are logged before the pass line; --interval overrides the configuration', async () => {
    const h = harness({ fixedInterval: 1 });
    (await h.passes.next()).finish({
      failed: ['r3'],
      errors: [
        { router: 'r3', message: 'command failed: ip netns exec …', hint: 'see above' },
        { router: null, message: 'bridge brq1 missing' },
      ],
      warnings: ['use_namespaces=false: …'],
      interval: 40,
    });
    const s = await h.sleeps.next();
    assert.equal(s.ms, 1000);
    h.signals.emit('SIGTERM');
    await h.done;
    assert.deepEqual(h.lines, [
      { level: 'warning', line: 'l3ctl: warning: use_namespaces=false: …' },
      { level: 'error', line: 'l3ctl: error: router r3: command failed: ip netns exec …\nhint: see above' },
      { level: 'error', line: 'l3ctl: error: network bridges: bridge brq1 missing' },
      { level: 'info', line: 'pass 1: 2 routers, 0 changed, 1 failed (r3), 0.00 s' },
    ]);
  });

  it('json: one object per line with time, level, msg and the pass fields, the state report included', async () => {
    const h = harness({ format: 'json' });
    const report = { binary: 'l3ctl', start_flag: true, configurations: { routers: 2 } };
    (await h.passes.next()).finish({ changed: ['r3'], skipped: 1, errors: [{ router: 'r3', message: 'boom', hint: 'h' }], failed: ['r3'], report }, 1500);
    await h.sleeps.next();
    h.signals.emit('SIGHUP');
    const p2 = await h.passes.next();
    h.signals.emit('SIGTERM');
    p2.fail(new Error('store unreadable'));
    await h.done;
    assert.ok(h.lines.every((l) => !l.line.includes('\n')), 'one line each');
    const objs = h.lines.map((l) => JSON.parse(l.line));
    assert.deepEqual(objs[0], { time: '2024-01-02T03:04:06.500Z', level: 'error', msg: 'router r3: boom', pass: 1, router: 'r3', hint: 'h' });
    assert.deepEqual(objs[1], {
      time: '2024-01-02T03:04:06.500Z',
      level: 'info',
      msg: 'pass 1: 2 routers (1 not handled here), 1 changed (r3), 1 failed (r3), 1.50 s',
      pass: 1,
      trigger: 'start',
      routers: 2,
      changed: ['r3'],
      failed: ['r3'],
      skipped: 1,
      seconds: 1.5,
      report,
    });
    assert.deepEqual(objs[2], { time: '2024-01-02T03:04:06.500Z', level: 'error', msg: 'pass 2 failed: store unreadable', pass: 2, trigger: 'SIGHUP', seconds: 0 });
    assert.equal(objs.length, 3);
  });

  it('once (--dry-run): one pass, no wait', async () => {
    const h = harness({ once: true });
    (await h.passes.next()).finish();
    assert.equal(await h.done, 1);
    assert.equal(h.sleeps.pending, 0);
  });

  it('a text line names at most 10 routers', () => {
    const many = Array.from({ length: 12 }, (_, i) => `r${i + 1}`);
    const r: PassResult = { routers: 12, changed: many, failed: [], skipped: 0, interval: 40, errors: [], warnings: [] };
    assert.equal(passSummary(7, 'timer', r, 1234), 'pass 7: 12 routers, 12 changed (r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, +2 more), 0 failed, 1.23 s');
  });
});
