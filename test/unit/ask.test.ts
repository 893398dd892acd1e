// A missing required argument on a terminal is asked for; without one (or
// with --no-input) it stays a usage error. Runs the real CLI on a
// pseudo-terminal (util-linux `script`); no kernel change is involved.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { l3ctl, tempStore } from '../helpers/cli.js';
import { requireProgram } from '../helpers/tools.js';
import { typeOnTty } from '../helpers/pty.js';

const store = tempStore();
const R1 = '1a1a1a1a-0000-4000-8000-000000000001';
writeFileSync(store.path, JSON.stringify({
  version: 1,
  config: {},
  networks: [
    { id: '2b2b2b2b-0000-4000-8000-000000000002', name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null },
    { id: '3c3c3c3c-0000-4000-8000-000000000003', name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null },
  ],
  routers: [{ id: R1, name: 'r1', admin_state_up: true, gateway: null, interfaces: [], routes: [] }],
  floatingips: [],
}, null, 2));
after(() => store.cleanup());


const onTty = (args: string[], prompt: RegExp, keys: string) => typeOnTty(store.path, args, prompt, keys);

test('router show without ROUTER on a terminal: pick it from the routers', async (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  const r = await onTty(['router', 'show', '-f', 'json'], /l3ctl router show: router/, '\r');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`"id": "${R1}"`));
  assert.doesNotMatch(r.out, /missing required argument/);
});

test('gateway set ROUTER without NETWORK offers only external networks; Ctrl-C is exit 130, nothing changed', async (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  const before = readStoreText();
  const r = await onTty(['gateway', 'set', 'r1'], /ext \(203\.0\.113\.0\/24, external\)/, '\x03');
  assert.doesNotMatch(r.out, /priv \(/, 'an internal network is not offered for a gateway');
  assert.equal(r.code, 130, r.out);
  assert.match(r.out, /l3ctl: error: interrupted \(Ctrl-C\); nothing was changed/);
  assert.equal(readStoreText(), before);
});

test('--no-input on a terminal, and no terminal at all: a usage error, nothing asked', async (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  const r = await onTty(['router', 'show', '--no-input'], /never/, '');
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /^l3ctl: error: missing required argument 'router'/m);
  const piped = await l3ctl(['router', 'show'], { store: store.path });
  assert.equal(piped.code, 2);
  assert.match(piped.stderr.split('\n')[0]!, /^l3ctl: error: missing required argument 'router'$/);
});

function readStoreText(): string {
  return readFileSync(store.path, 'utf8');
}
