// Argument checks and whole-state checks (src/model/validate.ts): each bad
// value is a UsageError (exit 2) whose message names it and what was expected.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/model/errors.js';
import type { State } from '../../src/model/types.js';
import { checkCidr, checkIp, checkIpv4, checkMac, checkName, checkState, checkUuid, hostProblem, freshIn, nameIdClashes, stateProblems } from '../../src/model/validate.js';
import { net, port } from '../helpers/one-subnet.js';

/** checkState refuses S saying RE (exit 2), and collecting every problem finds that one and no other. */
function onlyProblem(s: State, re: RegExp): void {
  assert.throws(() => checkState(s), usage(re));
  const all = stateProblems(s);
  assert.equal(all.length, 1, all.map((p) => p.message).join('\n'));
  assert.match(all[0]!.message, re);
}

const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && e.exitCode === 2 && re.test(e.message);

describe('argument checks', () => {
  it('names: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit', () => {
    for (const ok of ['r1', 'R', '0', 'a.b-c_d', 'x'.repeat(64)]) assert.equal(checkName('router', ok), ok);
    const bad: [string, RegExp][] = [
      ['', /\(it is empty\)/],
      ['a b', /\(' ' is not allowed\)/],
      ['a;b', /\(';' is not allowed\)/],
      ['a$b', /\('\$' is not allowed\)/],
      ["a'b", /\(''' is not allowed\)/],
      ['a"b', /\('"' is not allowed\)/],
      ['a/b', /\('\/' is not allowed\)/],
      ['é', /must start with a letter or digit/],
      ['a\nb', /^invalid router name 'a\\nb' \('\\n' is not allowed\)/],
      ['-r', /must start with a letter or digit/],
      ['x'.repeat(65), /\(it is 65 characters long\)/],
    ];
    for (const [name, re] of bad) {
      assert.throws(() => checkName('router', name), usage(re), JSON.stringify(name));
      assert.throws(() => checkName('router', name), usage(/expected 1-64 characters of A-Z a-z 0-9 _ \. -/));
    }
  });

  it('CIDRs: canonical network form; malformed ones say why', () => {
    assert.equal(checkCidr('CIDR', '198.51.100.7/24'), '198.51.100.0/24');
    assert.equal(checkCidr('CIDR', '192.0.2.0/32'), '192.0.2.0/32');
    assert.throws(() => checkCidr('CIDR', '198.51.100.0/33'), usage(/^invalid CIDR '198\.51\.100\.0\/33' \(prefix length 33 is more than 32\): expected a CIDR such as 198\.51\.100\.0\/24 or 2001:db8:1::\/64/));
    for (const bad of ['banana', '198.51.100.0', '198.51.100.300/24', '198.51.100.0/', '/24', '198.51.100.0/-1', '198.51.100.0/24 ']) {
      assert.throws(() => checkCidr('CIDR', bad), usage(/^invalid CIDR '.*': expected a CIDR such as/), bad);
    }
  });

  it('addresses', () => {
    assert.equal(checkIp('IP', '198.51.100.5'), '198.51.100.5');
    for (const bad of ['198.51.100.300', 'banana', '198.51.100', '198.51.100.5/24', '', '1.2.3.4.5']) {
      assert.throws(() => checkIp('fixed IP', bad), usage(/^invalid fixed IP '.*': expected an IPv4 address such as 198\.51\.100\.5 or an IPv6 address/), bad);
    }
  });

  it('MACs: six hex pairs, unicast; lower-cased', () => {
    assert.equal(checkMac('FA:16:3E:AA:BB:CC'), 'fa:16:3e:aa:bb:cc');
    assert.throws(() => checkMac('01:16:3e:00:00:01'), usage(/\(a multicast address/));
    for (const bad of ['zz:16:3e:00:00:01', 'fa:16:3e:00:01', 'fa-16-3e-00-00-01', 'fa:16:3e:00:00:01:02']) {
      assert.throws(() => checkMac(bad), usage(/^invalid MAC address '.*': expected a unicast address of six hex pairs/), bad);
    }
  });

  it('UUIDs', () => {
    assert.equal(checkUuid('router id', '7B0E4C1A-2D3F-4A5B-8C6D-7E8F9A0B1C2D'), '7b0e4c1a-2d3f-4a5b-8c6d-7e8f9a0b1c2d');
    for (const bad of ['1234', '7b0e4c1a2d3f4a5b8c6d7e8f9a0b1c2d', '7b0e4c1a-2d3f-4a5b-8c6d-7e8f9a0b1c2g']) {
      assert.throws(() => checkUuid('router id', bad), usage(/^invalid router id '.*': expected a UUID/), bad);
    }
  });

  it('hostProblem: outside, network address, broadcast address, with the usable range', () => {
    assert.equal(hostProblem('192.0.2.0/25', '192.0.2.5'), null);
    assert.equal(hostProblem('192.0.2.0/25', '192.0.2.200'), 'is outside 192.0.2.0/25: expected a host address from 192.0.2.1 to 192.0.2.126');
    assert.equal(hostProblem('192.0.2.0/25', '192.0.2.0'), 'is the network address of 192.0.2.0/25: expected a host address from 192.0.2.1 to 192.0.2.126');
    assert.equal(hostProblem('192.0.2.0/25', '192.0.2.127'), 'is the broadcast address of 192.0.2.0/25: expected a host address from 192.0.2.1 to 192.0.2.126');
    assert.equal(hostProblem('192.0.2.0/31', '192.0.2.0'), null, '/31: both addresses are hosts');
  });
});

const EXT = 'a0000001-0000-4000-8000-000000000001';
const PRIV = 'a0000002-0000-4000-8000-000000000002';
const N3 = 'a0000003-0000-4000-8000-000000000003';
const R1 = 'a0000004-0000-4000-8000-000000000004';
const R2 = 'a0000005-0000-4000-8000-000000000005';

function good(): State {
  return {
    version: 3,
    config: {},
    networks: [
      net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
      net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
      net({ id: N3, name: 'n3', cidr: '192.0.2.0/25', gateway_ip: '192.0.2.1', external: false, bridge: null }),
    ],
    routers: [
      {
        id: R1, name: 'r1', admin_state_up: true,
        gateway: port({ id: 'a0000010-0000-4000-8000-000000000010', network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:10', admin_state_up: true }),
        interfaces: [port({ id: 'a0000011-0000-4000-8000-000000000011', network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:11', admin_state_up: true })],
        routes: [{ destination: '192.0.2.128/25', nexthop: '198.51.100.254' }],
        ha: false,
        ha_vr_id: null,
      },
      { id: R2, name: 'r2', admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null },
    ],
    floatingips: [{ id: 'a0000020-0000-4000-8000-000000000020', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R1 }],
  };
}

const r1 = (s: State) => s.routers[0]!;
const pt = (network_id: string, ip: string, n = 30) => port({ id: `a00000${n}-0000-4000-8000-0000000000${n}`, network_id, ip_address: ip, mac_address: `fa:16:3e:00:00:${n}`, admin_state_up: true });
const sub = (s: State, i: number) => s.networks[i]!.subnets[0]!;

describe('checkState', () => {
  it('accepts a good state, including two routers sharing an internal network at different addresses', () => {
    checkState(good());
    const s = good();
    s.routers[1]!.interfaces.push(pt(PRIV, '198.51.100.2'));
    checkState(s);
  });

  const cases: [string, (s: State) => void, RegExp][] = [
    ['duplicate network name', (s) => s.networks.push(net({ id: 'a00000aa-0000-4000-8000-0000000000aa', name: 'n3', cidr: '192.0.2.128/25', gateway_ip: null, external: false, bridge: null })), /^a network named 'n3' already exists: expected a new name/],
    ['duplicate router name', (s) => (s.routers[1]!.name = 'r1'), /^a router named 'r1' already exists/],
    ['duplicate id', (s) => (s.routers[1]!.id = N3), /^id a0000003-0000-4000-8000-000000000003 of router 'r2' is already used by network 'n3': expected a new UUID/],
    ['gateway IP outside its subnet', (s) => (sub(s, 2).gateway_ip = '192.0.2.200'), /^gateway IP 192\.0\.2\.200 of network 'n3' is outside 192\.0\.2\.0\/25: expected a host address from 192\.0\.2\.1 to 192\.0\.2\.126/],
    ['overlapping subnets of one router', (s) => {
      sub(s, 2).cidr = '198.51.100.128/25';
      sub(s, 2).gateway_ip = '198.51.100.129';
      r1(s).routes = [];
      r1(s).interfaces.push(pt(N3, '198.51.100.129'));
    }, /^198\.51\.100\.128\/25 of network 'n3' overlaps 198\.51\.100\.0\/24 of network 'priv' on router 'r1': expected subnets that overlap no other subnet of the router/],
    ['an internal subnet overlapping the router\'s external one', (s) => {
      sub(s, 2).cidr = '203.0.113.0/25';
      sub(s, 2).gateway_ip = '203.0.113.2';
      r1(s).interfaces.push(pt(N3, '203.0.113.3'));
    }, /^203\.0\.113\.0\/24 of network 'ext' overlaps 203\.0\.113\.0\/25 of network 'n3' on router 'r1'/],
    ['a port id whose 11-character prefix another port has', (s) => s.routers[1]!.interfaces.push({ ...pt(N3, '192.0.2.5'), id: 'a0000011-00ff-4000-8000-0000000000ff' }), /^port id prefix a0000011-00 of router 'r2' port a0000011 is already the kernel name of router 'r1' port a0000011: expected an id whose first 11 characters are new/],
    ['a network id whose bridge name another network has', (s) => (s.networks[2]!.id = 'a0000002-00ff-4000-8000-0000000000ff'), /^bridge brqa0000002-00 of network 'n3' is already the kernel name of network 'priv'/],
    ['two networks on one operator bridge', (s) => { s.networks[1]!.bridge = 'br-x'; s.networks[2]!.bridge = 'br-x'; }, /^bridge br-x of network 'n3' is already the kernel name of network 'priv'/],
    ['a /0 extra route', (s) => r1(s).routes.push({ destination: '0.0.0.0/0', nexthop: '198.51.100.254' }), /^route 0\.0\.0\.0\/0 via 198\.51\.100\.254 of router 'r1': a \/0 destination is the default route, which the gateway owns/],
    ['an extra route onto a subnet of the router', (s) => r1(s).routes.push({ destination: '198.51.100.0/25', nexthop: '198.51.100.254' }), /^route 198\.51\.100\.0\/25 via 198\.51\.100\.254 of router 'r1': 198\.51\.100\.0\/25 overlaps 198\.51\.100\.0\/24 of network 'priv', a subnet of the router/],
    ['a nexthop that is the subnet\'s network address', (s) => r1(s).routes.push({ destination: '10.0.0.0/8', nexthop: '198.51.100.0' }), /^nexthop 198\.51\.100\.0 of route 10\.0\.0\.0\/8 is the network address of 198\.51\.100\.0\/24/],
    ['a nexthop that is the broadcast address', (s) => r1(s).routes.push({ destination: '10.0.0.0/8', nexthop: '198.51.100.255' }), /is the broadcast address of 198\.51\.100\.0\/24/],
    ['a nexthop that is the router\'s own address', (s) => r1(s).routes.push({ destination: '10.0.0.0/8', nexthop: '198.51.100.1' }), /^nexthop 198\.51\.100\.1 of route 10\.0\.0\.0\/8 is the router's own address on network 'priv'/],
    ['a nexthop only on an admin-down port', (s) => { r1(s).interfaces.push({ ...pt(N3, '192.0.2.1'), admin_state_up: false }); r1(s).routes.push({ destination: '10.0.0.0/8', nexthop: '192.0.2.9' }); }, /^nexthop 192\.0\.2\.9 of route 10\.0\.0\.0\/8 is on none of the subnets of router 'r1'/],
    ['external network as interface', (s) => r1(s).interfaces.push(pt(EXT, '203.0.113.50')), /^network 'ext' is external: expected an internal network/],
    ['internal network as gateway', (s) => (r1(s).gateway!.network_id = PRIV), /^network 'priv' is not external: expected an external network/],
    ['interface IP outside its subnet', (s) => r1(s).interfaces.push(pt(N3, '198.51.100.9')), /^interface IP 198\.51\.100\.9 on network 'n3' is outside 192\.0\.2\.0\/25/],
    ['interface IP = network address', (s) => r1(s).interfaces.push(pt(N3, '192.0.2.0')), /is the network address of 192\.0\.2\.0\/25/],
    ['interface IP = broadcast address', (s) => r1(s).interfaces.push(pt(N3, '192.0.2.127')), /is the broadcast address of 192\.0\.2\.0\/25/],
    ['second port on one subnet', (s) => r1(s).interfaces.push(pt(PRIV, '198.51.100.9')), /^router 'r1' already has a port on subnet 198\.51\.100\.0\/24 \(network 'priv'\): expected one port per subnet/],
    ['two routers on one address', (s) => s.routers[1]!.interfaces.push(pt(PRIV, '198.51.100.1')), /^interface IP 198\.51\.100\.1 is already used by router 'r1' port a0000011: expected a free address/],
    ['interface on another network\'s gateway IP', (s) => s.routers[1]!.interfaces.push(pt(N3, '192.0.2.1'), pt(PRIV, '198.51.100.1', 31)), /already used by router 'r1'/],
    ['duplicate MAC', (s) => s.routers[1]!.interfaces.push({ ...pt(N3, '192.0.2.5'), mac_address: 'fa:16:3e:00:00:11' }), /^MAC address fa:16:3e:00:00:11 for router 'r2' port a0000030 is already used by router 'r1' port a0000011/],
    ['gateway IP outside the external subnet', (s) => (r1(s).gateway!.fixed_ips[0]!.ip_address = '198.51.100.10'), /^gateway address 198\.51\.100\.10 on external network 'ext' is outside 203\.0\.113\.0\/24/],
    ['gateway IP = upstream gateway', (s) => (r1(s).gateway!.fixed_ips[0]!.ip_address = '203.0.113.1'), /^gateway address 203\.0\.113\.1 is already used by the gateway IP of network 'ext'/],
    ['FIP outside the external subnet', (s) => (s.floatingips[0]!.floating_ip_address = '203.0.114.20'), /^floating IP 203\.0\.114\.20 on external network 'ext' is outside 203\.0\.113\.0\/24/],
    ['FIP = router gateway address', (s) => (s.floatingips[0]!.floating_ip_address = '203.0.113.10'), /^floating IP 203\.0\.113\.10 is already used by the gateway of router 'r1'/],
    ['FIP = upstream gateway', (s) => (s.floatingips[0]!.floating_ip_address = '203.0.113.1'), /^floating IP 203\.0\.113\.1 is already used by the gateway IP of network 'ext'/],
    ['two FIPs, one address', (s) => s.floatingips.push({ ...s.floatingips[0]!, id: 'a0000021-0000-4000-8000-000000000021', fixed_ip_address: '198.51.100.6' }), /^floating IP 203\.0\.113\.20 is already used by floating IP 203\.0\.113\.20: expected a free address/],
    ['one fixed IP, two FIPs', (s) => s.floatingips.push({ ...s.floatingips[0]!, id: 'a0000021-0000-4000-8000-000000000021', floating_ip_address: '203.0.113.21' }), /^fixed IP 198\.51\.100\.5 already has floating IP 203\.0\.113\.20: expected one floating IP per fixed IP/],
    ['fixed IP on none of the router subnets', (s) => (s.floatingips[0]!.fixed_ip_address = '192.0.2.9'), /^fixed IP 192\.0\.2\.9 is on none of the internal subnets of router 'r1': expected a host address in 198\.51\.100\.0\/24/],
    ["fixed IP = the router's own address", (s) => (s.floatingips[0]!.fixed_ip_address = '198.51.100.1'), /^fixed IP 198\.51\.100\.1 is the router's own interface address/],
    ['FIP on a router without a gateway', (s) => (s.floatingips[0]!.router_id = R2), /^router 'r2' has no gateway on network 'ext'/],
    ['route nexthop on none of the subnets', (s) => r1(s).routes.push({ destination: '10.0.0.0/8', nexthop: '192.0.2.9' }), /^nexthop 192\.0\.2\.9 of route 10\.0\.0\.0\/8 is on none of the subnets of router 'r1': expected an address in 198\.51\.100\.0\/24 or 203\.0\.113\.0\/24/],
    ['route on a router without ports', (s) => s.routers[1]!.routes.push({ destination: '10.0.0.0/8', nexthop: '192.0.2.9' }), /of router 'r2' \(it has no ports\)/],
  ];
  for (const [what, mutate, re] of cases) {
    it(what, () => {
      const s = good();
      mutate(s);
      onlyProblem(s, re);
    });
  }

  it('stateProblems: every problem, each with its path in the state; one mistake is one problem', () => {
    const s = good();
    s.routers[1]!.name = 'r1';
    r1(s).gateway!.fixed_ips[0]!.ip_address = '198.51.100.10';
    r1(s).interfaces[0]!.network_id = EXT; // a wrong network: its routes and FIPs are not judged again
    s.routers[1]!.routes.push({ destination: '0.0.0.0/0', nexthop: '192.0.2.9' });
    assert.deepEqual(stateProblems(s).map((p) => [p.at.join('.'), p.message.slice(0, 40)]), [
      ['routers.1.name', "a router named 'r1' already exists: expe"],
      ['routers.0.interfaces.0.network_id', "network 'ext' is external: expected an i"],
      ['routers.0.gateway.fixed_ips.0.ip_address', 'gateway address 198.51.100.10 on externa'],
      ['routers.1.routes.0.destination', "route 0.0.0.0/0 via 192.0.2.9 of router "],
    ]);
    assert.deepEqual(stateProblems(good()), []);
  });

  it('tenants reuse address space: two routers, each with its own 198.51.100.0/24 and a VM at .5 behind a FIP', () => {
    const s = good();
    const other = 'a0000040-0000-4000-8000-000000000040';
    s.networks.push(net({ id: other, name: 'priv2', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }));
    s.routers[1]!.gateway = port({ id: 'a0000041-0000-4000-8000-000000000041', network_id: EXT, ip_address: '203.0.113.11', mac_address: 'fa:16:3e:00:00:41', admin_state_up: true });
    s.routers[1]!.interfaces.push(pt(other, '198.51.100.1', 42));
    s.floatingips.push({ id: 'a0000043-0000-4000-8000-000000000043', floating_ip_address: '203.0.113.21', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R2 });
    checkState(s);
  });

  it('a route via the gateway network is fine', () => {
    const s = good();
    r1(s).routes.push({ destination: '10.0.0.0/8', nexthop: '203.0.113.254' });
    checkState(s);
  });
});

describe('IPv6 (issue 19)', () => {
  const P6 = 'a0000061-0000-4000-8000-000000000061';
  const E6 = 'a0000062-0000-4000-8000-000000000062';
  /** good() with 2001:db8:1::/64 (SLAAC) on priv and 2001:db8:ff::/64 on ext, r1's ports on both. */
  function dual(): State {
    const s = good();
    s.networks[1]!.subnets.push({ id: P6, cidr: '2001:db8:1::/64', gateway_ip: '2001:db8:1::1', ip_version: 6, ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' });
    s.networks[0]!.subnets.push({ id: E6, cidr: '2001:db8:ff::/64', gateway_ip: '2001:db8:ff::1', ip_version: 6, ipv6_ra_mode: null, ipv6_address_mode: null });
    r1(s).interfaces[0]!.fixed_ips.push({ subnet_id: P6, ip_address: '2001:db8:1::1' });
    r1(s).gateway!.fixed_ips.push({ subnet_id: E6, ip_address: '2001:db8:ff::10' });
    return s;
  }
  const v6 = (s: State) => s.networks[1]!.subnets[1]!;

  it('argument checks take either version, in the form ip prints', () => {
    assert.equal(checkCidr('CIDR', '2001:DB8:1::7/64'), '2001:db8:1::/64');
    assert.equal(checkIp('IP', '2001:0db8:0001:0000:0000:0000:0000:0005'), '2001:db8:1::5');
    assert.throws(() => checkCidr('CIDR', '2001:db8:1::/129'), usage(/\(prefix length 129 is more than 128\)/));
    assert.throws(() => checkIp('IP', 'fe80::1%eth0'), usage(/^invalid IP 'fe80::1%eth0'/));
    assert.throws(() => checkIpv4('floating IP', '2001:db8::20'), usage(/^floating IP 2001:db8::20 is IPv6: floating IPs are IPv4 only \(IPv6 addresses are routed without NAT\)$/));
    assert.equal(hostProblem('2001:db8:1::/64', '2001:db8:1::'), 'is the network address of 2001:db8:1::/64: expected a host address from 2001:db8:1::1 to 2001:db8:1:0:ffff:ffff:ffff:ffff');
    assert.equal(hostProblem('2001:db8:1::/64', '2001:db8:1:0:ffff:ffff:ffff:ffff'), null, 'no broadcast address: the last one is a host');
    assert.match(hostProblem('2001:db8:1::/64', '198.51.100.5')!, /^is outside 2001:db8:1::\/64/);
  });

  it('accepts a dual-stack router', () => checkState(dual()));

  const cases: [string, (s: State) => void, RegExp][] = [
    ['a link-local subnet', (s) => Object.assign(v6(s), { cidr: 'fe80::/64', gateway_ip: null }), /^subnet of network 'priv': fe80::\/64 is in the link-local fe80::\/10 range: expected a global or unique-local prefix/],
    ['a multicast subnet', (s) => Object.assign(v6(s), { cidr: 'ff05::/64', gateway_ip: null }), /is in the multicast ff00::\/8 range/],
    ['an RA mode on a /56 for SLAAC', (s) => Object.assign(v6(s), { cidr: '2001:db8:100::/56', gateway_ip: '2001:db8:100::1' }), /^subnet of network 'priv': ipv6_ra_mode slaac needs a \/64 prefix \(hosts form their address from a 64-bit interface identifier\), not 2001:db8:100::\/56/],
    ['RA and address modes that differ', (s) => (v6(s).ipv6_address_mode = 'dhcpv6-stateful'), /ipv6_ra_mode slaac and ipv6_address_mode dhcpv6-stateful of 2001:db8:1::\/64 differ: expected the same mode when both are set/],
    ['an IPv6 mode on an IPv4 subnet', (s) => (sub(s, 2).ipv6_ra_mode = 'slaac'), /^subnet of network 'n3': ipv6_ra_mode slaac on IPv4 subnet 192\.0\.2\.0\/25: expected the IPv6 modes on IPv6 subnets only/],
    ['ip_version not the CIDR\'s', (s) => (v6(s).ip_version = 4), /ip_version 4 does not match 2001:db8:1::\/64, an IPv6 CIDR/],
    ['two IPv6 subnets on one network', (s) => s.networks[1]!.subnets.push({ ...v6(s), id: 'a0000063-0000-4000-8000-000000000063', cidr: '2001:db8:2::/64', gateway_ip: null }), /^network 'priv' has two IPv6 subnets, 2001:db8:1::\/64 and 2001:db8:2::\/64: expected at most one IPv4 and one IPv6 subnet/],
    ['a gateway IP outside its IPv6 subnet', (s) => (v6(s).gateway_ip = '2001:db8:2::1'), /^gateway IP 2001:db8:2::1 of network 'priv' is outside 2001:db8:1::\/64/],
    ['overlapping IPv6 subnets on one router', (s) => {
      s.networks[2]!.subnets.push({ ...v6(s), id: 'a0000063-0000-4000-8000-000000000063', cidr: '2001:db8:1::/80', gateway_ip: null, ipv6_ra_mode: null, ipv6_address_mode: null });
      r1(s).routes = [];
      r1(s).interfaces.push(pt(N3, '192.0.2.1'));
      r1(s).interfaces[1]!.fixed_ips.push({ subnet_id: 'a0000063-0000-4000-8000-000000000063', ip_address: '2001:db8:1::9' });
    }, /^2001:db8:1::\/80 of network 'n3' overlaps 2001:db8:1::\/64 of network 'priv' on router 'r1'/],
    ['two addresses of a port on one subnet', (s) => r1(s).interfaces[0]!.fixed_ips.push({ subnet_id: P6, ip_address: '2001:db8:1::2' }), /^interface of router 'r1' has two addresses on subnet 2001:db8:1::\/64: expected one address per subnet/],
    ['a fixed IP on a subnet of another network', (s) => (r1(s).interfaces[0]!.fixed_ips[1]!.subnet_id = E6), /^interface 2001:db8:1::1 of router 'r1' refers to subnet a0000062-0000-4000-8000-000000000062, which is a subnet of network 'ext': expected a subnet of network 'priv'/],
    ['a port without an address', (s) => (r1(s).interfaces[0]!.fixed_ips = []), /^interface of router 'r1' has no address: expected a fixed IP on a subnet of network 'priv'/],
    ['an IPv6 floating IP', (s) => (s.floatingips[0]!.floating_ip_address = '2001:db8:ff::20'), /^floating IP 2001:db8:ff::20 is IPv6: floating IPs are IPv4 only/],
    ['an IPv6 fixed IP behind a floating IP', (s) => (s.floatingips[0]!.fixed_ip_address = '2001:db8:1::5'), /^fixed IP 2001:db8:1::5 is IPv6: floating IPs are IPv4 only/],
    ['an IPv6 default route as an extra route', (s) => r1(s).routes.push({ destination: '::/0', nexthop: '2001:db8:1::fe' }), /^route ::\/0 via 2001:db8:1::fe of router 'r1': a \/0 destination is the default route, which the gateway owns/],
    ['an IPv6 route via an IPv4 nexthop', (s) => r1(s).routes.push({ destination: '2001:db8:99::/64', nexthop: '198.51.100.254' }), /^nexthop 198\.51\.100\.254 of route 2001:db8:99::\/64 is IPv4, the destination IPv6: expected a nexthop of the destination's IP version/],
    ['an IPv6 route onto a subnet of the router', (s) => r1(s).routes.push({ destination: '2001:db8:1::/96', nexthop: '2001:db8:1::fe' }), /overlaps 2001:db8:1::\/64 of network 'priv', a subnet of the router/],
    ['an IPv6 nexthop on none of the subnets', (s) => r1(s).routes.push({ destination: '2001:db8:99::/64', nexthop: '2001:db8:2::fe' }), /^nexthop 2001:db8:2::fe of route 2001:db8:99::\/64 is on none of the subnets of router 'r1': expected an address in 2001:db8:1::\/64 or 2001:db8:ff::\/64/],
    ["an IPv6 nexthop that is the router's own address", (s) => r1(s).routes.push({ destination: '2001:db8:99::/64', nexthop: '2001:db8:1::1' }), /is the router's own address on network 'priv'/],
  ];
  for (const [what, mutate, re] of cases) {
    it(what, () => {
      const s = dual();
      mutate(s);
      onlyProblem(s, re);
    });
  }

  it('IPv6 routes via a host of an IPv6 subnet are fine; an IPv6 nexthop on a router without IPv6 says so', () => {
    const s = dual();
    r1(s).routes.push({ destination: '2001:db8:99::/64', nexthop: '2001:db8:1::fe' }, { destination: '2001:db8:98::5/128', nexthop: '2001:db8:ff::1' });
    checkState(s);
    const v4only = good();
    r1(v4only).routes.push({ destination: '2001:db8:99::/64', nexthop: '2001:db8:1::fe' });
    assert.throws(() => checkState(v4only), usage(/^nexthop 2001:db8:1::fe of route 2001:db8:99::\/64 is on none of the subnets of router 'r1' \(it has no IPv6 subnet\)/));
  });
});

describe('an address claimed twice: the object new or changed against the stored state is named as the one at fault', () => {
  it('a new port of r1 on an address r2 already has (r1 comes first in the state)', () => {
    const prev = good();
    prev.routers[1]!.interfaces.push(pt(PRIV, '198.51.100.2'));
    const next = structuredClone(prev);
    next.routers[0]!.interfaces.push(pt(N3, '192.0.2.1', 31));
    next.routers[1]!.interfaces.push(pt(N3, '192.0.2.9', 32));
    const clash = structuredClone(prev);
    clash.routers[1]!.interfaces.push(pt(N3, '192.0.2.9', 32));
    const moved = structuredClone(clash);
    moved.routers[0]!.interfaces.push(pt(N3, '192.0.2.9', 31));
    // Without the stored state, the later claim is named; with it, the new port of r1.
    assert.throws(() => checkState(moved), /Error: interface IP 192\.0\.2\.9 is already used by router 'r1' port a0000031/);
    assert.throws(() => checkState(moved, freshIn(clash, moved)), /Error: interface IP 192\.0\.2\.9 is already used by router 'r2' port a0000032: expected a free address$/);
    assert.doesNotThrow(() => checkState(next, freshIn(prev, next)));
  });
});

describe('names and ids kept apart (a ROUTER or NETWORK argument takes either)', () => {
  const A = 'aaaa2222-0000-4000-8000-000000000002';
  const B = 'bbbb3333-0000-4000-8000-000000000003';
  const router = (id: string, name: string) => ({ id, name, admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null });
  const state = (...routers: ReturnType<typeof router>[]): State => ({ version: 3, config: {}, networks: [], routers, floatingips: [] });

  it('a new name that is another router id, or a new id that is another router name, is a problem at that field', () => {
    const prev = state(router(A, 'rb'));
    assert.deepEqual(nameIdClashes(prev, state(router(A, 'rb'), router(B, A.toUpperCase()))), [
      { message: `router name '${A.toUpperCase()}' is the id of router 'rb': expected a name that is no router's id`, at: ['routers', 1, 'name'] },
    ]);
    const prev2 = state(router(A, B));
    assert.deepEqual(nameIdClashes(prev2, state(router(A, B), router(B, 'rq'))), [
      { message: `id ${B} of router 'rq' is the name of router '${B}': expected an id that is no router's name`, at: ['routers', 1, 'id'] },
    ]);
  });

  it('a pair already in the store is not a problem of a later change (the store still loads and changes)', () => {
    const clashing = state(router(A, 'rb'), router(B, A));
    assert.deepEqual(nameIdClashes(clashing, structuredClone(clashing)), []);
    assert.doesNotThrow(() => checkState(clashing));
    // A router whose name is its own id is no clash: the argument means one router either way.
    assert.deepEqual(nameIdClashes(state(), state(router(A, A))), []);
  });
});
