// `agent check` against the strict fake system: for every kind of damage an
// operator (or a crash) can do to a converged router, check's findings name
// the damaged object, "no finding" and "sync would do nothing" are the same
// statement, and once the plan is applied both are empty. A planner
// exception is never drift: it fails the test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRouters } from '../../src/agent/check.js';
import { routerFilesDir } from '../../src/agent/daemons.js';
import { planRouterPass } from '../../src/agent/pass.js';
import { routerView } from '../../src/agent/show.js';
import { findingsOf, isEmptyPlan, type Finding } from '../../src/agent/steps.js';
import { effectiveConfig } from '../../src/model/config.js';
import type { State } from '../../src/model/types.js';
import { FakeSystem, fakeFor } from '../helpers/fakesys.js';
import { BRP, BRX, HOST, NS, QG, QR, R, TAPG, TAPR, converge, replan, world, type WorldOptions } from '../helpers/world.js';

const OPTS: WorldOptions = { gateway: true, port: true, fips: [['203.0.113.20', '198.51.100.5']], routes: [['192.0.2.128/26', '198.51.100.254']] };

const ip = (f: FakeSystem, ...args: string[]) => f.sh(['ip', '-n', NS, ...args]);
const host = (f: FakeSystem, ...args: string[]) => f.sh(['ip', '-n', HOST, ...args]);
const ipt = (f: FakeSystem, ...args: string[]) => f.sh(['ip', 'netns', 'exec', NS, 'iptables', ...args]);
const sysctl = (f: FakeSystem, kv: string) => f.sh(['ip', 'netns', 'exec', NS, 'sysctl', '-w', kv]);

interface Damage {
  name: string;
  damage?: (f: FakeSystem) => Promise<unknown>;
  /** A change of the store instead of (or with) the kernel. */
  store?: (s: State) => void;
  /** `kind object` of each finding, in the plan's order. */
  findings: string[];
}

const SNAT_A = '-t nat -A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20 --random-fully';
/** The metadata proxy's pid (one runs in the converged router) and config file. */
const proxyPid = (f: FakeSystem) => f.files.processesIn(NS)[0]!.pid;
const proxyConf = (f: FakeSystem) => `${routerFilesDir(f.storePath, R)}/haproxy.conf`;
/** After a sync: one proxy in the router's namespace while it is wanted, none anywhere else. */
function oneProxyAtMost(f: FakeSystem, s: State, what: string) {
  const wanted = s.routers.some((r) => r.admin_state_up) && s.config.enable_metadata_proxy !== 'false';
  assert.equal(f.hasNs(NS) ? f.files.processesIn(NS).length : 0, wanted ? 1 : 0, `${what}: proxies in ${NS}`);
  assert.deepEqual(f.files.processesInDeletedNamespaces(), [], `${what}: proxies left in deleted namespaces`);
}

const DAMAGES: Damage[] = [
  { name: 'qr- device deleted', damage: (f) => ip(f, 'link', 'del', QR), findings: [`missing-device ${QR}`, 'missing-route 192.0.2.128/26'] },
  { name: 'qg- device deleted', damage: (f) => ip(f, 'link', 'del', QG), findings: [`missing-device ${QG}`, 'missing-route 0.0.0.0/0'] },
  { name: 'port address removed', damage: (f) => ip(f, 'addr', 'del', '198.51.100.1/24', 'dev', QR), findings: [`missing-address 198.51.100.1/24 on ${QR}`, 'missing-route 192.0.2.128/26'] },
  { name: 'floating IP /32 removed', damage: (f) => ip(f, 'addr', 'del', '203.0.113.20/32', 'dev', QG), findings: [`missing-address 203.0.113.20/32 on ${QG}`] },
  // Wanted addresses held in another form: replaced (del, add) in one batch, the routes the deletion dropped written again.
  {
    name: 'floating IP /32 re-added with scope host',
    damage: async (f) => {
      await ip(f, 'addr', 'del', '203.0.113.20/32', 'dev', QG);
      await ip(f, 'addr', 'add', '203.0.113.20/32', 'brd', '203.0.113.20', 'scope', 'host', 'dev', QG);
    },
    findings: [`wrong-scope 203.0.113.20/32 on ${QG}`],
  },
  {
    name: 'port address re-added with scope host (its routes put back by hand)',
    damage: async (f) => {
      await ip(f, 'addr', 'del', '198.51.100.1/24', 'dev', QR);
      await ip(f, 'addr', 'add', '198.51.100.1/24', 'brd', '198.51.100.255', 'scope', 'host', 'dev', QR);
      await ip(f, 'route', 'add', '192.0.2.128/26', 'via', '198.51.100.254');
    },
    findings: [`wrong-scope 198.51.100.1/24 on ${QR}`],
  },
  {
    name: 'port address re-added with another broadcast',
    damage: async (f) => {
      await ip(f, 'addr', 'del', '198.51.100.1/24', 'dev', QR);
      await ip(f, 'addr', 'add', '198.51.100.1/24', 'brd', '198.51.100.100', 'dev', QR);
      await ip(f, 'route', 'add', '192.0.2.128/26', 'via', '198.51.100.254');
    },
    findings: [`wrong-broadcast 198.51.100.1/24 on ${QR}`],
  },
  {
    name: 'gateway address re-added without broadcast',
    damage: async (f) => {
      await ip(f, 'addr', 'del', '203.0.113.10/24', 'dev', QG);
      await ip(f, 'addr', 'add', '203.0.113.10/24', 'dev', QG);
      await ip(f, 'route', 'replace', 'default', 'via', '203.0.113.1');
    },
    findings: [`wrong-broadcast 203.0.113.10/24 on ${QG}`],
  },
  {
    name: 'floating IP /32 re-added with scope link and no broadcast',
    damage: async (f) => {
      await ip(f, 'addr', 'del', '203.0.113.20/32', 'dev', QG);
      await ip(f, 'addr', 'add', '203.0.113.20/32', 'scope', 'link', 'dev', QG);
    },
    findings: [`wrong-scope 203.0.113.20/32 on ${QG}`, `wrong-broadcast 203.0.113.20/32 on ${QG}`],
  },
  {
    name: 'a qr- device with the port\'s name but no host end (not on the bridge): plugged again',
    damage: async (f) => {
      await ip(f, 'link', 'del', QR);
      await ip(f, 'link', 'add', QR, 'type', 'veth', 'peer', 'name', 'zzpeer');
      await ip(f, 'link', 'set', QR, 'up');
      await ip(f, 'addr', 'add', '198.51.100.1/24', 'brd', '198.51.100.255', 'dev', QR);
      await ip(f, 'route', 'add', '192.0.2.128/26', 'via', '198.51.100.254');
    },
    findings: [`missing-device ${TAPR}`, 'missing-route 192.0.2.128/26'],
  },
  {
    name: 'another address of the port\'s subnet with scope host, the port\'s own gone: it goes first (the kernel adds no global one beside it)',
    damage: async (f) => {
      await ip(f, 'addr', 'del', '198.51.100.1/24', 'dev', QR);
      await ip(f, 'addr', 'add', '198.51.100.9/24', 'scope', 'host', 'dev', QR);
      await ip(f, 'route', 'add', '192.0.2.128/26', 'via', '198.51.100.254');
    },
    findings: [`extra-address 198.51.100.9/24 on ${QR}`, `missing-address 198.51.100.1/24 on ${QR}`],
  },
  { name: 'an address added by hand', damage: (f) => ip(f, 'addr', 'add', '198.51.100.9/24', 'dev', QR), findings: [`extra-address 198.51.100.9/24 on ${QR}`] },
  { name: 'a link-scope address (not ours to judge)', damage: (f) => ip(f, 'addr', 'add', '169.254.0.9/16', 'scope', 'link', 'dev', QR), findings: [] },
  { name: 'MAC changed', damage: (f) => ip(f, 'link', 'set', QR, 'address', 'fa:16:3e:00:00:99'), findings: [`wrong-mac ${QR}`] },
  { name: 'qr- set down', damage: (f) => ip(f, 'link', 'set', QR, 'down'), findings: [`device-down ${QR}`, 'missing-route 198.51.100.0/24', 'missing-route 192.0.2.128/26'] },
  { name: 'lo set down', damage: (f) => ip(f, 'link', 'set', 'lo', 'down'), findings: ['device-down lo'] },
  { name: 'host end set down', damage: (f) => host(f, 'link', 'set', TAPG, 'down'), findings: [`device-down ${TAPG}`] },
  { name: 'host end on the wrong bridge', damage: (f) => host(f, 'link', 'set', TAPR, 'master', BRX), findings: [`wrong-bridge ${TAPR}`] },
  { name: 'bridge set down', damage: (f) => host(f, 'link', 'set', BRP, 'down'), findings: [`bridge-down ${BRP}`] },
  { name: 'bridge deleted', damage: (f) => host(f, 'link', 'del', BRP), findings: [`missing-bridge ${BRP}`, `wrong-bridge ${TAPR}`] },
  { name: 'extra route deleted', damage: (f) => ip(f, 'route', 'del', '192.0.2.128/26'), findings: ['missing-route 192.0.2.128/26'] },
  { name: 'default route deleted', damage: (f) => ip(f, 'route', 'del', 'default'), findings: ['missing-route 0.0.0.0/0'] },
  { name: 'connected route deleted', damage: (f) => ip(f, 'route', 'del', '198.51.100.0/24', 'dev', QR), findings: ['missing-route 198.51.100.0/24'] },
  { name: 'extra route through another nexthop', damage: (f) => ip(f, 'route', 'replace', '192.0.2.128/26', 'via', '198.51.100.253'), findings: ['missing-route 192.0.2.128/26'] },
  { name: 'a route added by hand', damage: (f) => ip(f, 'route', 'add', '192.0.2.192/26', 'via', '198.51.100.250'), findings: ['extra-route 192.0.2.192/26'] },
  { name: 'a chain of ours flushed', damage: (f) => ipt(f, '-t', 'nat', '-F', 'l3ctl-float-snat'), findings: [`missing-nat-rule ${SNAT_A}`] },
  { name: 'a rule added by hand in a chain of ours', damage: (f) => ipt(f, '-t', 'nat', '-A', 'l3ctl-snat', '-s', '192.0.2.192/26', '-j', 'SNAT', '--to-source', '203.0.113.10'), findings: ['extra-nat-rule -t nat -A l3ctl-snat -s 192.0.2.192/26 -j SNAT --to-source 203.0.113.10'] },
  {
    name: 'the rules of a chain of ours reordered',
    damage: async (f) => {
      await ipt(f, '-t', 'nat', '-D', 'l3ctl-snat', '-j', 'l3ctl-float-snat');
      await ipt(f, '-t', 'nat', '-A', 'l3ctl-snat', '-j', 'l3ctl-float-snat');
    },
    findings: ['nat-order -t nat -N l3ctl-snat'],
  },
  { name: 'a jump of ours deleted', damage: (f) => ipt(f, '-t', 'nat', '-D', 'POSTROUTING', '-j', 'l3ctl-postrouting-bottom'), findings: ['missing-nat-rule -t nat -I POSTROUTING 2 -j l3ctl-postrouting-bottom'] },
  {
    name: 'a foreign rule inserted before our jumps',
    damage: (f) => ipt(f, '-t', 'nat', '-I', 'POSTROUTING', '1', '-o', 'eth0', '-j', 'MASQUERADE'),
    findings: [
      'missing-nat-rule -t nat -I POSTROUTING 1 -j l3ctl-POSTROUTING',
      'missing-nat-rule -t nat -I POSTROUTING 2 -j l3ctl-postrouting-bottom',
      'extra-nat-rule -t nat -I POSTROUTING 2 -j l3ctl-POSTROUTING',
      'extra-nat-rule -t nat -I POSTROUTING 3 -j l3ctl-postrouting-bottom',
    ],
  },
  { name: 'a foreign rule after our jumps (not ours to judge)', damage: (f) => ipt(f, '-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE'), findings: [] },
  { name: 'a stale chain of ours', damage: (f) => ipt(f, '-t', 'nat', '-N', 'l3ctl-stale'), findings: ['extra-nat-chain -t nat -N l3ctl-stale'] },
  { name: 'ip_forward off', damage: (f) => sysctl(f, 'net.ipv4.ip_forward=0'), findings: ['ip_forward-off net.ipv4.ip_forward'] },
  { name: 'promote_secondaries off', damage: (f) => sysctl(f, 'net.ipv4.conf.all.promote_secondaries=0'), findings: ['ip_forward-off net.ipv4.conf.all.promote_secondaries'] },
  {
    name: 'a stale gateway device with a floating IP',
    damage: async (f) => {
      await f.sh(['ip', '-n', HOST, '-batch', '-'], `link add tapdeadbeef-00 type veth peer name qg-deadbeef-00 netns ${NS}\n`);
      await ip(f, 'addr', 'add', '203.0.113.77/32', 'dev', 'qg-deadbeef-00');
    },
    findings: ['extra-device qg-deadbeef-00'],
  },
  { name: 'router namespace deleted', damage: (f) => f.sh(['ip', 'netns', 'del', NS]), findings: [`missing-namespace ${NS}`] },
  { name: 'the metadata proxy killed', damage: (f) => f.sh(['kill', '-KILL', String(proxyPid(f))]), findings: ['daemon-dead haproxy'] },
  {
    name: 'the metadata proxy\'s config edited by hand',
    damage: async (f) => f.files.write(proxyConf(f), (await f.files.read(proxyConf(f)))!.replace('maxconn 1024', 'maxconn 10')),
    findings: ['daemon-config haproxy'],
  },
  {
    name: 'host namespace deleted (every host end with it, and so every port)',
    damage: (f) => f.sh(['ip', 'netns', 'del', HOST]),
    findings: [`missing-host-namespace ${HOST}`, `missing-bridge ${BRP}`, `missing-bridge ${BRX}`, `missing-device ${QR}`, `missing-device ${QG}`, 'missing-route 0.0.0.0/0', 'missing-route 192.0.2.128/26'],
  },
  { name: 'the router disabled: its namespace is unwanted', store: (s) => (s.routers[0]!.admin_state_up = false), findings: [`unwanted-namespace ${NS}`, 'extra-daemon haproxy'] },
  { name: 'the router deleted: its namespace is unwanted', store: (s) => (s.routers = []), findings: [`unwanted-namespace ${NS}`, 'extra-daemon haproxy'] },
  {
    name: 'the metadata proxy turned off in the store',
    store: (s) => (s.config.enable_metadata_proxy = 'false'),
    findings: [
      'extra-nat-rule -t filter -A l3ctl-INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 9697 -j ACCEPT',
      'extra-nat-rule -t filter -A l3ctl-INPUT -p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP',
      'extra-nat-rule -t nat -A l3ctl-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
      'extra-daemon haproxy',
    ],
  },
  { name: 'a floating IP disassociated in the store', store: (s) => (s.floatingips[0]!.fixed_ip_address = null, s.floatingips[0]!.router_id = null), findings: [
    `extra-address 203.0.113.20/32 on ${QG}`,
    '-t nat -A l3ctl-OUTPUT -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5',
    '-t nat -A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5',
    SNAT_A,
  ].map((x, i) => (i ? `extra-nat-rule ${x}` : x)) },
];

const key = (f: Finding) => `${f.kind} ${f.object}`;

/** What `agent check` reports for r1 (and the host namespace); an error is a failure of the test, never drift. */
async function check(f: FakeSystem, s: State): Promise<string[]> {
  const config = effectiveConfig(s.config);
  const stored = s.routers.filter((r) => r.id === R);
  const res = await checkRouters(f, s, config, stored, { host: true });
  for (const r of res) assert.equal(r.error, undefined, `agent check failed instead of reporting: ${r.error?.stack}`);
  const routerFindings = stored.length ? res[0]!.findings : (await planRouterPass(f, s, config, R)).flatMap(findingsOf);
  return [...routerFindings, ...res.at(-1)!.findings].map(key);
}

/** The plan `agent sync` would run for r1: findings and emptiness must agree with check. */
async function planOf(f: FakeSystem, s: State) {
  const plans = await planRouterPass(f, s, effectiveConfig(s.config), R);
  for (const p of plans) for (const st of p.steps) {
    assert.ok(st.findings.length > 0, `a step without a finding: ${JSON.stringify(st)}`);
    assert.ok(st.actions.length > 0, `a step without an action: ${JSON.stringify(st)}`);
  }
  return { findings: plans.flatMap(findingsOf).map(key), empty: plans.every(isEmptyPlan) };
}

async function damaged(f: FakeSystem, d: Damage): Promise<State> {
  await converge(f, world(OPTS));
  const s = world(OPTS);
  await d.damage?.(f);
  d.store?.(s);
  return s;
}

describe('agent check finds what sync would change, by name', () => {
  it('a converged router: no finding, an empty plan', async (t) => {
    const f = fakeFor(t);
    await converge(f, world(OPTS));
    assert.deepEqual(await check(f, world(OPTS)), []);
    assert.deepEqual(await replan(f, world(OPTS)), []);
  });

  for (const d of DAMAGES) {
    it(d.name, async (t) => {
      const f = fakeFor(t);
      const s = await damaged(f, d);
      const found = await check(f, s);
      assert.deepEqual(found, d.findings);
      const plan = await planOf(f, s);
      assert.deepEqual(plan.findings, found, 'check reports exactly the plan\'s findings');
      assert.equal(plan.empty, found.length === 0, 'findings empty <=> plan empty');
      if (s.routers.length) {
        const view = await routerView(f, s, effectiveConfig(s.config), s.routers[0]!);
        assert.deepEqual(view.findings.map(key), plan.findings, 'router show marks what the plan changes');
      }
      await converge(f, s);
      oneProxyAtMost(f, s, d.name);
      assert.deepEqual(await check(f, s), [], 'no finding after sync');
      assert.deepEqual(await replan(f, s), [], 'an empty plan after sync');
    });
  }

  it('every pair of damages: check and the plan agree, and one sync repairs both', async (t) => {
    const kernelOnly = DAMAGES.filter((d) => d.damage && !d.store);
    const base = new FakeSystem();
    await converge(base, world(OPTS));
    let pairs = 0;
    for (const [i, a] of kernelOnly.entries()) {
      for (const b of kernelOnly.slice(i + 1)) {
        const f = base.clone();
        const s = world(OPTS);
        await a.damage!(f);
        try {
          await b.damage!(f);
        } catch {
          continue; // b needs what a removed
        }
        pairs++;
        const found = await check(f, s);
        const plan = await planOf(f, s);
        assert.deepEqual(plan.findings, found, `${a.name} + ${b.name}`);
        assert.equal(plan.empty, found.length === 0, `${a.name} + ${b.name}`);
        await converge(f, s).catch((err: Error) => assert.fail(`${a.name} + ${b.name}: ${err.message}`));
        oneProxyAtMost(f, s, `${a.name} + ${b.name}`);
        assert.deepEqual(await check(f, s), [], `${a.name} + ${b.name}: no finding after sync`);
        assert.deepEqual(await replan(f, s), [], `${a.name} + ${b.name}: empty plan after sync`);
        f.verify();
      }
    }
    t.diagnostic(`${pairs} pairs`);
    assert.ok(pairs > 300, `${pairs} pairs`);
  });

  it("a missing operator bridge is drift: check names it, sync refuses before changing anything", async (t) => {
    const f = fakeFor(t);
    await converge(f, world(OPTS));
    const s = world({ ...OPTS, config: { external_network_bridge: 'br-ex' } });
    assert.deepEqual(await check(f, s), ['missing-bridge br-ex', `wrong-bridge ${TAPG}`]);
    const before = f.toString();
    f.clearCalls();
    await assert.rejects(converge(f, s), /external network bridge 'br-ex' does not exist/);
    assert.deepEqual(f.calls.filter((c) => !c.read), []);
    assert.equal(f.toString(), before);
  });

  it('a kernel that cannot be read is an error of check, not "no drift" and not drift', async (t) => {
    const f = fakeFor(t);
    await converge(f, world(OPTS));
    f.failOn(new RegExp(`exec ${NS} iptables-save`), { times: 2 });
    const s = world(OPTS);
    const res = await checkRouters(f, s, effectiveConfig(s.config), s.routers, { host: true });
    assert.match(res[0]!.error?.message ?? '', /^command failed \(exit 1\): ip netns exec \S+ \/bin\/sh -c .*iptables-save -c .*: iptables-save: Operation not permitted/);
    assert.deepEqual(res[0]!.findings, []);
    // This file's check() turns such an error into a failed test.
    await assert.rejects(check(f, s), /agent check failed instead of reporting/);
  });

  it("with the host, one read of the host namespace serves its leftovers and the bridges' side", async (t) => {
    const f = fakeFor(t);
    const s = world(OPTS);
    await converge(f, s);
    // Something of ours in the host namespace that no router owns, for the leftovers' plan to find.
    await host(f, 'link', 'add', 'qr-99999999-99', 'type', 'dummy');
    f.clearCalls();
    const res = await checkRouters(f, s, effectiveConfig(s.config), s.routers, { host: true });
    assert.deepEqual(res.map((x) => [x.router?.name ?? 'host', x.findings.map((y) => `${y.kind} ${y.object}`)]), [['r1', []], ['host', ['extra-device qr-99999999-99']]]);
    const hostReads = f.calls.filter((c) => c.argv.join(' ').startsWith(`ip -n ${HOST} `) || c.argv.join(' ').startsWith(`ip netns exec ${HOST} `));
    assert.equal(hostReads.length, 1, hostReads.map((c) => c.argv.join(' ').slice(0, 80)).join('\n'));
  });
});
