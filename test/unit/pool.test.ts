// pool.ts: waves of READ_WAVE items start their reads together; `stop` is
// asked before each wave, so after a failure in one wave no later wave starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit, mapStaged, READ_WAVE } from '../../src/agent/pool.js';

const items = (n: number) => Array.from({ length: n }, (_, i) => i);

test('every item runs, in waves: no read of the second wave starts before the first wave is done', async () => {
  const n = READ_WAVE + 8;
  const log: string[] = [];
  const out = await mapStaged(items(n), 4, async (i) => void log.push(`start ${i}`), async (i, started) => {
    await started;
    log.push(`done ${i}`);
    return i * 2;
  });
  assert.deepEqual(out, items(n).map((i) => i * 2));
  const firstOfSecond = log.indexOf(`start ${READ_WAVE}`);
  assert.ok(firstOfSecond > 0);
  assert.equal(log.slice(0, firstOfSecond).filter((l) => l.startsWith('done')).length, READ_WAVE, 'the whole first wave done before the second starts');
});

test('a failure in the first wave: `stop` says so, and no item of the second wave starts', async () => {
  const failures: number[] = [];
  const started: number[] = [];
  const out = await mapStaged(
    items(READ_WAVE + 8),
    4,
    async (i) => void started.push(i),
    async (i) => {
      if (i === 3) failures.push(i);
      return i;
    },
    () => failures.length > 0,
  );
  assert.deepEqual(started, items(READ_WAVE), 'the first wave only');
  assert.equal(out.length, READ_WAVE, 'the first wave finishes: those running are not abandoned');
});

test('mapLimit: at most `limit` at once, results in the items\' order', async () => {
  let running = 0;
  let most = 0;
  const out = await mapLimit(items(10), 3, async (i) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, (10 - i) % 4));
    running--;
    return `#${i}`;
  });
  assert.equal(most, 3);
  assert.deepEqual(out, items(10).map((i) => `#${i}`));
});
