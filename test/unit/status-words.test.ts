// The live status of `router list --long` / `fip list --long` and the words
// of `agent sync` (issue 15), against the strict fake system: a converged
// router is ACTIVE, damage is DRIFT (for a floating IP only when it is its
// own), a disabled one torn down is DOWN; sync says what it put right.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describeChanges } from '../../src/agent/describe.js';
import { fipStatus, routerStatuses } from '../../src/agent/status.js';
import { effectiveConfig } from '../../src/model/config.js';
import type { State } from '../../src/model/types.js';
import type { Finding } from '../../src/agent/steps.js';
import { tempStore } from '../helpers/cli.js';
import { fakeFor, type FakeSystem } from '../helpers/fakesys.js';
import { l3ctlIn } from '../helpers/inproc.js';
import { NS, QG, R, converge, world, type WorldOptions } from '../helpers/world.js';

const OPTS: WorldOptions = {
  gateway: true,
  port: true,
  fips: [['203.0.113.20', '198.51.100.5'], ['203.0.113.21', '198.51.100.6']],
  routes: [['192.0.2.128/26', '198.51.100.254']],
  config: { enable_metadata_proxy: 'false' },
};

const ip = (f: FakeSystem, ...args: string[]) => f.sh(['ip', '-n', NS, ...args]);

async function statuses(f: FakeSystem, s: State) {
  const routers = await routerStatuses(f, s, effectiveConfig(s.config));
  const fips = Object.fromEntries(s.floatingips.map((x) => [x.floating_ip_address, fipStatus(x, routers, () => QG)]));
  return { router: routers.get(R)!.status, fips };
}

describe('live status from a cheap observation', () => {
  it('converged: ACTIVE, and its floating IPs too (an unassociated one is DOWN)', async (t) => {
    const f = fakeFor(t);
    const s = world(OPTS);
    await converge(f, s);
    s.floatingips.push({ id: '66666666-ffff-4fff-8fff-000000000099', floating_ip_address: '203.0.113.99', floating_network_id: s.networks[0]!.id, fixed_ip_address: null, router_id: null });
    const before = f.calls.length;
    assert.deepEqual(await statuses(f, s), { router: 'ACTIVE', fips: { '203.0.113.20': 'ACTIVE', '203.0.113.21': 'ACTIVE', '203.0.113.99': 'DOWN' } });
    const ran = f.calls.slice(before);
    assert.ok(ran.every((c) => c.read), 'only reads');
    // The reads `agent check` does for one router: its namespace's batch, save and sysctls, the bridges' side.
    assert.ok(ran.length <= 5, ran.map((c) => c.argv.join(' ')).join('\n'));
  });

  it("a route deleted by hand: the router DRIFTs, its floating IPs stay ACTIVE; one FIP's address gone: only that FIP DRIFTs", async (t) => {
    const f = fakeFor(t);
    const s = world(OPTS);
    await converge(f, s);
    await ip(f, 'route', 'del', '192.0.2.128/26');
    assert.deepEqual(await statuses(f, s), { router: 'DRIFT', fips: { '203.0.113.20': 'ACTIVE', '203.0.113.21': 'ACTIVE' } });
    await ip(f, 'addr', 'del', '203.0.113.20/32', 'dev', QG);
    assert.deepEqual(await statuses(f, s), { router: 'DRIFT', fips: { '203.0.113.20': 'DRIFT', '203.0.113.21': 'ACTIVE' } });
  });

  it('the namespace gone: the router and every FIP DRIFT; disabled and torn down: DOWN', async (t) => {
    const f = fakeFor(t);
    const s = world(OPTS);
    await converge(f, s);
    await f.sh(['ip', 'netns', 'del', NS]);
    assert.deepEqual(await statuses(f, s), { router: 'DRIFT', fips: { '203.0.113.20': 'DRIFT', '203.0.113.21': 'DRIFT' } });
    s.routers[0]!.admin_state_up = false;
    await converge(f, s);
    assert.deepEqual((await statuses(f, s)).router, 'DOWN');
  });
});

describe('what sync changed, in words', () => {
  const f = (kind: Finding['kind'], object: string, expected: string | null = null, live: string | null = null): Finding => ({ kind, object, expected, live });

  it('a floating IP with its NAT rules is one phrase; a replaced route; NAT rules of its own counted', () => {
    assert.equal(
      describeChanges([
        f('missing-address', `203.0.113.20/32 on ${QG}`, '203.0.113.20/32'),
        f('missing-route', '192.0.2.0/24', '192.0.2.0/24 via 198.51.100.254', '192.0.2.0/24 via 198.51.100.253 dev qr-x'),
        f('missing-nat-rule', '-t nat -A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5'),
        f('missing-nat-rule', '-t nat -A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20'),
        f('extra-nat-rule', '-t nat -A l3ctl-snat -o qg-x -j SNAT --to-source 203.0.113.2'),
      ]),
      '+fip 203.0.113.20, route 192.0.2.0/24 replaced, NAT: -1 rule',
    );
    assert.equal(describeChanges([f('extra-address', `203.0.113.2/32 on ${QG}`), f('extra-address', `203.0.113.20/32 on ${QG}`)]), '-fip 203.0.113.2, -fip 203.0.113.20');
    assert.equal(describeChanges([f('missing-namespace', NS)]), 'namespace built');
    // A wanted address held with another scope or broadcast: re-added, said once however much differed.
    assert.equal(
      describeChanges([f('wrong-scope', `203.0.113.20/32 on ${QG}`, 'scope global', 'scope host'), f('wrong-broadcast', `203.0.113.20/32 on ${QG}`, 'brd 203.0.113.20', 'no brd'), f('wrong-broadcast', '198.51.100.1/24 on qr-1', 'brd 198.51.100.255', 'brd 198.51.100.100')]),
      'fip 203.0.113.20 re-added, address 198.51.100.1/24 on qr-1 re-added',
    );
    assert.equal(describeChanges([f('missing-device', 'tap1', 'the host end of qr-1, on brq1')]), 'tap1 re-plugged');
    assert.equal(describeChanges([f('missing-device', 'qr-1', 'internal port 1 198.51.100.1/24 on brq1'), f('daemon-dead', 'haproxy', 'x', 'gone')]), '+port qr-1 198.51.100.1/24, metadata proxy restarted');
    // An HA router's node that is not the master: keepalived's leftovers removed, IPv6 switched off.
    assert.equal(
      describeChanges([f('ipv6-on', 'net.ipv6.conf.all.disable_ipv6', '1', '0'), f('stale-ha-address', `203.0.113.20/32 on ${QG}`), f('stale-ha-address', '198.51.100.1/24 on qr-1'), f('stale-ha-route', '0.0.0.0/0')]),
      'IPv6 off (HA), -fip 203.0.113.20 (not the HA master), -address 198.51.100.1/24 on qr-1 (not the HA master), -route 0.0.0.0/0 (not the HA master)',
    );
    const many = Array.from({ length: 11 }, (_, i) => f('missing-route', `192.0.2.${i}/32`, 'x'));
    assert.match(describeChanges(many), /^\+route 192\.0\.2\.0\/32, .*, \+route 192\.0\.2\.7\/32 and 3 more$/);
  });

  it('agent sync on a damaged router: one line per router that changed, in words, then the count', async (t) => {
    const fake = fakeFor(t);
    const s = world(OPTS);
    await converge(fake, s);
    await ip(fake, 'route', 'del', '192.0.2.128/26');
    await ip(fake, 'addr', 'del', '203.0.113.21/32', 'dev', QG);
    const store = tempStore();
    t.after(() => store.cleanup());
    writeFileSync(store.path, JSON.stringify(s));
    const r = await l3ctlIn(['agent', 'sync'], { store: store.path, runner: fake, files: fake.files });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'r1: +fip 203.0.113.21, +route 192.0.2.128/26\nsynced 1 router(s), 1 changed\n');
    const again = await l3ctlIn(['agent', 'sync'], { store: store.path, runner: fake, files: fake.files });
    assert.equal(again.stderr, 'synced 1 router(s), 0 changed\n');
  });

  it('router list --long and fip list --long: the status column, from the kernel', async (t) => {
    const fake = fakeFor(t);
    const s = world(OPTS);
    await converge(fake, s);
    await ip(fake, 'addr', 'del', '203.0.113.20/32', 'dev', QG);
    const store = tempStore();
    t.after(() => store.cleanup());
    writeFileSync(store.path, JSON.stringify(s));
    const run = (args: string[]) => l3ctlIn(args, { store: store.path, runner: fake, files: fake.files });
    assert.match((await run(['router', 'list', '--long'])).stdout, /^r1 +UP +ext 203\.0\.113\.10 +priv +1 +2 +no +\S+ +DRIFT$/m);
    const fips = (await run(['fip', 'list', '--long', '-c', 'floating_ip_address', '-c', 'Status', '-f', 'value'])).stdout;
    assert.equal(fips, '203.0.113.20\tDRIFT\n203.0.113.21\tACTIVE\n');
    // Without --long nothing is observed, and json keeps the store's status.
    const before = fake.calls.length;
    assert.deepEqual(JSON.parse((await run(['fip', 'list', '-f', 'json', '-c', 'status'])).stdout), [{ status: 'ACTIVE' }, { status: 'ACTIVE' }]);
    assert.equal(fake.calls.length, before, 'no program run without --long');
    assert.deepEqual(JSON.parse((await run(['router', 'list', '--long', '-f', 'json', '-c', 'name', '-c', 'status'])).stdout), [{ name: 'r1', status: 'DRIFT' }]);
  });
});
