// The programs a plan runs in a namespace (conntrack flushes of a floating IP
// gone or moved) are independent of each other: they run a few at once, each
// still checked, and a missing conntrack is said once, not failed on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyActions } from '../../src/linux/apply.js';
import type { Action } from '../../src/linux/actions.js';
import type { Runner, RunOptions, RunResult } from '../../src/linux/runner.js';
import { CommandError } from '../../src/linux/runner.js';

const NS = 'qrouter-a0000000-0000-4000-8000-00000000000a';
const flush = (fip: string, optional = 'conntrack is not installed'): Action[] => [
  { phase: 'exec', argv: ['conntrack', '-D', '-d', fip], okCodes: [1], optional, independent: true },
  { phase: 'exec', argv: ['conntrack', '-D', '-q', fip], okCodes: [1], optional, independent: true },
];

/** Holds every program until `hold` of them have started, recording the most running at once. */
class GateRunner implements Runner {
  running = 0;
  most = 0;
  started: string[] = [];
  private waiters: (() => void)[] = [];
  constructor(
    private readonly hold: number,
    private readonly answer: (argv: string[]) => RunResult = () => ({ stdout: '', stderr: '', exitCode: 1 }),
  ) {}
  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.started.push(argv.join(' '));
    this.running++;
    this.most = Math.max(this.most, this.running);
    if (this.started.length < this.hold) await new Promise<void>((r) => this.waiters.push(r));
    else for (const w of this.waiters.splice(0)) w();
    this.running--;
    const r = this.answer(argv);
    if (r.exitCode !== 0 && !(opts.okCodes ?? []).includes(r.exitCode)) throw new CommandError(argv, r);
    return r;
  }
  background(): void {}
  async namespaces(): Promise<Set<string>> {
    return new Set();
  }
  async interactive(): Promise<number> {
    return 0;
  }
}

test("a floating IP's two conntrack flushes run at once, in its namespace", async () => {
  const runner = new GateRunner(2);
  // One after the other, the first would wait for the second forever: the test's timeout fails it.
  await applyActions(runner, { ns: NS, hostNs: null, actions: flush('203.0.113.20') }, { sendArpForHa: 0 });
  assert.equal(runner.most, 2);
  assert.deepEqual(runner.started, [`ip netns exec ${NS} conntrack -D -d 203.0.113.20`, `ip netns exec ${NS} conntrack -D -q 203.0.113.20`]);
});

test('many flushes: at most four at once, every one run', async () => {
  const fips = ['203.0.113.20', '203.0.113.21', '203.0.113.22', '203.0.113.23', '203.0.113.24'];
  const runner = new GateRunner(0);
  await applyActions(runner, { ns: NS, hostNs: null, actions: fips.flatMap((f) => flush(f)) }, { sendArpForHa: 0 });
  assert.equal(runner.started.length, 10);
  assert.ok(runner.most <= 4, `at most 4 at once, saw ${runner.most}`);
});

test('a flush that fails otherwise than "nothing to delete" fails the apply', async () => {
  const runner = new GateRunner(0, (argv) => (argv.includes('-q') ? { stdout: '', stderr: 'conntrack v1.4.7: Operation failed: invalid parameters', exitCode: 2 } : { stdout: '', stderr: '', exitCode: 0 }));
  await assert.rejects(applyActions(runner, { ns: NS, hostNs: null, actions: flush('203.0.113.20') }, { sendArpForHa: 0 }), CommandError);
});

test('conntrack missing: said once for all the flushes, and the apply goes on', async () => {
  const warned: string[] = [];
  const missing = { stdout: '', stderr: 'exec of "conntrack" failed: No such file or directory', exitCode: 1 };
  const runner = new GateRunner(0, () => missing);
  await applyActions(runner, { ns: NS, hostNs: null, actions: [...flush('203.0.113.20'), ...flush('203.0.113.21')] }, { sendArpForHa: 0, warn: (t) => warned.push(t) });
  assert.deepEqual(warned, ['conntrack is not installed']);
  assert.equal(runner.started.length, 4);
});

test('a program not marked independent runs alone, in its turn: the flushes before it are done first', async () => {
  const runner = new GateRunner(0);
  const order: Action[] = [...flush('203.0.113.20'), { phase: 'exec', argv: ['true', 'in-order'], okCodes: [1] }, ...flush('203.0.113.21')];
  // How many programs were running when each started; each takes a turn of the event loop.
  const seen: number[] = [];
  let running = 0;
  const orig = runner.run.bind(runner);
  runner.run = async (argv, opts) => {
    seen.push(running++);
    await new Promise((r) => setImmediate(r));
    running--;
    return orig(argv, opts);
  };
  await applyActions(runner, { ns: NS, hostNs: null, actions: order }, { sendArpForHa: 0 });
  assert.deepEqual(runner.started.map((a) => a.split(' ').slice(4).join(' ')), ['conntrack -D -d 203.0.113.20', 'conntrack -D -q 203.0.113.20', 'true in-order', 'conntrack -D -d 203.0.113.21', 'conntrack -D -q 203.0.113.21']);
  assert.equal(seen[2], 0, 'nothing else running when it starts');
  assert.equal(seen[3], 0, 'and it is done before the next flushes start');
});
