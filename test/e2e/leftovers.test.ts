// scripts/leftovers.sh, which scripts/test.sh runs before and after the whole
// suite to fail a run that leaves something on the host: it must list a test
// namespace, a link named like ours in this namespace and a daemon of a test
// store while they exist, and none of them once they are gone.
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, sh, shOk, uniqueName } from '../helpers/cli.js';
import { requireE2E } from '../helpers/e2e.js';
import { deleteNamespaces } from '../helpers/teardown.js';

const SCRIPT = join(ROOT, 'scripts', 'leftovers.sh');
const listed = () => shOk([SCRIPT]).split('\n').filter(Boolean);

const ns = uniqueName('l3ctl-t-leftover');
// A veth end in this namespace, named as ours (15 characters at most), its peer in the test namespace: attached to nothing.
const link = `l3ctl-lf-${ns.slice(-6)}`;
after(() => deleteNamespaces([ns]));

it('lists what a test left behind, and nothing once it is gone', async (t) => {
  if (!requireE2E(t)) return;
  const before = listed();
  shOk(['ip', 'netns', 'add', ns]);
  shOk(['ip', 'link', 'add', link, 'type', 'veth', 'peer', 'name', 'inside', 'netns', ns]);
  // A daemon of a test store: its command line names the store's files.
  const daemon = spawn('bash', ['-c', 'exec -a "haproxy -f /tmp/l3ctl-test-leftover/haproxy.conf" sleep 60'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !sh(['pgrep', '-f', 'l3ctl-test-leftover/haproxy']).stdout.trim(); i++) await new Promise((r) => setTimeout(r, 20));
    const during = listed().filter((l) => !before.includes(l));
    assert.deepEqual(during.sort(), [`link ${link}`, `namespace ${ns}`, 'process haproxy -f /tmp/l3ctl-test-leftover/haproxy.conf 60'].sort());
  } finally {
    daemon.kill('SIGKILL');
    deleteNamespaces([ns]); // the veth goes with its peer's namespace
  }
  for (let i = 0; i < 50 && listed().some((l) => !before.includes(l)); i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(listed().filter((l) => !before.includes(l)), []);
});
