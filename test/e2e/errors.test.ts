// Issue 4, e2e variant: every bad input of the shared table against a real
// topology. Each must exit 2 with a first stderr line naming the bad value,
// print no stack trace, and leave the store byte-identical and the kernel
// (addresses, links, routes, iptables-save without counters) unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { l3ctl, l3ctlOk, readStore, tempStore, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, e2eUnavailable, kernelSnapshot, requireE2E } from '../helpers/e2e.js';
import { ERROR_CASES, TOPOLOGY_COMMANDS } from '../helpers/error-cases.js';

const store = tempStore();
const hostNs = uniqueName('l3ctl-t-err');
const opts = { store: store.path };
let routerNs = '';
const snapshot = () => kernelSnapshot([hostNs, routerNs]);

describe('bad input against a real topology: exit 2, nothing changed', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  let storeBefore = '';
  let kernelBefore = '';

  before(async () => {
    for (const args of TOPOLOGY_COMMANDS(hostNs)) await l3ctlOk(args, opts);
    routerNs = `qrouter-${JSON.parse(readStore(store.path)).routers[0].id}`;
    storeBefore = readStore(store.path);
    kernelBefore = snapshot();
  });

  after(async () => {
    await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    deleteNamespaces([routerNs, hostNs].filter(Boolean));
    store.cleanup();
  });

  it('the topology is really there (so "unchanged" means something)', (t) => {
    if (!requireE2E(t)) return;
    assert.match(kernelBefore, /203\.0\.113\.10\/24/);
    assert.match(kernelBefore, /198\.51\.100\.1\/24/);
    assert.match(kernelBefore, /203\.0\.113\.20\/32/);
    assert.match(kernelBefore, /DNAT --to-destination 198\.51\.100\.5/);
    assert.match(kernelBefore, /192\.0\.2\.128\/25 via 198\.51\.100\.254/);
  });

  for (const c of ERROR_CASES) {
    it(`${c.what}: l3ctl ${c.args.join(' ')}`, async (t) => {
      if (!requireE2E(t)) return;
      const r = await l3ctl(c.args, opts);
      const lines = r.stderr.split('\n');
      assert.equal(r.code, c.code ?? 2, `exit code\nstderr: ${r.stderr}`);
      assert.match(lines[0]!, c.first);
      if (c.hint) assert.ok(lines.some((l) => c.hint!.test(l)), `a hint matching ${c.hint}\nstderr: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(readStore(store.path), storeBefore, 'store byte-identical');
      assert.equal(snapshot(), kernelBefore, 'kernel unchanged');
    });
  }
});
