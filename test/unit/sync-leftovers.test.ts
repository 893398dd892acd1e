// agent sync reads the host namespace's leftovers (what of ours no stored
// router owns there) with its first reads, and uses that early read only when
// the pass changed nothing; after a change it reads again. These tests hold
// both halves: one read when quiet, and a fresh read when a router's pass
// tore down what the early read had seen.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { OBSERVE_SCRIPT } from '../../src/linux/observe.js';
import type { State } from '../../src/model/types.js';
import { tempStore } from '../helpers/cli.js';
import { fakeFor, type FakeSystem } from '../helpers/fakesys.js';
import { l3ctlIn } from '../helpers/inproc.js';
import { BRP, HOST, NS, QG, QR, R, converge, world } from '../helpers/world.js';

/** The one-script reads of the host namespace. */
const hostReads = (f: FakeSystem) => f.calls.filter((c) => c.argv.includes(OBSERVE_SCRIPT) && c.argv.slice(0, 4).join(' ') === `ip netns exec ${HOST}`).length;
/** The reads of the bridges' side alone (the host namespace's links). */
const linkReads = (f: FakeSystem) => f.calls.filter((c) => c.argv.join(' ') === `ip -n ${HOST} -j addr show`).length;

const store = tempStore();
after(() => store.cleanup());

/** The fake kernel built for `s` with the store's own daemon paths (as a sync from that store builds it). */
const build = (f: FakeSystem, s: State) => converge({ runner: f, files: f.files, storePath: store.path }, s);

function sync(f: FakeSystem, s: State) {
  writeFileSync(store.path, JSON.stringify(s));
  return l3ctlIn(['agent', 'sync'], { store: store.path, runner: f, files: f.files });
}

test('a quiet pass reads the host namespace once, early, and changes nothing', async (t) => {
  const f = fakeFor(t);
  const s = world({ gateway: true, port: true, fips: [['203.0.113.20', '198.51.100.5']] });
  await build(f, s);
  f.calls.length = 0;
  const r = await sync(f, s);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, 'synced 1 router(s), 0 changed\n');
  assert.equal(hostReads(f), 1);
  assert.equal(linkReads(f), 0, "the bridges' side comes from that read too");
});

test("a pass whose bridges changed reads the bridges' side again for its routers", async (t) => {
  const f = fakeFor(t);
  const s = world({ gateway: true, port: true });
  await build(f, s);
  await f.sh(['ip', '-n', HOST, 'link', 'del', BRP]);
  f.calls.length = 0;
  const r = await sync(f, s);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`\\+bridge ${BRP}`));
  assert.equal(linkReads(f), 1, 'read after the bridge was made');
  // The router's host end was plugged into the new bridge: a second pass finds it all in place.
  const again = await sync(f, s);
  assert.equal(again.stderr, 'synced 1 router(s), 0 changed\n');
});

test('a pass that changed a router reads the host namespace again before planning its leftovers', async (t) => {
  const f = fakeFor(t);
  const s = world({ gateway: true, port: true, fips: [['203.0.113.20', '198.51.100.5']] });
  await build(f, s);
  await f.sh(['ip', '-n', NS, 'addr', 'del', '203.0.113.20/32', 'dev', QG]);
  f.calls.length = 0;
  const r = await sync(f, s);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^r1: \+fip 203\.0\.113\.20\n/);
  assert.equal(hostReads(f), 2);
});

test("a router moved out of the host namespace: its pass takes its devices there away, and the leftovers' plan, read afresh, does not delete them again", async (t) => {
  const f = fakeFor(t);
  // First shared: use_namespaces false, the router's devices in the host namespace.
  const shared = world({ gateway: true, port: true, config: { use_namespaces: 'false', router_id: R } });
  await build(f, shared);
  const inHost = async () => (await f.sh(['ip', '-n', HOST, '-j', 'addr', 'show'])).stdout;
  assert.match(await inHost(), new RegExp(QR));
  // Then in a namespace of its own.
  const own = world({ gateway: true, port: true });
  f.calls.length = 0;
  const r = await sync(f, own);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /error/);
  assert.doesNotMatch(await inHost(), new RegExp(`${QR}|${QG}`), 'gone from the host namespace');
  assert.equal(hostReads(f), 2, 'the early read, and one after the change');
  const again = await sync(f, own);
  assert.equal(again.stderr, 'synced 1 router(s), 0 changed\n');
});
