// Confirmations: on a pseudo-terminal (util-linux `script`) the operator is
// asked; 'n' and no terminal both exit 6 with the store and kernel unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN, l3ctl, l3ctlOk, readStore, tempStore, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, kernelSnapshot, namespaces, requireE2E } from '../helpers/e2e.js';

const store = tempStore();
const hostNs = uniqueName('l3ctl-t-prompt');
const opts = { store: store.path };
let routerNs = '';

/** l3ctl on a pseudo-terminal; `answer` is typed once the question is on screen. */
function withoutCi(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { CI: _ci, ...rest } = env;
  return rest;
}

function onTty(args: string[], answer?: string, extraEnv: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      // An operator's terminal: CI would make the prompt library drop colour by itself.
      env: { ...withoutCi(process.env), L3CTL_STORE: store.path, TERM: 'xterm', ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let typed = false;
    child.stdout.on('data', (d) => {
      out += d;
      if (answer !== undefined && !typed && /\(y\/N\)/.test(out)) {
        typed = true;
        child.stdin.write(answer + '\r');
      }
    });
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out });
    });
  });
}

const snapshot = () => kernelSnapshot([hostNs, routerNs]);

before(async () => {
  if (process.getuid?.() !== 0) return;
  await l3ctlOk(['config', 'set', 'host_namespace', hostNs], opts);
  await l3ctlOk(['config', 'set', 'external_network_bridge', ''], opts);
  await l3ctlOk(['network', 'add', 'priv', '--cidr', '198.51.100.0/24'], opts);
  await l3ctlOk(['network', 'add', 'spare', '--cidr', '192.0.2.0/24'], opts);
  const r = JSON.parse((await l3ctlOk(['router', 'add', 'r1', '-f', 'json'], opts)).stdout) as { id: string };
  routerNs = `qrouter-${r.id}`;
  await l3ctlOk(['interface', 'add', 'r1', 'priv'], opts);
});

after(async () => {
  if (process.getuid?.() === 0) await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
  deleteNamespaces([hostNs, ...(routerNs ? [routerNs] : [])]);
  store.cleanup();
});

test('router delete with ports, no TTY, no --yes: exit 6, nothing changed', async (t) => {
  if (!requireE2E(t)) return;
  const [s0, k0] = [readStore(store.path), snapshot()];
  const r = await l3ctl(['router', 'delete', 'r1'], opts);
  assert.equal(r.code, 6);
  assert.match(r.stderr.split('\n')[0]!, /^l3ctl: error: confirmation needed: .*r1/);
  assert.match(r.stderr, /^hint: .*--yes/m);
  assert.equal(readStore(store.path), s0);
  assert.equal(snapshot(), k0);
});

test('router delete on a TTY, answered n: exit 6, nothing changed', async (t) => {
  if (!requireE2E(t)) return;
  const [s0, k0] = [readStore(store.path), snapshot()];
  const r = await onTty(['router', 'delete', 'r1'], 'n');
  assert.match(r.out, /Delete 'r1' with ports or floating IPs\?/);
  assert.equal(r.code, 6, r.out);
  assert.match(r.out, /l3ctl: error: declined; nothing was changed/);
  assert.equal(readStore(store.path), s0);
  assert.equal(snapshot(), k0);
});

test('--no-input on a TTY never prompts: exit 6, nothing changed', async (t) => {
  if (!requireE2E(t)) return;
  const s0 = readStore(store.path);
  const r = await onTty(['router', 'delete', 'r1', '--no-input']);
  assert.equal(r.code, 6, r.out);
  assert.doesNotMatch(r.out, /\(y\/N\)/);
  assert.equal(readStore(store.path), s0);
});

test('network delete on a TTY: n keeps it, y deletes it', async (t) => {
  if (!requireE2E(t)) return;
  const s0 = readStore(store.path);
  const no = await onTty(['network', 'delete', 'spare'], 'n');
  assert.equal(no.code, 6, no.out);
  assert.match(no.out, /Delete network 'spare'/);
  assert.equal(readStore(store.path), s0);
  const yes = await onTty(['network', 'delete', 'spare'], 'y');
  assert.equal(yes.code, 0, yes.out);
  const names = JSON.parse((await l3ctlOk(['network', 'list', '-f', 'json'], opts)).stdout).map((n: { name: string }) => n.name);
  assert.deepEqual(names, ['priv']);
});

test('network delete without a TTY needs --yes', async (t) => {
  if (!requireE2E(t)) return;
  await l3ctlOk(['network', 'add', 'spare2', '--cidr', '192.0.2.0/24'], opts);
  const s0 = readStore(store.path);
  const r = await l3ctl(['network', 'delete', 'spare2'], opts);
  assert.equal(r.code, 6);
  assert.equal(readStore(store.path), s0);
  await l3ctlOk(['network', 'delete', 'spare2', '--yes'], opts);
});

test('the prompt has no colour with --no-color or NO_COLOR', async (t) => {
  if (!requireE2E(t)) return;
  const colour = /\x1b\[(3\d|1|2|22|39)m/;
  const plain = await onTty(['router', 'delete', 'r1'], 'n');
  assert.match(plain.out, colour, 'coloured by default on a terminal');
  for (const [args, env] of [[['router', 'delete', 'r1', '--no-color'], {}], [['router', 'delete', 'r1'], { NO_COLOR: '1' }]] as const) {
    const r = await onTty([...args], 'n', env);
    assert.equal(r.code, 6, r.out);
    assert.doesNotMatch(r.out, colour);
  }
});

test('router delete on a TTY, answered y: deleted, namespace gone', async (t) => {
  if (!requireE2E(t)) return;
  const r = await onTty(['router', 'delete', 'r1'], 'y');
  assert.equal(r.code, 0, r.out);
  assert.equal((await l3ctlOk(['router', 'list', '-f', 'value'], opts)).stdout, '');
  assert.ok(!namespaces().includes(routerNs));
});

test('a router without ports or floating IPs is deleted without a question', async (t) => {
  if (!requireE2E(t)) return;
  await l3ctlOk(['router', 'add', 'bare'], opts);
  const r = await l3ctl(['router', 'delete', 'bare'], opts);
  assert.equal(r.code, 0, r.stderr);
});
