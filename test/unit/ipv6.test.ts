// IPv6 through the planner and apply, in-process against the strict fake
// system (issue 19): a dual-stack router's addresses (no brd, DAD on), its
// IPv6 connected and default routes, forwarding and accept_ra, radvd as a
// per-router daemon, no NAT for IPv6; drift of each found and repaired; and
// IPv6 leaving again. No root: test/e2e/ipv6.test.ts is the real kernel.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { routerFilesDir } from '../../src/agent/daemons.js';
import { findingsOf, type Plan } from '../../src/agent/steps.js';
import type { Ipv6Mode, State } from '../../src/model/types.js';
import { FakeSystem, fakeFor } from '../helpers/fakesys.js';
import { EXT, HOST, NS, PRIV, QG, QR, R, converge, replan, world } from '../helpers/world.js';

const EXT6 = '11111111-6666-4666-8666-000000000001';
const PRIV6 = '22222222-6666-4666-8666-000000000002';
const DIR = routerFilesDir(new FakeSystem().storePath, R);
const RADVD = `radvd -C ${DIR}/radvd.conf -p ${DIR}/radvd.pid -m logfile -l ${DIR}/radvd.log`;
const PROXY = `haproxy -f ${DIR}/haproxy.conf -p ${DIR}/haproxy.pid -D`;

interface Dual {
  /** The internal IPv6 subnet's RA mode (both modes); null: none. */
  ra?: Ipv6Mode | null;
  /** The external IPv6 subnet's gateway IP; null: none (the gateway learns its route from the upstream's adverts). */
  extGateway?: string | null;
  /** The router's IPv6 address on the internal subnet; null: the port has none. */
  qr6?: string | null;
  routes?: [string, string][];
}

/** world()'s router r1 (gateway and port), dual-stack: 2001:db8:ff::/64 outside, 2001:db8:1::/64 inside. */
function dual(o: Dual = {}): State {
  const s = world({ gateway: true, port: true, routes: o.routes });
  const ext = s.networks.find((n) => n.id === EXT)!;
  const priv = s.networks.find((n) => n.id === PRIV)!;
  const ra = o.ra === undefined ? 'slaac' : o.ra;
  ext.subnets.push({ id: EXT6, cidr: '2001:db8:ff::/64', gateway_ip: o.extGateway === undefined ? '2001:db8:ff::1' : o.extGateway, ip_version: 6, ipv6_ra_mode: null, ipv6_address_mode: null });
  priv.subnets.push({ id: PRIV6, cidr: '2001:db8:1::/64', gateway_ip: '2001:db8:1::1', ip_version: 6, ipv6_ra_mode: ra, ipv6_address_mode: ra });
  const r = s.routers[0]!;
  r.gateway!.fixed_ips.push({ subnet_id: EXT6, ip_address: '2001:db8:ff::10' });
  const qr6 = o.qr6 === undefined ? '2001:db8:1::1' : o.qr6;
  if (qr6) r.interfaces[0]!.fixed_ips.push({ subnet_id: PRIV6, ip_address: qr6 });
  return s;
}

const batches = (f: FakeSystem, ns: string) => f.calls.filter((c) => c.argv.join(' ') === `ip -n ${ns} -batch -`).map((c) => c.input!.replace(/\n$/, '').split('\n'));
const cmds = (f: FakeSystem) => f.calls.filter((c) => !c.read).map((c) => c.argv.join(' '));
const reads = (f: FakeSystem) => f.calls.filter((c) => c.read).map((c) => c.argv.join(' '));
const kinds = (plans: Plan[]) => plans.flatMap(findingsOf).map((x) => `${x.kind} ${x.object}`);
const addrs6 = (f: FakeSystem, dev: string) => f.link(NS, dev)!.addrs.filter((a) => a.family === 6).map((a) => `${a.local}/${a.prefixlen}${a.brd ? ` brd ${a.brd}` : ''}`);
const routes6 = (f: FakeSystem) => f.routes(NS).filter((r) => r.includes(':') || (r.startsWith('default') && r.includes('metric')));
const procs = (f: FakeSystem) => f.files.processesIn(NS).map((p) => p.argv.join(' ')).sort();
const radvdPid = (f: FakeSystem) => f.files.processesIn(NS).find((p) => p.argv[0] === 'radvd')!.pid;

async function at(f: FakeSystem, s: State) {
  await converge(f, s);
  assert.deepEqual(await replan(f, s), [], 'converged before the change');
  f.clearCalls();
}

async function change(f: FakeSystem, s: State) {
  const plans = await converge(f, s);
  assert.deepEqual(await replan(f, s), [], 'planning again after the apply gives an empty plan');
  return plans;
}

describe('a dual-stack router', () => {
  it('addresses without brd and with DAD, IPv6 routes, forwarding and accept_ra, radvd; NAT and floating IPs IPv4 only', async (t) => {
    const f = fakeFor(t);
    await change(f, dual());
    const lines = batches(f, NS).flat();
    assert.ok(lines.includes(`addr add 2001:db8:1::1/64 scope global dev ${QR}`), lines.join('\n'));
    assert.ok(lines.includes(`addr add 2001:db8:ff::10/64 scope global dev ${QG}`), lines.join('\n'));
    assert.ok(lines.includes(`route replace default via 2001:db8:ff::1 dev ${QG}`), lines.join('\n'));
    assert.ok(!lines.some((l) => / nodad/.test(l)), 'duplicate address detection stays on, as Neutron');
    assert.deepEqual(addrs6(f, QR), ['2001:db8:1::1/64']);
    assert.deepEqual(addrs6(f, QG), ['2001:db8:ff::10/64']);
    assert.deepEqual(routes6(f), [
      `default via 2001:db8:ff::1 dev ${QG} metric 1024 pref medium`,
      `2001:db8:1::/64 dev ${QR} proto kernel metric 256 pref medium`,
      `2001:db8:ff::/64 dev ${QG} proto kernel metric 256 pref medium`,
    ]);
    assert.ok(f.routes(NS).includes(`default via 203.0.113.1 dev ${QG}`), 'the IPv4 default route beside it');
    assert.equal(f.sysctl(NS, 'net.ipv6.conf.all.forwarding'), '1');
    assert.deepEqual([f.link(NS, QR)!.acceptRa, f.link(NS, QG)!.acceptRa], ['0', '0']);
    // The devices' own settings once the batch has made them; forwarding with the namespace's.
    const order = cmds(f);
    const batch = order.indexOf(`ip -n ${NS} -batch -`);
    assert.ok(order.indexOf(`ip netns exec ${NS} sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.promote_secondaries=1 net.ipv6.conf.all.forwarding=1`) < batch, order.join('\n'));
    assert.ok(order.indexOf(`ip netns exec ${NS} sysctl -q -w net.ipv6.conf.${QR}.accept_ra=0 net.ipv6.conf.${QG}.accept_ra=0`) > batch, order.join('\n'));
    // No NAT for IPv6: the SNAT rules name the IPv4 subnet and address only, and ip6tables is not run.
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-snat'), [
      '-A l3ctl-snat -j l3ctl-float-snat',
      '-A l3ctl-snat -s 198.51.100.0/24 -j SNAT --to-source 203.0.113.10 --random-fully',
      `-A l3ctl-snat -o ${QG} -j SNAT --to-source 203.0.113.10 --random-fully`,
    ]);
    assert.ok(!f.calls.some((c) => c.argv.some((a) => a.startsWith('ip6tables'))), 'ip6tables never runs');
    assert.deepEqual(procs(f), [PROXY, RADVD]);
    const conf = f.files.files.get(`${DIR}/radvd.conf`)!;
    assert.match(conf, new RegExp(`^interface ${QR}\\n\\{\\n {4}AdvSendAdvert on;`, 'm'));
    assert.match(conf, /prefix 2001:db8:1::\/64\n {4}\{\n {8}AdvOnLink on;\n {8}AdvAutonomous on;/);
    // A router with IPv6 reads its IPv6 routes and its sysctls by name.
    assert.ok(reads(f).includes(`ip -n ${NS} -6 -j route show table main`), reads(f).join('\n'));
  });

  it('an IPv4-only router reads no IPv6 routes and touches no IPv6 setting', async (t) => {
    const f = fakeFor(t);
    await change(f, world({ gateway: true, port: true }));
    // Only the bridges l3ctl makes get IPv6 off (the host's side, whatever the routers carry).
    const inRouter = f.calls.filter((c) => !c.argv.join(' ').startsWith(`ip netns exec ${HOST} sysctl -q -w`));
    assert.ok(!inRouter.some((c) => c.argv.includes('-6') || c.argv.join(' ').includes('ipv6')), f.calls.map((c) => c.argv.join(' ')).join('\n'));
    assert.equal(f.sysctl(NS, 'net.ipv6.conf.all.forwarding'), '0');
    assert.equal(f.link(NS, QR)!.acceptRa, '1');
  });

  it("the bridges l3ctl makes have IPv6 off (they would take addresses from tenant advertisements); one turned on again is drift", async (t) => {
    const f = fakeFor(t);
    const s = dual();
    await at(f, s);
    const brq = `brq${PRIV.slice(0, 11)}`;
    assert.equal(f.link(HOST, brq)!.ipv6Off, '1');
    f.sh(['ip', 'netns', 'exec', HOST, 'sysctl', '-w', `net.ipv6.conf.${brq}.disable_ipv6=0`]);
    assert.deepEqual(kinds(await replan(f, s)), [`bridge-ipv6 ${brq}`]);
    await change(f, s);
    assert.equal(f.link(HOST, brq)!.ipv6Off, '1');
  });

  it('no IPv6 gateway IP upstream: no IPv6 default route, and the gateway learns one from advertisements (accept_ra 2)', async (t) => {
    const f = fakeFor(t);
    await change(f, dual({ extGateway: null }));
    assert.ok(!f.routes(NS).some((r) => r.startsWith('default via 2001')), f.routes(NS).join('\n'));
    assert.deepEqual([f.link(NS, QR)!.acceptRa, f.link(NS, QG)!.acceptRa], ['0', '2']);
  });

  it('an IPv6 extra route: via a host of the IPv6 subnet; removed again', async (t) => {
    const f = fakeFor(t);
    await at(f, dual());
    await change(f, dual({ routes: [['2001:db8:99::/64', '2001:db8:1::fe'], ['2001:db8:98::5/128', '2001:db8:1::fd']] }));
    assert.deepEqual(batches(f, NS), [['route replace 2001:db8:99::/64 via 2001:db8:1::fe', 'route replace 2001:db8:98::5/128 via 2001:db8:1::fd']]);
    assert.ok(f.routes(NS).includes(`2001:db8:99::/64 via 2001:db8:1::fe dev ${QR} metric 1024 pref medium`));
    f.clearCalls();
    await change(f, dual());
    // In the kernel's order.
    assert.deepEqual(batches(f, NS), [['route del 2001:db8:98::5/128 via 2001:db8:1::fd', 'route del 2001:db8:99::/64 via 2001:db8:1::fe']]);
  });
});

describe('IPv6 drift: found by check, repaired by sync', () => {
  const cases: { what: string; damage: (f: FakeSystem) => Promise<unknown>; findings: string[] }[] = [
    {
      // The IPv4 address stays (its connected route comes back with the link).
      what: 'a port set down loses its IPv6 address (keep_addr_on_down 0) and routes',
      damage: (f) => f.sh(['ip', '-n', NS, 'link', 'set', QR, 'down']),
      findings: [`device-down ${QR}`, `missing-address 2001:db8:1::1/64 on ${QR}`],
    },
    { what: 'an IPv6 address deleted by hand', damage: (f) => f.sh(['ip', '-n', NS, 'addr', 'del', '2001:db8:1::1/64', 'dev', QR]), findings: [`missing-address 2001:db8:1::1/64 on ${QR}`] },
    { what: 'an IPv6 address added by hand', damage: (f) => f.sh(['ip', '-n', NS, 'addr', 'add', '2001:db8:1::99/64', 'dev', QR]), findings: [`extra-address 2001:db8:1::99/64 on ${QR}`] },
    { what: 'the IPv6 default route deleted', damage: (f) => f.sh(['ip', '-n', NS, 'route', 'del', 'default', 'via', '2001:db8:ff::1']), findings: ['missing-route ::/0'] },
    { what: 'an IPv6 route added by hand through a port', damage: (f) => f.sh(['ip', '-n', NS, 'route', 'add', '2001:db8:77::/64', 'via', '2001:db8:1::7']), findings: ['extra-route 2001:db8:77::/64'] },
    { what: 'IPv6 forwarding off', damage: (f) => f.sh(['ip', 'netns', 'exec', NS, 'sysctl', '-w', 'net.ipv6.conf.all.forwarding=0']), findings: ['ipv6-sysctl net.ipv6.conf.all.forwarding'] },
    { what: 'accept_ra back to 1 on a port', damage: (f) => f.sh(['ip', 'netns', 'exec', NS, 'sysctl', '-w', `net.ipv6.conf.${QR}.accept_ra=1`]), findings: [`ipv6-sysctl net.ipv6.conf.${QR}.accept_ra`] },
    { what: 'radvd killed', damage: async (f) => f.sh(['kill', '-KILL', String(radvdPid(f))]), findings: ['daemon-dead radvd'] },
  ];
  for (const c of cases) {
    it(c.what, async (t) => {
      const f = fakeFor(t);
      const s = dual();
      await at(f, s);
      const before = f.nsText(NS).replace(/process radvd .*\n/, '');
      await c.damage(f);
      assert.deepEqual(kinds(await replan(f, s)), c.findings);
      await change(f, s);
      assert.equal(f.nsText(NS).replace(/process radvd .*\n/, ''), before);
      assert.deepEqual(procs(f), [PROXY, RADVD]);
    });
  }
});

describe('radvd follows the store', () => {
  it('another RA mode: the config is reloaded by SIGHUP, same process', async (t) => {
    const f = fakeFor(t);
    await at(f, dual());
    const pid = radvdPid(f);
    const plans = await change(f, dual({ ra: 'dhcpv6-stateless' }));
    assert.deepEqual(kinds(plans), ['daemon-config radvd']);
    assert.ok(cmds(f).includes(`kill -HUP ${pid}`), cmds(f).join('\n'));
    assert.equal(radvdPid(f), pid);
    assert.match(f.files.files.get(`${DIR}/radvd.conf`)!, /AdvOtherConfigFlag on;/);
  });

  it('no RA mode any more: radvd stopped, its files gone; the address stays, the proxy runs on', async (t) => {
    const f = fakeFor(t);
    await at(f, dual());
    const pid = radvdPid(f);
    const plans = await change(f, dual({ ra: null }));
    assert.deepEqual(kinds(plans), ['extra-daemon radvd']);
    assert.ok(cmds(f).includes(`kill -TERM ${pid}`));
    assert.deepEqual(procs(f), [PROXY]);
    assert.deepEqual([...f.files.files.keys()].filter((p) => p.includes('radvd')), []);
    assert.deepEqual(addrs6(f, QR), ['2001:db8:1::1/64']);
  });

  it('the internal IPv6 address removed: address and route gone, radvd stopped; the gateway keeps IPv6', async (t) => {
    const f = fakeFor(t);
    await at(f, dual());
    await change(f, dual({ qr6: null }));
    assert.deepEqual(addrs6(f, QR), []);
    assert.ok(!f.routes(NS).some((r) => r.startsWith('2001:db8:1::/64')));
    assert.deepEqual(procs(f), [PROXY]);
    assert.deepEqual(addrs6(f, QG), ['2001:db8:ff::10/64']);
  });

  it('the router deleted: radvd stopped before its namespace goes, no file left', async (t) => {
    const f = fakeFor(t);
    const s = dual();
    await at(f, s);
    const pid = radvdPid(f);
    s.routers = [];
    s.floatingips = [];
    await change(f, s);
    const order = cmds(f);
    assert.ok(order.indexOf(`kill -TERM ${pid}`) >= 0 && order.indexOf(`kill -TERM ${pid}`) < order.indexOf(`ip netns del ${NS}`), order.join('\n'));
    assert.equal(f.hasNs(NS), false);
    assert.deepEqual([...f.files.files.keys()], []);
    assert.deepEqual([...f.files.dirs].filter((d) => d.startsWith(DIR)), []);
  });
});
