// bin/l3ctl, the launcher that sh and node both read: which code it starts.
// A command runs the start-up snapshot while the node that built it is the
// same file; a snapshot whose node changed (another mtime), or none at all,
// is passed over for the bundle; tab completion runs a small snapshot of its
// own under the same conditions, else its CommonJS bundle.
// `sh -x` shows the command the launcher ran. The copies run from a scratch
// checkout whose dist/src/bundle links to the real one, except the stamp.
// It needs `npm run build` (tsc alone makes no snapshot), and fails without
// one on purpose: CI must run, and the benchmark measure, the snapshot.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/cli.js';
import { emptyState } from '../../src/model/types.js';
import { net, port } from '../helpers/one-subnet.js';
import { checkedPath, saveState } from '../../src/store/store.js';

const BUNDLE = join(ROOT, 'dist', 'src', 'bundle');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const scratch = mkdtempSync(join(tmpdir(), 'l3ctl-test-launcher-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
mkdirSync(join(scratch, 'bin'));
mkdirSync(join(scratch, 'dist', 'src', 'bundle'), { recursive: true });
copyFileSync(BIN, join(scratch, 'bin', 'l3ctl'));
copyFileSync(join(ROOT, 'package.json'), join(scratch, 'package.json'));
for (const f of readdirSync(BUNDLE)) if (f !== 'l3ctl.blob.node') symlinkSync(join(BUNDLE, f), join(scratch, 'dist', 'src', 'bundle', f));
for (const d of readdirSync(join(ROOT, 'dist', 'src'))) if (d !== 'bundle') symlinkSync(join(ROOT, 'dist', 'src', d), join(scratch, 'dist', 'src', d));
const STAMP = join(scratch, 'dist', 'src', 'bundle', 'l3ctl.blob.node');
/** A command the command snapshot answers (a bare `--version` goes to the small one). */
const PROBE = ['-q', '--version'];
const SCRATCH_BIN = join(scratch, 'bin', 'l3ctl');

/** Runs the launcher under `sh -x`: its output, and the command it ran (the `+ exec` line). */
function launch(bin: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('sh', ['-x', bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  const ran = r.stderr.split('\n').filter((l) => /^\+ exec /.test(l));
  return { code: r.status, stdout: r.stdout, ran: ran.join('\n') };
}

/** The stamp as the build writes it: this node's path, with this node's mtime. */
function freshStamp(): void {
  writeFileSync(STAMP, process.execPath + '\n');
  const st = statSync(process.execPath);
  utimesSync(STAMP, st.atime, st.mtime);
}

test('the build made a start-up snapshot for this node, and l3ctl runs it', () => {
  assert.ok(existsSync(join(BUNDLE, 'l3ctl.blob')), 'npm run build makes dist/src/bundle/l3ctl.blob');
  assert.equal(readFileSync(join(BUNDLE, 'l3ctl.blob.node'), 'utf8'), process.execPath + '\n');
  const r = launch(BIN, PROBE);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, VERSION + '\n');
  assert.match(r.ran, new RegExp(`^\\+ exec ${process.execPath} --snapshot-blob \\S+/dist/src/bundle/l3ctl\\.blob \\S+/bin/l3ctl -q --version$`));
});

test('a snapshot whose node changed since (another mtime) is passed over: node runs the launcher itself', () => {
  freshStamp();
  assert.match(launch(SCRATCH_BIN, PROBE).ran, /--snapshot-blob/, 'fresh: the snapshot');
  utimesSync(STAMP, new Date(0), new Date(0));
  const r = launch(SCRATCH_BIN, PROBE);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, VERSION + '\n');
  assert.equal(r.ran, `+ exec node ${SCRATCH_BIN} -q --version`);
});

test('no stamp, a stamp naming a node that is not there, or L3CTL_UNBUNDLED=1: no snapshot', () => {
  rmSync(STAMP, { force: true });
  assert.equal(launch(SCRATCH_BIN, PROBE).ran, `+ exec node ${SCRATCH_BIN} -q --version`);
  writeFileSync(STAMP, join(scratch, 'no-such-node') + '\n');
  assert.equal(launch(SCRATCH_BIN, PROBE).ran, `+ exec node ${SCRATCH_BIN} -q --version`);
  freshStamp();
  const r = launch(SCRATCH_BIN, PROBE, { L3CTL_UNBUNDLED: '1' });
  assert.equal(r.ran, `+ exec node ${SCRATCH_BIN} -q --version`);
  assert.equal(r.stdout, VERSION + '\n');
});

test('with NODE_OPTIONS set, no snapshot: node refuses one under other V8 flags (exit 14)', () => {
  freshStamp();
  const env = { NODE_OPTIONS: '--max-old-space-size=512' };
  const r = launch(SCRATCH_BIN, PROBE, env);
  assert.equal(r.ran, `+ exec node ${SCRATCH_BIN} -q --version`);
  assert.deepEqual([r.code, r.stdout], [0, VERSION + '\n']);
  // What the launcher avoids:
  const refused = spawnSync(process.execPath, ['--snapshot-blob', join(BUNDLE, 'l3ctl.blob'), BIN, ...PROBE], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(refused.status, 14, refused.stderr);
});

test('through a symbolic link (an install in /usr/local/bin) the launcher finds its checkout', () => {
  freshStamp();
  const link = join(scratch, 'l3ctl-link');
  rmSync(link, { force: true });
  symlinkSync(SCRATCH_BIN, link);
  const r = launch(link, PROBE);
  assert.equal(r.stdout, VERSION + '\n');
  assert.match(r.ran, new RegExp(`--snapshot-blob ${scratch}/bin/../dist/src/bundle/l3ctl\\.blob ${SCRATCH_BIN} -q --version$`));
});

test('a bare --version runs the small completion snapshot; both snapshots read the version from package.json at each run', () => {
  freshStamp();
  const pkg = join(scratch, 'package.json');
  const saved = readFileSync(pkg, 'utf8');
  try {
    // A version no build has seen: neither snapshot may answer from what it was built with.
    writeFileSync(pkg, saved.replace(/"version": "[^"]+"/, '"version": "9.8.7-launcher"'));
    const bare = launch(SCRATCH_BIN, ['--version']);
    assert.deepEqual([bare.code, bare.stdout], [0, '9.8.7-launcher\n']);
    assert.match(bare.ran, new RegExp(`--snapshot-blob \\S+/dist/src/bundle/l3ctl\\.blob\\.complete ${SCRATCH_BIN} --version$`));
    const full = launch(SCRATCH_BIN, PROBE);
    assert.deepEqual([full.code, full.stdout], [0, '9.8.7-launcher\n']);
    // Anything after it is the command line's to judge: the command snapshot.
    assert.match(launch(SCRATCH_BIN, ['--version', 'router']).ran, new RegExp(`l3ctl\\.blob ${SCRATCH_BIN} --version router$`));
    // Without a fresh stamp, node runs the launcher (whose bundle, linked from
    // the real checkout here, reads the real package.json).
    utimesSync(STAMP, new Date(0), new Date(0));
    const stale = launch(SCRATCH_BIN, ['--version']);
    assert.deepEqual([stale.code, stale.ran, stale.stdout], [0, `+ exec node ${SCRATCH_BIN} --version`, VERSION + '\n']);
  } finally {
    writeFileSync(pkg, saved);
  }
});

test('without a package.json both snapshots say so in one line and exit 1', () => {
  freshStamp();
  const pkg = join(scratch, 'package.json');
  const saved = readFileSync(pkg, 'utf8');
  rmSync(pkg);
  try {
    for (const args of [['--version'], PROBE]) {
      const r = spawnSync(SCRATCH_BIN, args, { encoding: 'utf8' });
      assert.deepEqual([r.status, r.stdout], [1, ''], args.join(' '));
      assert.match(r.stderr, new RegExp(`^l3ctl: error: internal error: ENOENT: no such file or directory, open '${pkg}'\\n$`), args.join(' '));
    }
  } finally {
    writeFileSync(pkg, saved);
  }
});

test('tab completion runs its own snapshot, which answers as the modules do, from the command table and a saved store', async () => {
  assert.ok(existsSync(join(BUNDLE, 'l3ctl.blob.complete')), 'npm run build makes dist/src/bundle/l3ctl.blob.complete');
  const r = launch(BIN, ['__complete', 'rou']);
  assert.equal(r.code, 0);
  assert.match(r.ran, new RegExp(`^\\+ exec ${process.execPath} --snapshot-blob \\S+/dist/src/bundle/l3ctl\\.blob\\.complete \\S+/bin/l3ctl __complete rou$`));
  const viaNode = spawnSync(process.execPath, [BIN, '__complete', 'rou'], { encoding: 'utf8' });
  assert.equal(r.stdout, viaNode.stdout);
  assert.match(r.stdout, /^router\t.*\nroute\t/);
  // A store saved checked: the names it keeps beside it answer.
  const store = join(scratch, 'state.json');
  const s = emptyState();
  s.networks.push(net({ id: '7b1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5', name: 'net-a', cidr: '192.0.2.0/24', gateway_ip: '192.0.2.1', external: false, bridge: null }));
  const plugged = port({ id: '8c2e3f40-5b6c-4d7e-8f90-a1b2c3d4e5f6', network_id: '7b1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5', ip_address: '192.0.2.1', mac_address: 'fa:16:3e:00:00:0a', admin_state_up: true });
  s.routers.push({ id: '6a0c1f6e-3a4b-4c55-9d1e-2f3a4b5c6d7e', name: 'edge-1', admin_state_up: true, gateway: null, interfaces: [plugged], routes: [], ha: false, ha_vr_id: null });
  await saveState(store, s, { checked: true });
  const env = { L3CTL_STORE: store };
  const names = launch(BIN, ['__complete', 'router', 'show', ''], env);
  assert.match(names.ran, /l3ctl\.blob\.complete/);
  assert.equal(names.stdout, spawnSync(process.execPath, [BIN, '__complete', 'router', 'show', ''], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout);
  assert.match(names.stdout, /^edge-1\trouter /);
  assert.ok(existsSync(checkedPath(store)), 'the names index is there');
  // A router's ports need the store itself (and its digest, node:crypto): the same answer as the modules give.
  const ports = launch(BIN, ['__complete', 'interface', 'remove', 'edge-1', ''], env);
  assert.match(ports.stdout, /^net-a\tport 192\.0\.2\.1\n/);
  assert.equal(ports.stdout, spawnSync(process.execPath, [BIN, '__complete', 'interface', 'remove', 'edge-1', ''], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout);
});

test('tab completion without its snapshot (NODE_OPTIONS, a stale stamp) runs its CommonJS bundle, which answers the same', () => {
  freshStamp();
  const want = launch(SCRATCH_BIN, ['__complete', 'rou']);
  assert.match(want.ran, /--snapshot-blob \S+\/l3ctl\.blob\.complete /);
  const r = launch(SCRATCH_BIN, ['__complete', 'rou'], { NODE_OPTIONS: '--max-old-space-size=512' });
  assert.match(r.ran, /^\+ exec node \S+\/dist\/src\/bundle\/complete\.cjs rou$/);
  assert.equal(r.stdout, want.stdout);
  utimesSync(STAMP, new Date(0), new Date(0));
  const stale = launch(SCRATCH_BIN, ['__complete', 'rou']);
  assert.match(stale.ran, /^\+ exec node \S+\/dist\/src\/bundle\/complete\.cjs rou$/);
  assert.equal(stale.stdout, want.stdout);
});
