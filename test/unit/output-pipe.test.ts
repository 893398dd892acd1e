// Output larger than a pipe holds (64 KB) reaches the reader whole. l3ctl
// exits as soon as a command is done, rather than tear down its heap; output
// still queued for a pipe must keep it alive until written. A test through a
// pipe, as a script reads l3ctl: `l3ctl router list -f json | jq …`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, tempStore } from '../helpers/cli.js';
import { saveState } from '../../src/store/store.js';
import { emptyState, type State } from '../../src/model/types.js';

const store = tempStore();
after(() => store.cleanup());

/**
 * `l3ctl ARGS | cat`: a real pipe (64 KB), as a shell makes it. A node
 * spawn's own stdio is a socket pair, whose larger buffer hid the cut.
 */
function throughPipe(args: string[]): { code: number; stdout: string; stderr: string } {
  const quoted = [BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('/bin/sh', ['-c', `{ ${quoted}; echo "l3ctl-exit=$?" >&2; } | cat`], { encoding: 'utf8', env: { ...process.env, L3CTL_STORE: store.path }, maxBuffer: 64 * 1024 * 1024 });
  const exit = /l3ctl-exit=(\d+)/.exec(r.stderr);
  return { code: exit ? Number(exit[1]) : -1, stdout: r.stdout, stderr: r.stderr };
}

function manyRouters(n: number): State {
  const s = emptyState();
  for (let i = 0; i < n; i++) {
    const hex = i.toString(16).padStart(8, '0');
    s.routers.push({ id: `${hex}-0000-4000-8000-000000000000`, name: `router-with-a-long-name-${String(i).padStart(4, '0')}`, admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null });
  }
  return s;
}

test('router list -f json of 600 routers through a pipe: every byte, valid JSON, every router', async () => {
  await saveState(store.path, manyRouters(600), { checked: true });
  const r = throughPipe(['router', 'list', '-f', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 2 * 65536, `more than a pipe's worth: ${r.stdout.length} bytes`);
  const rows = JSON.parse(r.stdout) as { name: string }[];
  assert.equal(rows.length, 600);
  assert.equal(rows[599]!.name, 'router-with-a-long-name-0599');
});

test('tab completion of 3000 router names through a pipe: every name', async () => {
  await saveState(store.path, manyRouters(3000), { checked: true });
  const r = throughPipe(['__complete', 'router', 'show', '']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 65536, `more than a pipe's worth: ${r.stdout.length} bytes`);
  const names = r.stdout.split('\n').filter(Boolean);
  assert.equal(names.length, 3000);
  assert.match(names[2999]!, /^router-with-a-long-name-2999\trouter /);
});
