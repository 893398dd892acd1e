// names.ts: a checked save keeps, after the digest, the names tab completion
// reads, tied to the store file it wrote. Completion takes names from there
// while the store is that file, and reads the store itself once it is not.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { complete } from '../../src/cli/complete.js';
import { checkedPath, saveState } from '../../src/store/store.js';
import { emptyState, type State } from '../../src/model/types.js';
import { tempStore } from '../helpers/cli.js';
import { net, port } from '../helpers/one-subnet.js';

const store = tempStore();
after(() => store.cleanup());

const EXT = 'c1000000-0000-4000-8000-000000000001';
const PRIV = 'c2000000-0000-4000-8000-000000000002';
function state(): State {
  const s = emptyState();
  s.networks.push(
    net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
    net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
  );
  s.routers.push({
    id: 'c3000000-0000-4000-8000-000000000003',
    name: 'r1',
    admin_state_up: true,
    gateway: null,
    interfaces: [port({ id: 'c4000000-0000-4000-8000-000000000004', network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:04', admin_state_up: true })],
    routes: [],
    ha: false,
    ha_vr_id: null,
  });
  s.floatingips.push({ id: 'c5000000-0000-4000-8000-000000000005', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: null, router_id: null });
  return s;
}

const env = () => ({ L3CTL_STORE: store.path });
const values = (words: string[]) => {
  const c = complete(words, env());
  return typeof c === 'string' ? c : c.map(([v]) => v);
};

/** The index's names changed, the store untouched: what completion then offers says where it read. */
function renameInIndex(from: string, to: string): void {
  const [digest, names] = readFileSync(checkedPath(store.path), 'utf8').split('\n');
  writeFileSync(checkedPath(store.path), `${digest}\n${names!.replaceAll(`"${from}"`, `"${to}"`)}\n`);
}

/** A fresh store for each test: a save refuses to overwrite a store left corrupt. */
async function fresh(): Promise<void> {
  rmSync(store.path, { force: true });
  rmSync(checkedPath(store.path), { force: true });
  await saveState(store.path, state(), { checked: true });
}

test('a checked save keeps the names on the sidecar\'s second line, with the store file as it left it', async () => {
  await fresh();
  const [, names] = readFileSync(checkedPath(store.path), 'utf8').split('\n');
  const ix = JSON.parse(names!);
  const st = statSync(store.path);
  assert.deepEqual(ix.file, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
  assert.deepEqual(ix.routers, [['r1', 'c3000000-0000-4000-8000-000000000003']]);
  assert.deepEqual(ix.networks, [['ext', EXT, true, ['203.0.113.0/24']], ['priv', PRIV, false, ['198.51.100.0/24']]]);
  assert.deepEqual(ix.fips, [['203.0.113.20', null]]);
});

test('names come from the index while the store is the file it describes; what needs more (a router\'s ports) from the store itself', async () => {
  await fresh();
  renameInIndex('r1', 'from-index');
  assert.deepEqual(values(['router', 'show', '']), ['from-index']);
  renameInIndex('ext', 'ext-from-index');
  assert.deepEqual(values(['gateway', 'set', 'r1', '']), ['ext-from-index']);
  assert.deepEqual(values(['fip', 'delete', '']), ['203.0.113.20']);
  assert.deepEqual(values(['interface', 'remove', 'r1', '']), ['priv'], "r1's ports: read from the store");
});

test('a store written since (a hand edit) is read itself: its new router completes', async () => {
  await fresh();
  renameInIndex('r1', 'from-index');
  const s = state();
  s.routers[0]!.name = 'edited-by-hand';
  writeFileSync(store.path, JSON.stringify(s, null, 2) + '\n');
  assert.deepEqual(values(['router', 'show', '']), ['edited-by-hand']);
});

test('an edit of the same length in place (same size, same inode) is told by its mtime', async () => {
  await fresh();
  renameInIndex('r1', 'from-index');
  const before = statSync(store.path);
  writeFileSync(store.path, readFileSync(store.path, 'utf8').replace('"r1"', '"r2"'));
  // A later edit than the save (on a coarse clock the two could share a tick: then only suggestions are stale).
  utimesSync(store.path, before.atime, new Date(before.mtimeMs + 10_000));
  const after = statSync(store.path);
  assert.deepEqual([after.size, after.ino], [before.size, before.ino]);
  assert.deepEqual(values(['router', 'show', '']), ['r2']);
});

test('a torn index is passed over for the store itself', async () => {
  await fresh();
  renameInIndex('r1', 'from-index');
  const text = readFileSync(checkedPath(store.path), 'utf8');
  writeFileSync(checkedPath(store.path), text.slice(0, text.length - 20));
  assert.deepEqual(values(['router', 'show', '']), ['r1']);
});
