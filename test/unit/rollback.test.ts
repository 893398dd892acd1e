// The transaction's rollback against the strict fake system: a command that
// fails part-way (at the host batch, a line of the router batch, the NAT
// restore, the floating IP batch, conntrack) leaves the fake kernel exactly
// as it was before the command, counters of untouched rules included, and
// the store unchanged. No root; test/e2e/rollback.test.ts does it for real.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { transact, type Change, type InterruptSource } from '../../src/agent/transaction.js';
import type { State } from '../../src/model/types.js';
import { tempStore } from '../helpers/cli.js';
import { fakeFor } from '../helpers/fakesys.js';
import { NS, PRIV2, QRP2, R, converge, replan, world, type WorldOptions } from '../helpers/world.js';
import { net, port } from '../helpers/one-subnet.js';

const noInterrupts: InterruptSource = { trap: () => ({ interrupted: () => false, release() {} }) };
const stores: { cleanup(): void }[] = [];
after(() => stores.forEach((s) => s.cleanup()));

const START: WorldOptions = { gateway: true, port: true, fips: [['203.0.113.20', '198.51.100.5']], routes: [['192.0.2.128/26', '198.51.100.254']] };

interface Case {
  name: string;
  change: (s: State) => Change<unknown>;
  /** Where the forward pass fails: an argv or an input line. */
  failOn: RegExp;
  /** The failing program's exit status (conntrack's 1 means "nothing to delete"). */
  exitCode?: number;
  /** Rules the forward pass deletes and the rollback writes again lose their counters: compare without. */
  counters?: boolean;
}

const CASES: Case[] = [
  {
    name: 'floating IP associated, the NAT restore fails (nothing of the table committed)',
    change: (s) => (s.floatingips.push({ id: '66666666-ffff-4fff-8fff-000000000021', floating_ip_address: '203.0.113.21', floating_network_id: s.networks[0]!.id, fixed_ip_address: '198.51.100.6', router_id: R }), { routers: [R] }),
    failOn: /^-I l3ctl-float-snat \d+ -s 198\.51\.100\.6/,
  },
  {
    name: 'floating IP associated, its address fails after its rules went in',
    change: (s) => (s.floatingips.push({ id: '66666666-ffff-4fff-8fff-000000000021', floating_ip_address: '203.0.113.21', floating_network_id: s.networks[0]!.id, fixed_ip_address: '198.51.100.6', router_id: R }), { routers: [R] }),
    failOn: /^addr add 203\.0\.113\.21\/32/,
  },
  {
    name: 'interface added, its address fails after the veth was made',
    change: (s) => (s.routers[0]!.interfaces.push(port({ id: QRP2, network_id: PRIV2, ip_address: '192.0.2.1', mac_address: 'fa:16:3e:00:00:03', admin_state_up: true })), { routers: [R] }),
    failOn: /^addr add 192\.0\.2\.1\/25/,
  },
  {
    name: 'interface added on a new network, the host batch fails at the veth (the new bridge was made)',
    change: (s) => {
      s.networks.push(net({ id: '24242424-bbbb-4bbb-8bbb-000000000004', name: 'priv3', cidr: '192.0.2.192/27', gateway_ip: null, external: false, bridge: null }));
      s.routers[0]!.interfaces.push(port({ id: QRP2, network_id: '24242424-bbbb-4bbb-8bbb-000000000004', ip_address: '192.0.2.193', mac_address: 'fa:16:3e:00:00:03', admin_state_up: true }));
      return { routers: [R], bridges: true };
    },
    failOn: /^link add tap56565656-ee type veth/,
  },
  {
    name: 'gateway removed (with its floating IP), the router batch fails at the device',
    change: (s) => {
      s.routers[0]!.gateway = null;
      s.floatingips = [];
      return { routers: [R] };
    },
    failOn: /^link del qg-/,
    counters: false,
  },
  {
    name: 'floating IP disassociated, conntrack fails after the address and the rules went',
    change: (s) => ((s.floatingips = []), { routers: [R] }),
    failOn: /conntrack -D -d/,
    exitCode: 2,
    counters: false,
  },
  {
    // The proxy is stopped (files removed) before the namespace goes: the rollback starts it again.
    name: 'router deleted, the namespace deletion fails after its metadata proxy was stopped',
    change: (s) => {
      s.routers = [];
      s.floatingips = [];
      return { routers: [R] };
    },
    failOn: /^ip netns del /,
  },
  {
    name: 'extra route replaced, the NAT of a config change fails after the routes',
    change: (s) => {
      s.routers[0]!.routes = [{ destination: '192.0.2.128/26', nexthop: '198.51.100.253' }];
      s.config.use_random_fully = 'false';
      return { routers: [R] };
    },
    failOn: /iptables-restore/,
  },
];

describe('rollback restores the fake kernel exactly', () => {
  for (const c of CASES) {
    it(c.name, async (t) => {
      const f = fakeFor(t);
      const store = tempStore();
      stores.push(store);
      const start = world(START);
      writeFileSync(store.path, JSON.stringify(start, null, 2) + '\n');
      const text = readFileSync(store.path, 'utf8');
      // The store's path is where the routers' metadata proxies keep their files: the same for every pass.
      const sys = { runner: f, files: f.files, storePath: store.path };
      await converge(sys, start);
      // Traffic: counters that a rewrite must carry and a rollback must keep.
      for (const chain of ['l3ctl-PREROUTING', 'l3ctl-OUTPUT', 'l3ctl-float-snat', 'l3ctl-snat']) f.bumpCounters(NS, 'nat', chain, { packets: 3, bytes: 252 });
      const before = f.toString({ counters: c.counters });
      f.failOn(c.failOn, { exitCode: c.exitCode });
      await assert.rejects(
        transact({ ...sys, dryRun: false, warn() {}, interrupts: noInterrupts }, c.change),
        (e: Error & { exitCode?: number; hint?: string }) => {
          assert.equal(e.exitCode, 1, e.stack);
          assert.match(e.hint ?? '', /the kernel was put back as it was before this command; the store is unchanged$/);
          return true;
        },
      );
      assert.equal(f.toString({ counters: c.counters }), before);
      assert.equal(readFileSync(store.path, 'utf8'), text);
      assert.deepEqual(await replan(sys, start), []);
    });
  }
});
