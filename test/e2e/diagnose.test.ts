// Issue 18: `diagnose` names the cause of each kind of breakage on its first
// FAIL line, and the fix it gives works.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { l3ctl, l3ctlOk, nsExec, readStore, sh, shOk, tempStore, uniqueName } from '../helpers/cli.js';
import { addTestHost, baseCommands, e2eUnavailable, requireE2E, removeTestKernel } from '../helpers/e2e.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-diag');
const hostNs = `${tag}-h`;
const up = `${tag}-up`;
const vm = `${tag}-vm`;
const opts = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);

interface Check { check: string; status: 'ok' | 'warn' | 'FAIL'; found: string; command: string; fix: string | null }
let ns = '';
let qg = '';

async function diagnose(args: string[]): Promise<{ code: number; checks: Check[]; text: string }> {
  const j = await l3ctl(['diagnose', ...args, '-f', 'json'], opts);
  const t = await l3ctl(['diagnose', ...args], opts);
  assert.equal(t.code, j.code, 'table and json agree on the exit code');
  return { code: j.code, checks: JSON.parse(j.stdout) as Check[], text: t.stdout };
}

/** The first FAIL names `re`; its fix, run as given, makes the diagnosis clean again. */
async function namesAndFixes(what: string, re: RegExp) {
  const d = await diagnose(['fip', '203.0.113.20']);
  assert.equal(d.code, 3, `${what}: exit 3\n${d.text}`);
  const first = d.checks.find((c) => c.status === 'FAIL')!;
  assert.match(`${first.check}: ${first.found}`, re, `${what}: the first FAIL names the cause\n${d.text}`);
  assert.match(d.text, /^verdict: FAIL: /m);
  assert.ok(first.fix, `${what}: a fix is given`);
  assert.match(d.text, new RegExp(`^fix: ${first.fix!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  if (first.fix!.startsWith('l3ctl ')) await run(first.fix!.slice('l3ctl '.length).split(' '));
  else assert.equal(spawnSync('sh', ['-c', first.fix!]).status, 0, `${what}: the fix runs: ${first.fix}`);
  const again = await diagnose(['fip', '203.0.113.20', '--probe']);
  assert.equal(again.code, 0, `${what}: clean after the fix\n${again.text}`);
}

describe('diagnose', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    for (const args of baseCommands(hostNs)) await run(args);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    await run(['router', 'add', 'r1']);
    await run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
    await run(['interface', 'add', 'r1', 'priv']);
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
    const s = JSON.parse(readStore(store.path));
    ns = `qrouter-${s.routers[0].id}`;
    qg = `qg-${s.routers[0].gateway.id.slice(0, 11)}`;
    const br = (n: string) => `brq${s.networks.find((x: { name: string }) => x.name === n).id.slice(0, 11)}`;
    addTestHost({ name: up, hostNs, bridge: br('ext'), cidr: '203.0.113.1/24' });
    addTestHost({ name: vm, hostNs, bridge: br('priv'), cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
  });

  after(async () => {
    await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    // The store's router namespaces and daemons too, should the delete have failed.
    removeTestKernel(store.path, [up, vm, hostNs]);
    store.cleanup();
  });

  it('a healthy floating IP: every check ok or warn, exit 0; --probe moves the DNAT counter', async (t) => {
    if (!requireE2E(t)) return;
    const d = await diagnose(['fip', '203.0.113.20', '--probe']);
    assert.equal(d.code, 0, d.text);
    assert.deepEqual(d.checks.filter((c) => c.status === 'FAIL'), []);
    for (const c of d.checks) assert.ok(c.command.length > 0, `${c.check} has a command`);
    assert.match(d.text, /^verdict: ok: floating IP 203\.0\.113\.20: no problem found/m);
    const probe = d.checks.find((c) => c.check === 'probe: traffic to the floating IP')!;
    assert.equal(probe.status, 'ok');
    assert.match(probe.found, /DNAT counter moved (\d+) -> (\d+)/);
    const dnat = d.checks.find((c) => c.check.startsWith('DNAT from outside'))!;
    assert.match(dnat.found, /packets:bytes \d+:\d+/);
    assert.equal(d.checks.find((c) => c.check === 'fixed IP neighbour')!.status, 'ok');
    // The command a check prints re-runs it by hand.
    assert.equal(spawnSync('sh', ['-c', dnat.command]).status, 0, dnat.command);
  });

  it('diagnose router and host pass on a healthy host; unknown names are exit 2', async (t) => {
    if (!requireE2E(t)) return;
    const r = await diagnose(['router', 'r1', '--probe']);
    assert.equal(r.code, 0, r.text);
    const h = await diagnose(['host']);
    assert.ok(h.checks.some((c) => c.check === 'iptables backend' && /nf_tables|legacy/.test(c.found)));
    assert.ok(h.checks.some((c) => c.check === 'required programs'));
    assert.equal((await l3ctl(['diagnose', 'fip', '203.0.113.99'], opts)).code, 2);
    assert.equal((await l3ctl(['diagnose', 'router', 'nope'], opts)).code, 2);
  });

  it('the router namespace deleted', async (t) => {
    if (!requireE2E(t)) return;
    shOk(['ip', 'netns', 'del', ns]);
    await namesAndFixes('namespace deleted', /^router namespace: qrouter-\S+ does not exist/);
  });

  it('the /32 removed from qg-', async (t) => {
    if (!requireE2E(t)) return;
    shOk(['ip', '-n', ns, 'addr', 'del', '203.0.113.20/32', 'dev', qg]);
    await namesAndFixes('/32 removed', new RegExp(`^gateway device: ${qg} is up but lacks 203\\.0\\.113\\.20/32`));
  });

  it('the DNAT rule deleted', async (t) => {
    if (!requireE2E(t)) return;
    shOk(['ip', 'netns', 'exec', ns, 'iptables', '-t', 'nat', '-D', 'l3ctl-PREROUTING', '-d', '203.0.113.20/32', '-j', 'DNAT', '--to-destination', '198.51.100.5']);
    await namesAndFixes('DNAT deleted', /^DNAT from outside \(l3ctl-PREROUTING\): no DNAT rule 203\.0\.113\.20 -> 198\.51\.100\.5/);
  });

  it('the default route removed', async (t) => {
    if (!requireE2E(t)) return;
    shOk(['ip', '-n', ns, 'route', 'del', 'default']);
    await namesAndFixes('default route removed', /^default route: no default route/);
  });

  it('ip_forward turned off', async (t) => {
    if (!requireE2E(t)) return;
    shOk(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
    await namesAndFixes('ip_forward off', /^ip_forward: net\.ipv4\.ip_forward is 0/);
  });

  it('a rule of ours copied into the other iptables backend', async (t) => {
    if (!requireE2E(t)) return;
    const backend = /\((\w+)\)/.exec(sh(['iptables', '--version']).stdout)?.[1];
    const tool = backend === 'nf_tables' ? 'iptables-legacy' : 'iptables-nft';
    shOk(['ip', 'netns', 'exec', ns, tool, '-t', 'nat', '-N', 'l3ctl-PREROUTING']);
    shOk(['ip', 'netns', 'exec', ns, tool, '-t', 'nat', '-A', 'l3ctl-PREROUTING', '-d', '203.0.113.20/32', '-j', 'DNAT', '--to-destination', '198.51.100.5']);
    await namesAndFixes('other backend', new RegExp(`^iptables backend: l3ctl chains in ${tool} \\(l3ctl-PREROUTING\\)`));
  });

  it('the VM down: its neighbour entry FAILED', async (t) => {
    if (!requireE2E(t)) return;
    shOk(['ip', '-n', vm, 'link', 'set', 'eth0', 'down']);
    try {
      const d = await diagnose(['fip', '203.0.113.20', '--probe']);
      assert.equal(d.code, 3, d.text);
      const first = d.checks.find((c) => c.status === 'FAIL')!;
      assert.match(`${first.check}: ${first.found}`, /^fixed IP neighbour: 198\.51\.100\.5 does not answer (ARP \((FAILED|INCOMPLETE)|a ping from the router)/, d.text);
    } finally {
      shOk(['ip', '-n', vm, 'link', 'set', 'eth0', 'up']);
    }
    // Once the VM is back, a probe refreshes the entry.
    nsExec(ns, ['ping', '-c', '1', '-W', '1', '198.51.100.5']);
    assert.equal((await diagnose(['fip', '203.0.113.20'])).code, 0);
  });
});
