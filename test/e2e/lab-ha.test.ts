// `lab up --ha | check | down`: the lab's router as an HA router on two
// simulated nodes, a check that proves a failover (router standby with a
// ping stream to the floating IP), and nothing left after `lab down`. A
// prefix of its own (L3CTL_LAB_PREFIX) and a temp default store
// (L3CTL_LAB_DEFAULT_STORE) keep it away from a real lab.
import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { l3ctl, tempStore, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, e2eUnavailable, namespaces, requireE2E } from '../helpers/e2e.js';
import { labId } from '../../src/lab/topology.js';

const prefix = uniqueName('l3ctl-t-labha');
const store = tempStore();
const opts = { env: { L3CTL_LAB_PREFIX: prefix, L3CTL_LAB_DEFAULT_STORE: store.path }, timeoutMs: 120_000 };
const lab = (args: string[]) => l3ctl(['lab', ...args], opts);
const ours = () => namespaces().filter((n) => n.startsWith(`${prefix}-`));
const nodeStores = ['a', 'b'].map((n) => store.path.replace(/\.json$/, `-ha-${n}.json`));
const keepalivedOf = () => spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => / keepalived /.test(` ${l} `) && nodeStores.some((s) => l.includes(`${s}.d/`)));

interface Row { check: string; expected: string; seen: string; result: string }

const noKeepalived = () => (spawnSync('keepalived', ['--version']).error ? 'keepalived is not installed' : null);
const ready = (t: TestContext) => {
  if (!requireE2E(t)) return false;
  const why = noKeepalived();
  if (why && process.env.CI) throw new Error(`e2e test cannot run in CI: ${why}`);
  if (why) t.skip(why);
  return !why;
};

describe('lab up --ha | check | down', { skip: (!!e2eUnavailable() || !!noKeepalived()) && !process.env.CI, timeout: 240_000 }, () => {
  after(async () => {
    await lab(['down']);
    deleteNamespaces(ours());
    store.cleanup();
  });

  it('lab up --ha --dry-run lists the fabric, the nodes and the commands run in each; changes nothing', async (t) => {
    if (!ready(t)) return;
    const r = await lab(['up', '--ha', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    for (const ns of ['ha-f', 'ha-up', 'ha-vm', 'ha-a', 'ha-b']) assert.ok(lines.includes(`+ ip netns add ${prefix}-${ns}`), ns);
    assert.ok(lines.includes(`+ l3ctl --store ${nodeStores[1]} config set ha_node_address 169.254.192.2   (in node b)`), r.stdout);
    assert.ok(lines.some((l) => l.startsWith(`+ l3ctl --store ${nodeStores[0]} router add lab-r1 --id `) && l.includes(' --ha ')), r.stdout);
    assert.deepEqual(ours(), []);
    assert.ok(nodeStores.every((s) => !existsSync(s)));
  });

  it('lab up --ha: two nodes, the same HA router in each, one master', async (t) => {
    if (!ready(t)) return;
    const t0 = performance.now();
    const r = await lab(['up', '--ha']);
    t.diagnostic(`lab up --ha: ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ours().sort(), ['ha-a', 'ha-b', 'ha-f', 'ha-up', 'ha-vm'].map((x) => `${prefix}-${x}`));
    assert.ok(!namespaces().includes(`qrouter-${labId(prefix, 'ha:lab-r1')}`), 'the router namespaces live in the nodes, not on the host');
    assert.equal(keepalivedOf().length, 4, 'keepalived and its VRRP child in each node');
    assert.match(r.stderr, /^lab: node b: l3ctl router add lab-r1 .*--ha$/m, 'built: no (unchanged)');
  });

  it('lab up --ha again changes nothing, and says so: every command in each node (unchanged)', async (t) => {
    if (!ready(t)) return;
    const r = await lab(['up', '--ha']);
    assert.equal(r.code, 0, r.stderr);
    const steps = r.stderr.split('\n').filter((l) => /^lab: node [ab]: l3ctl /.test(l));
    assert.ok(steps.length >= 2 * 8, r.stderr);
    assert.deepEqual(steps.filter((l) => !l.endsWith(' (unchanged)')), [], r.stderr);
    assert.equal(keepalivedOf().length, 4, 'keepalived left running');
  });

  it('lab check proves a failover, twice (the master alternates)', async (t) => {
    if (!ready(t)) return;
    for (let i = 0; i < 2; i++) {
      const r = await lab(['check', '-f', 'json']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const rows = JSON.parse(r.stdout) as Row[];
      assert.ok(rows.every((x) => x.result === 'pass'), r.stdout);
      const gap = rows.find((x) => x.check.startsWith('failover: longest gap'))!;
      const over = rows.find((x) => x.check.startsWith('failover: node'))!;
      t.diagnostic(`lab check ${i + 1}: ${over.seen}; gap ${gap.seen}`);
      assert.match(gap.seen, /^\d+ ms$/);
    }
  });

  it('lab down: no namespace, no keepalived, no node store left', async (t) => {
    if (!ready(t)) return;
    const r = await lab(['down']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ours(), []);
    assert.deepEqual(keepalivedOf(), []);
    for (const s of nodeStores) assert.ok(!existsSync(s) && !existsSync(`${s}.d`), s);
    const again = await lab(['down']);
    assert.equal(again.code, 0);
  });
});
