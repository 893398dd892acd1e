// Issue 4, unit variant: every bad input of the shared table, run through the
// CLI in-process (parse, verb, error mapping) against a hand-written store,
// with a recording runner: a case that slipped past validation would exit 0
// and record commands, never pass as exit 2. A few cases also go through the
// real binary with no `ip` or `iptables` on PATH.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { l3ctl, readStore, tempStore } from '../helpers/cli.js';
import { ERROR_CASES, HAND_WRITTEN } from '../helpers/error-cases.js';
import { l3ctlIn } from '../helpers/inproc.js';
import { RecordingRunner } from '../../src/linux/runner.js';

const store = tempStore();
writeFileSync(store.path, JSON.stringify(HAND_WRITTEN, null, 2) + '\n');
const NO_TOOLS = { PATH: '/nonexistent-l3ctl-test-path' };

describe('bad input: exit 2, one error line, store untouched (no kernel)', () => {
  after(() => store.cleanup());
  const before = readStore(store.path);

  for (const c of ERROR_CASES) {
    it(`${c.what}: l3ctl ${c.args.join(' ')}`, async () => {
      const runner = new RecordingRunner();
      const r = await l3ctlIn(c.args, { store: store.path, runner });
      const lines = r.stderr.split('\n');
      assert.equal(r.code, c.code ?? 2, `exit code\nstderr: ${r.stderr}`);
      assert.deepEqual(runner.calls, [], 'no program run');
      assert.match(lines[0]!, c.first);
      if (c.hint) assert.ok(lines.some((l) => c.hint!.test(l)), `a hint matching ${c.hint}\nstderr: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(r.stdout, '', 'nothing on stdout');
      assert.equal(readStore(store.path), before, 'store byte-identical');
      assert.deepEqual(readdirSync(store.dir).sort(), ['state.json'], 'no .bak, lock or temp file left behind');
    });
  }

  it('through the real binary: one case of each kind, the same lines', async () => {
    for (const c of ERROR_CASES.filter((x) => /^(unknown router|unknown noun|bad choice for -f|malformed router --id|missing required option)$/.test(x.what))) {
      const r = await l3ctl(c.args, { store: store.path, env: NO_TOOLS });
      assert.equal(r.code, c.code ?? 2, `${c.what}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0]!, c.first);
      assert.equal(r.stdout, '');
      assert.equal(readStore(store.path), before);
    }
  });

  it('every error line but the first is a hint or help text', async () => {
    const r = await l3ctl(['router', 'ad'], { store: store.path, env: NO_TOOLS });
    assert.deepEqual(r.stderr.trimEnd().split('\n'), ["l3ctl: error: unknown command 'ad'", 'hint: did you mean add?']);
  });

  it('--help and `help NOUN` print help on stdout and exit 0', async () => {
    for (const args of [['router', '--help'], ['help', 'router']]) {
      const r = await l3ctl(args, { store: store.path, env: NO_TOOLS });
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: l3ctl router/);
      assert.equal(r.stderr, '');
    }
  });

  it('a bare noun prints its help on stderr after the error line, nothing on stdout', async () => {
    const r = await l3ctl(['fip'], { store: store.path, env: NO_TOOLS });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], "l3ctl: error: 'l3ctl fip' needs a command");
    assert.match(lines[1]!, /^Usage: l3ctl fip/);
  });

  it('a store holding a router named with another router id (made before they were kept apart): that word is ambiguous, never the wrong router', async () => {
    const clash = tempStore();
    try {
      const r1 = HAND_WRITTEN.routers[0]!;
      const other = { ...r1, id: '0b8d2c5e-2222-4222-8333-944455566677', name: r1.id, gateway: null, interfaces: [], routes: [] };
      writeFileSync(clash.path, JSON.stringify({ ...HAND_WRITTEN, routers: [r1, other] }, null, 2) + '\n');
      const before = readStore(clash.path);
      const runner = new RecordingRunner();
      const r = await l3ctlIn(['-y', 'router', 'delete', r1.id], { store: clash.path, runner });
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(r.stderr.split('\n').slice(0, 2), [
        `l3ctl: error: router '${r1.id}' is ambiguous: it is the name of router ${other.id} and the id of router 'r1'`,
        `hint: give ${other.id} for the first, 'r1' for the second`,
      ]);
      assert.deepEqual(runner.calls, []);
      assert.equal(readStore(clash.path), before);
      // Either one by the other word.
      assert.equal((await l3ctlIn(['router', 'show', other.id, '-f', 'value', '-c', 'name'], { store: clash.path, runner })).stdout, `${r1.id}\n`);
    } finally {
      clash.cleanup();
    }
  });
});
