// How a command applies: few processes per namespace, gratuitous ARP in the
// background (never holding the command up), config keys honoured.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { l3ctl, l3ctlOk, readStore, sh, tempStore, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, e2eUnavailable, namespaces, requireE2E } from '../helpers/e2e.js';

const store = tempStore();
const hostNs = uniqueName('l3ctl-t-apply');
const opts = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);
let ns = '';

/** `-v` lines: `+ argv  (N ms, exit 0)`. */
const commands = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.replace(/\s+\(.*\)$/, ''));

function arpingsIn(namespace: string): string[] {
  const pids = sh(['ip', 'netns', 'pids', namespace]).stdout.trim().split('\n').filter(Boolean);
  return pids
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return '';
      }
    })
    .filter((c) => c.startsWith('arping'));
}

describe('applying a change', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    await run(['config', 'set', 'host_namespace', hostNs]);
    await run(['config', 'set', 'external_network_bridge', '']);
    await run(['network', 'add', 'ext', '--cidr', '203.0.113.0/24', '--gateway-ip', '203.0.113.1', '--external']);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    await run(['router', 'add', 'r1']);
    await run(['gateway', 'set', 'r1', 'ext']);
    ns = `qrouter-${JSON.parse(readStore(store.path)).routers[0].id}`;
  });

  after(async () => {
    await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    deleteNamespaces([hostNs, ns]);
    store.cleanup();
  });

  it('gateway set without --ip takes the first free address of the subnet', (t) => {
    if (!requireE2E(t)) return;
    assert.equal(JSON.parse(readStore(store.path)).routers[0].gateway.fixed_ips[0].ip_address, '203.0.113.2');
  });

  it('one read (one iptables-save), at most one iptables-restore and one ip -batch per namespace and kind of work', async (t) => {
    if (!requireE2E(t)) return;
    const r = await run(['-v', 'interface', 'add', 'r1', 'priv']);
    const cmds = commands(r.stderr);
    // One read of the namespace, with its iptables-save inside (observe.ts), and no other iptables-save.
    assert.equal(cmds.filter((c) => c.startsWith(`+ ip netns exec ${ns} /bin/sh -c `) && c.includes(' iptables-save -c ')).length, 1, cmds.join('\n'));
    assert.equal(cmds.filter((c) => c.includes('iptables-save')).length, 1, cmds.join('\n'));
    assert.equal(cmds.filter((c) => c.includes('iptables-restore')).length, 1, cmds.join('\n'));
    assert.equal(cmds.filter((c) => c === `+ ip -n ${ns} -batch -`).length, 1, cmds.join('\n'));
    assert.equal(cmds.filter((c) => c === `+ ip -n ${hostNs} -batch -`).length, 1, cmds.join('\n'));
    const f = await run(['-v', 'fip', 'associate', '203.0.113.20', '198.51.100.5']);
    const fc = commands(f.stderr);
    assert.equal(fc.filter((c) => c.includes('iptables-restore')).length, 1, fc.join('\n'));
    // The FIP's /32 goes in only after its NAT rules: a second, small batch.
    const order = fc.filter((c) => c.includes('iptables-restore') || c === `+ ip -n ${ns} -batch -`);
    assert.deepEqual(order, [`+ ip netns exec ${ns} iptables-restore -w --noflush --counters`, `+ ip -n ${ns} -batch -`]);
  });

  it('gratuitous ARP runs in the background: the command returns while arping still works', async (t) => {
    if (!requireE2E(t)) return;
    await run(['config', 'set', 'send_arp_for_ha', '3']);
    await run(['fip', 'associate', '203.0.113.21', '198.51.100.6']);
    const running = arpingsIn(ns);
    assert.ok(running.some((c) => c.includes('-A') && c.includes('203.0.113.21')), `arping for the new FIP still running: ${running.join(' | ')}`);
    // Let it finish so teardown does not race it.
    for (let i = 0; i < 50 && arpingsIn(ns).length; i++) await new Promise((res) => setTimeout(res, 100));
  });

  it('send_arp_for_ha 0 sends none', async (t) => {
    if (!requireE2E(t)) return;
    await run(['config', 'set', 'send_arp_for_ha', '0']);
    const r = await run(['-v', 'fip', 'associate', '203.0.113.22', '198.51.100.7']);
    assert.ok(!r.stderr.includes('arping'));
    assert.deepEqual(arpingsIn(ns), []);
  });

  it('config get/list/unset show values and defaults', async (t) => {
    if (!requireE2E(t)) return;
    assert.equal((await run(['config', 'get', 'send_arp_for_ha'])).stdout.trim(), '0');
    const list = JSON.parse((await run(['config', 'list', '-f', 'json'])).stdout) as { key: string; value: string | null; source: string }[];
    assert.deepEqual(list.find((x) => x.key === 'host_namespace'), { key: 'host_namespace', value: hostNs, default: null, source: 'store' });
    await run(['config', 'unset', 'send_arp_for_ha']);
    assert.equal((await run(['config', 'get', 'send_arp_for_ha'])).stdout.trim(), '3');
  });

  it('router delete of several routers removes every namespace', async (t) => {
    if (!requireE2E(t)) return;
    await run(['router', 'add', 'r2']);
    await run(['router', 'add', 'r3']);
    const ids = (JSON.parse(readStore(store.path)).routers as { id: string; name: string }[]).filter((r) => r.name !== 'r1').map((r) => `qrouter-${r.id}`);
    assert.ok(ids.every((n) => namespaces().includes(n)));
    await run(['router', 'delete', 'r2', 'r3', '--yes']);
    assert.deepEqual(ids.filter((n) => namespaces().includes(n)), []);
    assert.deepEqual((JSON.parse(readStore(store.path)).routers as { name: string }[]).map((r) => r.name), ['r1']);
  });

  it('external_network_bridge naming a missing bridge fails with exit 1 naming it', async (t) => {
    if (!requireE2E(t)) return;
    const before = readStore(store.path);
    const r = await l3ctl(['config', 'set', 'external_network_bridge', 'br-nope'], opts);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.split('\n')[0]!, /^l3ctl: error: .*external network bridge 'br-nope' does not exist/);
    assert.equal(readStore(store.path), before);
  });
});
