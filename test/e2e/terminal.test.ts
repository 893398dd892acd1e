// Issue 15 on the real kernel: the live status of `router list --long` and
// `fip list --long`, and Ctrl-C typed on a pseudo-terminal while a change is
// being applied (the "rolling back…" line at once, exit 130, the kernel and
// store as before).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { l3ctl, l3ctlOk, readStore, sh, tempStore, uniqueName } from '../helpers/cli.js';
import { typeOnTty } from '../helpers/pty.js';
import { deleteNamespaces, e2eUnavailable, kernelSnapshot, requireE2E } from '../helpers/e2e.js';
import { TOPOLOGY_COMMANDS } from '../helpers/error-cases.js';
import { requireProgram } from '../helpers/tools.js';

const store = tempStore();
const hostNs = uniqueName('l3ctl-t-term');
const opts = { store: store.path };
let routerNs = '';
let qg = '';
// Bridge MACs follow their ports (see rollback.test.ts): no state of l3ctl's.
const snapshot = () => kernelSnapshot([hostNs, routerNs]).replace(/^(link brq\S+) \S+/gm, '$1 <mac>');
const run = (args: string[]) => l3ctlOk(args, opts);

/** l3ctl on a pseudo-terminal: once `when` shows, Ctrl-C is typed (line ends without \r). */
const ctrlCOnTty = async (args: string[], env: Record<string, string>, when: RegExp) => {
  const r = await typeOnTty(store.path, args, when, '\x03', env, 60_000);
  return { ...r, out: r.out.replace(/\r/g, '') };
};

describe('the operator\'s terminal on a real router', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    if (process.getuid?.() !== 0) return;
    for (const args of TOPOLOGY_COMMANDS(hostNs)) await run(args);
    const s = JSON.parse(readStore(store.path)) as { routers: { id: string; gateway: { id: string } }[] };
    routerNs = `qrouter-${s.routers[0]!.id}`;
    qg = `qg-${s.routers[0]!.gateway.id.slice(0, 11)}`;
  });

  after(async () => {
    if (process.getuid?.() === 0) await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    deleteNamespaces([routerNs, hostNs].filter(Boolean));
    store.cleanup();
  });

  it('router list --long and fip list --long: ACTIVE as built; a FIP address deleted by hand: DRIFT for it and its router; sync puts it right', async (t) => {
    if (!requireE2E(t)) return;
    const status = async () => ({
      router: (await run(['router', 'list', '--long', '-f', 'value', '-c', 'name', '-c', 'status'])).stdout,
      fip: (await run(['fip', 'list', '--long', '-f', 'value', '-c', 'floating_ip_address', '-c', 'Status'])).stdout,
    });
    assert.deepEqual(await status(), { router: 'r1\tACTIVE\n', fip: '203.0.113.20\tACTIVE\n' });
    sh(['ip', '-n', routerNs, 'addr', 'del', '203.0.113.20/32', 'dev', qg]);
    assert.deepEqual(await status(), { router: 'r1\tDRIFT\n', fip: '203.0.113.20\tDRIFT\n' });
    const table = (await run(['router', 'list', '--long'])).stdout;
    assert.match(table, /^Name +State +Gateway +Interfaces +Routes +FIPs +HA +ID +Status\nr1 +UP +ext 203\.0\.113\.10 +priv +1 +1 +no +\S+ +DRIFT$/m);
    const sync = await run(['agent', 'sync', 'r1']);
    assert.match(sync.stderr, /^r1: \+fip 203\.0\.113\.20$/m);
    assert.deepEqual(await status(), { router: 'r1\tACTIVE\n', fip: '203.0.113.20\tACTIVE\n' });
  });

  it('Ctrl-C typed while interface add is applied: "rolling back…" at once, exit 130, kernel and store as before', async (t) => {
    if (!requireE2E(t) || !requireProgram(t, 'script', 'util-linux')) return;
    const [storeBefore, kernelBefore] = [readStore(store.path), snapshot()];
    const delay = 3000;
    const r = await ctrlCOnTty(['interface', 'add', 'r1', 'n3'], { L3CTL_FAULT_INJECT: '^ip -n qrouter-\\S+ -batch', L3CTL_FAULT_DELAY_MS: String(delay) }, /fault injection: delaying/);
    assert.equal(r.code, 130, r.out);
    const lines = r.out.split('\n').filter((l) => l && !/fault injection/.test(l));
    assert.deepEqual(lines.slice(-3), [
      'l3ctl: interrupted: rolling back…',
      'l3ctl: error: interrupted (Ctrl-C) while applying',
      'hint: the kernel was put back as it was before this command; the store is unchanged',
    ]);
    // Said while the delayed command still waits, not once the rollback is done.
    const said = r.seen(/rolling back…/) - r.typedAt;
    assert.ok(said < delay / 2, `"rolling back…" ${said.toFixed(0)} ms after Ctrl-C`);
    assert.equal(readStore(store.path), storeBefore);
    assert.equal(snapshot(), kernelBefore);
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);
  });
});
