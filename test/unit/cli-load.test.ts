// Load only what runs: the real binary, started with a loader hook that lists
// every file it loads (test/helpers/loaded.ts). The module structure is
// checked on the unbundled build (L3CTL_UNBUNDLED=1); the bundle keeps it
// (its chunks are loaded lazily too: checked at the end). `--version` and `--help` load
// the command table and nothing else; `router list` loads its noun, the store
// and output, never another noun, the agent, src/linux or the packages for
// terminals; tab completion loads only its own few modules.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, tempStore } from '../helpers/cli.js';
import { HAND_WRITTEN } from '../helpers/error-cases.js';

const store = tempStore();
after(() => store.cleanup());
writeFileSync(store.path, JSON.stringify(HAND_WRITTEN));
const HOOK = join(ROOT, 'dist', 'test', 'helpers', 'loaded.js');

/** The files `l3ctl ARGS` loads, relative to the checkout (packages as node_modules/NAME). */
function loaded(args: string[], bundled = false): string[] {
  const out = join(store.dir, 'loaded.txt');
  rmSync(out, { force: true });
  const r = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], { encoding: 'utf8', env: { ...process.env, L3CTL_STORE: store.path, L3CTL_TEST_LOADED: out, L3CTL_UNBUNDLED: bundled ? '0' : '1' } });
  assert.equal(r.status, 0, r.stderr);
  const files = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((u) => decodeURIComponent(new URL(u).pathname));
  return [...new Set(files.map((f) => (f.includes('/node_modules/') ? `node_modules/${f.split('/node_modules/').pop()!.split('/').slice(0, f.includes('/node_modules/@') ? 2 : 1).join('/')}` : f.slice(ROOT.length + 1))))];
}

const src = (files: string[]) => files.filter((f) => f.startsWith('dist/src/')).map((f) => f.slice('dist/src/'.length)).sort();
const packages = (files: string[]) => files.filter((f) => f.startsWith('node_modules/')).sort();

const TABLE = ['cli/aliases.js', 'cli/columns.js', 'cli/commands.js', 'cli/define.js', 'cli/main.js', 'cli/parse.js', 'cli/similar.js', 'cli/version.js', 'model/errors.js', 'model/types.js'];

test('--version loads the command table and nothing else', () => {
  const files = loaded(['--version']);
  assert.deepEqual(src(files), TABLE);
  assert.deepEqual(packages(files), []);
});

test('--help: the table and the help text', () => {
  const files = loaded(['--help']);
  assert.deepEqual(src(files), [...TABLE, 'cli/help.js'].sort());
  assert.deepEqual(packages(files), []);
});

test('router list: its noun, the store and output; no other noun, no agent, no src/linux, no package', () => {
  const files = loaded(['router', 'list']);
  const s = src(files);
  assert.ok(s.includes('cli/router.js') && s.includes('store/store.js') && s.includes('cli/output.js'), s.join(' '));
  assert.deepEqual(s.filter((f) => /^(agent|linux|lab)\//.test(f) || /^cli\/(network|interface|gateway|fip|route|config|agent|lab|completion)\.js$/.test(f)), []);
  // A good store passes the structural check (valibot is loaded only to say what is wrong with a bad
  // one); the whole-state check on load (src/model/validate.ts) uses the address library.
  assert.deepEqual(packages(files), ['node_modules/ipaddr.js']);
});

test('router list -f yaml: no table, colour or prompt package, no agent (yaml itself is required: this hook sees ES modules only)', () => {
  const files = loaded(['router', 'list', '-f', 'yaml']);
  assert.deepEqual(packages(files).filter((p) => /cli-table3|chalk|@inquirer/.test(p)), []);
  assert.deepEqual(src(files).filter((f) => /^(agent|linux)\//.test(f)), []);
});

test('router list --long observes the kernel (the agent loads) but prints no table package when piped', () => {
  const files = loaded(['router', 'list', '--long', '-f', 'value']);
  assert.ok(src(files).includes('agent/status.js'), src(files).join(' '));
  assert.deepEqual(packages(files).filter((p) => /cli-table3|chalk|yaml|@inquirer/.test(p)), []);
});

test('fip associate --dry-run loads the agent (the plan), and still no other noun than its own and those it names', () => {
  const s = src(loaded(['fip', 'associate', '203.0.113.21', '198.51.100.6', '--dry-run']));
  assert.ok(s.includes('agent/transaction.js') && s.includes('linux/runner.js'), s.join(' '));
  assert.deepEqual(s.filter((f) => /^cli\/(network|interface|route|config|agent|lab|completion)\.js$/.test(f) || f.startsWith('lab/')), []);
});

test('tab completion: its own module, the store loader, the JSON tree', () => {
  const files = loaded(['__complete', 'router', 'show', '']);
  // migrate: a store an older l3ctl wrote completes too; names: the index a save keeps for it;
  // atomic: the store's writer (node:fs calls only, never called by a tab press).
  assert.deepEqual(src(files), ['cli/complete.js', 'model/errors.js', 'model/types.js', 'store/atomic.js', 'store/migrate.js', 'store/names.js', 'store/store.js', 'store/values.js']);
  assert.deepEqual(packages(files), []);
});

test('the bundle: --version loads its main chunk and the chunks it imports, no noun and no package', () => {
  const files = loaded(['--version'], true);
  const own = files.filter((f) => f.startsWith('dist/src/'));
  assert.ok(own.includes('dist/src/bundle/main.js'), own.join(' '));
  assert.deepEqual(own.filter((f) => !f.startsWith('dist/src/bundle/')), [], 'nothing of the separate modules');
  const list = loaded(['router', 'list'], true).filter((f) => f.startsWith('dist/src/bundle/'));
  assert.ok(list.length > own.length, 'router list loads the chunks of its noun on top');
  assert.deepEqual(packages(files), []);
});
