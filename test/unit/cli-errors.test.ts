// Issue 4, unit variant: every bad input of the shared table, run through the
// real CLI against a hand-written store. No kernel: PATH holds no `ip` or
// `iptables`, so a case that slipped past validation would fail with exit 1,
// never change anything, and never pass as exit 2.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { l3ctl, readStore, tempStore } from '../helpers/cli.js';
import { ERROR_CASES, PRIV_ID } from '../helpers/error-cases.js';
import type { State } from '../../src/model/types.js';

const EXT = 'e0000001-0000-4000-8000-000000000001';
const PRIV = PRIV_ID;
const N3 = 'e0000003-0000-4000-8000-000000000003';
const R1 = 'e0000004-0000-4000-8000-000000000004';

// The same topology TOPOLOGY_COMMANDS builds for real.
export const HAND_WRITTEN: State = {
  version: 1,
  config: { host_namespace: 'l3ctl-t-unit-never-created', external_network_bridge: '', send_arp_for_ha: '0' },
  networks: [
    { id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null },
    { id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null },
    { id: N3, name: 'n3', cidr: '192.0.2.0/25', gateway_ip: '192.0.2.1', external: false, bridge: null },
    { id: 'e0000008-0000-4000-8000-000000000008', name: 'over', cidr: '198.51.100.0/25', gateway_ip: '198.51.100.1', external: false, bridge: null },
  ],
  routers: [
    {
      id: R1,
      name: 'r1',
      admin_state_up: true,
      gateway: { id: 'e0000005-0000-4000-8000-000000000005', network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:05', admin_state_up: true },
      interfaces: [{ id: 'e0000006-0000-4000-8000-000000000006', network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:06', admin_state_up: true }],
      routes: [{ destination: '192.0.2.128/25', nexthop: '198.51.100.254' }],
      ha: false,
      ha_vr_id: null,
    },
  ],
  floatingips: [
    { id: 'e0000007-0000-4000-8000-000000000007', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R1 },
  ],
};

const store = tempStore();
writeFileSync(store.path, JSON.stringify(HAND_WRITTEN, null, 2) + '\n');
const NO_TOOLS = { PATH: '/nonexistent-l3ctl-test-path' };

describe('bad input: exit 2, one error line, store untouched (no kernel)', () => {
  after(() => store.cleanup());
  const before = readStore(store.path);

  for (const c of ERROR_CASES) {
    it(`${c.what}: l3ctl ${c.args.join(' ')}`, async () => {
      const r = await l3ctl(c.args, { store: store.path, env: NO_TOOLS });
      const lines = r.stderr.split('\n');
      assert.equal(r.code, c.code ?? 2, `exit code\nstderr: ${r.stderr}`);
      assert.match(lines[0]!, c.first);
      if (c.hint) assert.ok(lines.some((l) => c.hint!.test(l)), `a hint matching ${c.hint}\nstderr: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(r.stdout, '', 'nothing on stdout');
      assert.equal(readStore(store.path), before, 'store byte-identical');
      assert.deepEqual(readdirSync(store.dir).sort(), ['state.json'], 'no .bak, lock or temp file left behind');
    });
  }

  it('every error line but the first is a hint or help text', async () => {
    const r = await l3ctl(['router', 'ad'], { store: store.path, env: NO_TOOLS });
    assert.deepEqual(r.stderr.trimEnd().split('\n'), ["l3ctl: error: unknown command 'ad'", 'hint: did you mean add?']);
  });

  it('--help and `help NOUN` print help on stdout and exit 0', async () => {
    for (const args of [['router', '--help'], ['help', 'router']]) {
      const r = await l3ctl(args, { store: store.path, env: NO_TOOLS });
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: l3ctl router/);
      assert.equal(r.stderr, '');
    }
  });

  it('a bare noun prints its help on stderr after the error line, nothing on stdout', async () => {
    const r = await l3ctl(['fip'], { store: store.path, env: NO_TOOLS });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], "l3ctl: error: 'l3ctl fip' needs a command");
    assert.match(lines[1]!, /^Usage: l3ctl fip/);
  });
});
