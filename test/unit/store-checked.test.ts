// `<store>.checked`: a store l3ctl saved after checking it whole is not
// checked again on read (its digest says the text is the one checked); any
// other text — a hand edit — is checked in full, as before.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { checkedPath, keepDigest, loadState, saveState } from '../../src/store/store.js';
import { l3ctlIn } from '../helpers/inproc.js';
import { removeStore } from '../../src/store/remove.js';
import { StoreError } from '../../src/model/errors.js';
import { emptyState, type State } from '../../src/model/types.js';
import { tempStore } from '../helpers/cli.js';
import { net } from '../helpers/one-subnet.js';

const store = tempStore();
after(() => store.cleanup());

function state(): State {
  const s = emptyState();
  s.networks.push(
    net({ id: 'b1000000-0000-4000-8000-000000000001', name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
    net({ id: 'b2000000-0000-4000-8000-000000000002', name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
  );
  return s;
}

test('a checked save keeps the digest of the saved text beside it; an unchecked one keeps none', async () => {
  await saveState(store.path, state(), { checked: true });
  const text = readFileSync(store.path, 'utf8');
  assert.equal(readFileSync(checkedPath(store.path), 'utf8').split('\n')[0], createHash('sha256').update(text).digest('hex'));
  const s = state();
  s.networks[1]!.name = 'priv2';
  await saveState(store.path, s);
  assert.ok(!existsSync(checkedPath(store.path)), 'a save that was not checked whole drops the old digest');
});

test('a hand edit after a checked save is checked in full: two networks with one name is exit 5, naming it', async () => {
  await saveState(store.path, state(), { checked: true });
  const bad = JSON.parse(readFileSync(store.path, 'utf8')) as State;
  bad.networks[1]!.name = 'ext';
  writeFileSync(store.path, JSON.stringify(bad, null, 2) + '\n');
  await assert.rejects(loadState(store.path), (e: StoreError) => e.exitCode === 5 && /a network named 'ext' already exists/.test(e.message));
});

test('the text of a checked save is trusted as it was checked: the whole-state rules are not run again', async () => {
  // Write a state checkState would refuse, with a digest as if l3ctl had checked it:
  // it loads, which proves the second check is skipped (and only then).
  const bad = state();
  bad.networks[1]!.name = 'ext';
  const text = JSON.stringify(bad, null, 2) + '\n';
  writeFileSync(store.path, text);
  writeFileSync(checkedPath(store.path), createHash('sha256').update(text).digest('hex') + '\n');
  assert.equal((await loadState(store.path)).networks.length, 2);
  rmSync(checkedPath(store.path));
  await assert.rejects(loadState(store.path), StoreError);
});

test('removing a store removes its digest too', async () => {
  await saveState(store.path, state(), { checked: true });
  assert.ok(existsSync(checkedPath(store.path)));
  await removeStore(store.path);
  assert.ok(!existsSync(store.path) && !existsSync(checkedPath(store.path)));
});

test("removing a store removes the daemons' directory beside it once empty, and keeps one that still holds a file", async () => {
  await saveState(store.path, state(), { checked: true });
  mkdirSync(`${store.path}.d/routers/r1`, { recursive: true });
  rmSync(`${store.path}.d/routers/r1`, { recursive: true });
  await removeStore(store.path);
  assert.ok(!existsSync(`${store.path}.d`), 'an empty .d directory goes with the store');
  await saveState(store.path, state(), { checked: true });
  mkdirSync(`${store.path}.d/routers/r2`, { recursive: true });
  writeFileSync(`${store.path}.d/routers/r2/haproxy.pid`, '4242\n');
  await removeStore(store.path);
  assert.ok(!existsSync(store.path));
  assert.ok(existsSync(`${store.path}.d/routers/r2/haproxy.pid`), 'a file left there is kept');
  rmSync(`${store.path}.d`, { recursive: true });
});

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

test('a store written by hand, loaded and checked whole, gets its digest from keepDigest; the next load trusts it', async () => {
  rmSync(checkedPath(store.path), { force: true });
  const s = state();
  s.networks[1]!.name = 'by-hand';
  const text = JSON.stringify(s); // compact, as a tool would write it
  writeFileSync(store.path, text);
  await loadState(store.path);
  keepDigest(store.path);
  assert.equal(readFileSync(checkedPath(store.path), 'utf8').trim(), sha(text), 'the digest alone: no state was given for names');
});

test('keepDigest vouches only for the text that was checked: a later edit of the file is checked in full', async () => {
  rmSync(checkedPath(store.path), { force: true });
  const s = state();
  s.networks[1]!.name = 'before-the-edit';
  writeFileSync(store.path, JSON.stringify(s));
  await loadState(store.path);
  // Edited between the load and the digest: two networks named 'ext' now.
  s.networks[1]!.name = 'ext';
  writeFileSync(store.path, JSON.stringify(s));
  keepDigest(store.path);
  await assert.rejects(loadState(store.path), (e: StoreError) => e.exitCode === 5 && /a network named 'ext' already exists/.test(e.message));
});

test('a store that fails its check gets no digest', async () => {
  rmSync(checkedPath(store.path), { force: true });
  const s = state();
  s.networks[1]!.name = 'ext';
  writeFileSync(store.path, JSON.stringify(s, null, 1));
  await assert.rejects(loadState(store.path), StoreError);
  keepDigest(store.path);
  assert.ok(!existsSync(checkedPath(store.path)) || readFileSync(checkedPath(store.path), 'utf8').trim() !== sha(readFileSync(store.path, 'utf8')));
});

test('agent sync keeps the digest of a hand-written store it checked; under --dry-run it writes nothing', async () => {
  const s = state();
  s.networks[1]!.name = 'synced-by-hand';
  const text = JSON.stringify(s);
  writeFileSync(store.path, text);
  rmSync(checkedPath(store.path), { force: true });
  const dry = await l3ctlIn(['agent', 'sync', '--dry-run'], { store: store.path });
  assert.equal(dry.code, 0, dry.stderr);
  assert.ok(!existsSync(checkedPath(store.path)), 'a dry run writes no digest');
  const r = await l3ctlIn(['agent', 'sync', '-q'], { store: store.path });
  assert.equal(r.code, 0, r.stderr);
  const [digest, names] = readFileSync(checkedPath(store.path), 'utf8').split('\n');
  assert.equal(digest, sha(text));
  assert.deepEqual(JSON.parse(names!).networks.map((n: unknown[]) => n[0]), ['ext', 'synced-by-hand'], 'with the names tab completion reads');
  assert.equal(readFileSync(store.path, 'utf8'), text, 'the store itself is not rewritten');
});
