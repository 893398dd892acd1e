// A hand-edited store is validated on load (issue 10, item 11): every bad
// value is exit 5 naming the field, for every command, completion's read
// included; none reaches a program's input.
import { after, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadState, loadStateSync } from '../../src/store/store.js';
import { storeValueProblem } from '../../src/store/values.js';
import { CONFIG_KEYS } from '../../src/model/config.js';
import { isUuid } from '../../src/model/names.js';
import { checkCidr, checkIp, checkMac, checkName } from '../../src/model/validate.js';
import { StoreError } from '../../src/model/errors.js';
import { STATE_VERSION, type State, type Subnet } from '../../src/model/types.js';
import { BIN, l3ctl, readStore, tempStore } from '../helpers/cli.js';
import { net, port } from '../helpers/one-subnet.js';

const EXT = 'e0000000-0000-4000-8000-0000000000e1';
const PRIV = 'e0000000-0000-4000-8000-0000000000e2';
const R1 = 'a0000000-0000-4000-8000-0000000000a1';

/** A valid store: an external and an internal network, a router with gateway, interface and route, a FIP. */
function good(): State {
  return {
    version: STATE_VERSION,
    config: { send_arp_for_ha: '0', host_namespace: 'l3ctl-t-values' },
    networks: [
      net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
      net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: 'br-priv' }),
    ],
    routers: [
      {
        id: R1,
        name: 'r1',
        admin_state_up: true,
        gateway: port({ id: 'b1000000-0000-4000-8000-0000000000b1', network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true }),
        interfaces: [port({ id: 'b2000000-0000-4000-8000-0000000000b2', network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:02', admin_state_up: true })],
        routes: [{ destination: '192.0.2.0/24', nexthop: '198.51.100.254' }],
        ha: false,
        ha_vr_id: null,
      },
    ],
    floatingips: [
      { id: 'c0000000-0000-4000-8000-0000000000c1', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R1 },
    ],
  };
}

type Edit = (s: State) => void;
interface Bad {
  what: string;
  edit: Edit;
  /** The message after `store PATH is corrupt: `. */
  why: string;
  /** Whole-state problems (ipaddr.js) and config values against their keys: completion's cheap read does not see them. */
  fullLoadOnly?: boolean;
}

const r1 = (s: State) => s.routers[0]!;
const sub = (s: State, i: number) => s.networks[i]!.subnets[0]!;
const BAD: Bad[] = [
  { what: 'a prefix length over 32', edit: (s) => (sub(s, 1).cidr = '10.0.0.0/33'), why: "networks[1].subnets[0].cidr: '10.0.0.0/33' is not a CIDR" },
  { what: 'a CIDR with host bits', edit: (s) => (sub(s, 1).cidr = '198.51.100.7/24'), why: "networks[1].subnets[0].cidr: '198.51.100.7/24' is not in canonical form: expected 198.51.100.0/24" },
  { what: 'a gateway IP with a leading zero', edit: (s) => (sub(s, 1).gateway_ip = '198.51.100.01'), why: "networks[1].subnets[0].gateway_ip: '198.51.100.01' is not an IPv4 address" },
  { what: 'an IPv6 prefix length over 128', edit: (s) => (sub(s, 1).cidr = '2001:db8:1::/129'), why: "networks[1].subnets[0].cidr: '2001:db8:1::/129' is not a CIDR" },
  { what: 'an IPv6 CIDR with host bits', edit: (s) => (sub(s, 1).cidr = '2001:db8:1::1/64'), why: "networks[1].subnets[0].cidr: '2001:db8:1::1/64' is not in canonical form: expected 2001:db8:1::/64" },
  { what: 'an IPv6 address not as ip prints it', edit: (s) => (sub(s, 1).gateway_ip = '2001:DB8:1:0::1'), why: "networks[1].subnets[0].gateway_ip: '2001:DB8:1:0::1' is not in canonical form: expected 2001:db8:1::1" },
  { what: 'an IPv6 address that is none', edit: (s) => (r1(s).routes[0]!.nexthop = '2001:db8::1::2'), why: "routers[0].routes[0].nexthop: '2001:db8::1::2' is not an IP address" },
  { what: 'an IPv6 mode Neutron does not have', edit: (s) => ((sub(s, 1) as unknown as Record<string, unknown>).ipv6_ra_mode = 'dhcpv6'), why: 'networks[1].subnets[0].ipv6_ra_mode: expected ("slaac" | "dhcpv6-stateless" | "dhcpv6-stateful" | null), got "dhcpv6"' },
  { what: 'an IPv6 floating IP', edit: (s) => (s.floatingips[0]!.floating_ip_address = '2001:db8::20'), why: "floatingips[0].floating_ip_address: '2001:db8::20' is not an IPv4 address" },
  { what: 'a bridge name with a newline', edit: (s) => (s.networks[1]!.bridge = 'br0\nlink del eth0'), why: "networks[1].bridge: 'br0\\nlink del eth0' is not an interface name: expected 1-15 characters of A-Z a-z 0-9 _ . -" },
  { what: 'a name with a space', edit: (s) => (s.networks[0]!.name = 'my ext'), why: "networks[0].name: 'my ext' is not a valid name: expected 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit" },
  { what: 'an id with a newline', edit: (s) => (r1(s).id = `${R1}\n`), why: `routers[0].id: '${R1}\\n' is not a UUID` },
  { what: 'an id in upper case', edit: (s) => (r1(s).id = R1.toUpperCase()), why: `routers[0].id: '${R1.toUpperCase()}' is not in canonical form: expected ${R1}` },
  { what: 'a port on a network id that is not a UUID', edit: (s) => (r1(s).interfaces[0]!.network_id = 'priv'), why: "routers[0].interfaces[0].network_id: 'priv' is not a UUID" },
  { what: 'a MAC in upper case', edit: (s) => (r1(s).interfaces[0]!.mac_address = 'FA:16:3E:00:00:02'), why: "routers[0].interfaces[0].mac_address: 'FA:16:3E:00:00:02' is not in canonical form: expected fa:16:3e:00:00:02" },
  { what: 'a multicast MAC', edit: (s) => (r1(s).gateway!.mac_address = '01:16:3e:00:00:01'), why: "routers[0].gateway.mac_address: '01:16:3e:00:00:01' is a multicast MAC address: expected a unicast one" },
  { what: 'a gateway address out of range', edit: (s) => (r1(s).gateway!.fixed_ips[0]!.ip_address = '203.0.113.300'), why: "routers[0].gateway.fixed_ips[0].ip_address: '203.0.113.300' is not an IPv4 address" },
  { what: 'a route with a line for ip -batch', edit: (s) => (r1(s).routes[0]!.destination = '192.0.2.0/24\nroute flush table main'), why: "routers[0].routes[0].destination: '192.0.2.0/24\\nroute flush table main' is not a CIDR" },
  { what: 'a nexthop that is not an address', edit: (s) => (r1(s).routes[0]!.nexthop = 'gw'), why: "routers[0].routes[0].nexthop: 'gw' is not an IPv4 address" },
  { what: 'an HA router without its VRRP id', edit: (s) => (r1(s).ha = true), why: 'routers[0].ha_vr_id: null, but an HA router needs its VRRP id' },
  { what: 'a VRRP id on a legacy router', edit: (s) => (r1(s).ha_vr_id = 3), why: 'routers[0].ha_vr_id: 3 is set on a router that is not HA: expected null' },
  { what: 'a VRRP id out of range', edit: (s) => Object.assign(r1(s), { ha: true, ha_vr_id: 255 }), why: 'routers[0].ha_vr_id: 255 is not a VRRP id: expected 1 to 254' },
  { what: 'a VRRP id that is not an integer', edit: (s) => Object.assign(r1(s), { ha: true, ha_vr_id: 1.5 }), why: 'routers[0].ha_vr_id: expected an integer, got 1.5' },
  { what: 'a fixed IP without a router', edit: (s) => (s.floatingips[0]!.router_id = null), why: 'floatingips[0]: fixed_ip_address and router_id are set together or not at all' },
  { what: 'a floating IP that is not an address', edit: (s) => (s.floatingips[0]!.floating_ip_address = '203.0.113.20/32'), why: "floatingips[0].floating_ip_address: '203.0.113.20/32' is not an IPv4 address" },
  { what: 'a config value invalid for its key', edit: (s) => (s.config.send_arp_for_ha = 'many'), why: "config.send_arp_for_ha: invalid value 'many' for send_arp_for_ha: expected an integer from 0 to 100", fullLoadOnly: true },
  { what: 'a config value not as config set stores it', edit: (s) => (s.config.use_namespaces = 'yes'), why: "config.use_namespaces: 'yes' is not in canonical form: expected 'true'", fullLoadOnly: true },
  { what: 'a config value with a newline', edit: (s) => (s.config.metadata_upstream = '/run/meta.sock\nx'), why: "config.metadata_upstream: '/run/meta.sock\\nx' has a control character" },
  { what: 'an unknown config key', edit: (s) => (s.config.use_ipv6 = 'true'), why: 'config.use_ipv6: unknown config key', fullLoadOnly: true },
  {
    what: 'a config value of the wrong type',
    edit: (s) => ((s.config as Record<string, unknown>).send_arp_for_ha = 3),
    why: 'config.send_arp_for_ha: expected string, got 3',
  },
  // Whole-state problems, from checkState (src/model/validate.ts).
  {
    what: 'a duplicate address',
    edit: (s) => (s.floatingips[0]!.floating_ip_address = '203.0.113.10'),
    why: "floating IP 203.0.113.10 is already used by the gateway of router 'r1': expected a free address",
    fullLoadOnly: true,
  },
  {
    what: 'a duplicate id',
    edit: (s) => (s.networks[1]!.id = EXT),
    why: `id ${EXT} of network 'priv' is already used by network 'ext': expected a new UUID`,
    fullLoadOnly: true,
  },
  {
    what: 'a port on an unknown network',
    edit: (s) => (r1(s).interfaces[0]!.network_id = 'e0000000-0000-4000-8000-0000000000ff'),
    why: "port b2000000-0000-4000-8000-0000000000b2 of router 'r1' refers to an unknown network e0000000-0000-4000-8000-0000000000ff",
    fullLoadOnly: true,
  },
];

const dirs: { cleanup(): void }[] = [];
after(() => dirs.forEach((d) => d.cleanup()));

function storeWith(edit?: Edit): { path: string; dir: string } {
  const t = tempStore();
  dirs.push(t);
  const s = good();
  edit?.(s);
  writeFileSync(t.path, JSON.stringify(s, null, 2) + '\n');
  return t;
}

test('the sample store loads (so each case below fails for its one edit)', async () => {
  const t = storeWith();
  assert.deepEqual(await loadState(t.path), good());
  assert.deepEqual(loadStateSync(t.path), good());
});

describe('a hand-edited store: loadState is exit 5 naming the field; completion reads nothing', () => {
  for (const c of BAD) {
    it(c.what, async () => {
      const t = storeWith(c.edit);
      await assert.rejects(loadState(t.path), (err: unknown) => {
        assert.ok(err instanceof StoreError, String(err));
        assert.equal(err.exitCode, 5);
        assert.equal(err.message, `store ${t.path} is corrupt: ${c.why}`);
        assert.doesNotMatch(err.message, /\n/, 'one line');
        return true;
      });
      if (c.fullLoadOnly) assert.notEqual(loadStateSync(t.path), null, 'the cheap read does not check this');
      else assert.equal(loadStateSync(t.path), null, 'completion offers nothing from it');
    });
  }
});

test('the value rules agree with the command-line checks of src/model/validate.ts', () => {
  const ok = (f: () => unknown) => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  const withSubnet = (o: Partial<Subnet>): State => {
    const n = good().networks[0]!;
    return { ...good(), networks: [{ ...n, subnets: [{ ...n.subnets[0]!, ...o }] }], routers: [], floatingips: [] };
  };
  const withNet = (cidr: string): State => withSubnet({ cidr, gateway_ip: null });
  const withName = (name: string): State => ({ ...good(), networks: [{ ...good().networks[0]!, name }], routers: [], floatingips: [] });
  const withIp = (ip: string): State => withSubnet({ gateway_ip: ip });
  const withMac = (mac: string): State => {
    const s = good();
    r1(s).gateway!.mac_address = mac;
    return s;
  };
  const cidrs = [
    '0.0.0.0/0', '10.0.0.0/8', '10.0.0.1/32', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0/8', '256.0.0.0/8', '010.0.0.0/8', '10.0.0.0/08', '10.1.0.0/8', '10.0.0.0', ' 10.0.0.0/8',
    '2001:db8:1::/64', '2001:db8:1::1/64', '2001:DB8:1::/64', '2001:db8:0:1::/64', '2001:db8::/32', '2001:db8:1:0:0:0:0:0/64', '2001:db8:1::/129', '2001:db8:1::/064', '2001:db8:1::', '::/0', '2001:db8:1:2:3:4:5:6/128', '2001:db8:1:2:3:4:5:6/127', '2001:db8:1:8000::/49', '2001:db8:1:ffff::/49', 'fe80::/10', '2001:0db8::/32', '1::2::3/64',
  ];
  for (const c of cidrs) {
    const model = ok(() => checkCidr('CIDR', c)) && checkCidr('CIDR', c) === c;
    assert.equal(storeValueProblem(withNet(c)) === null, model, `CIDR ${JSON.stringify(c)}`);
  }
  const names = ['a', 'A-b_c.d', '9', '-a', '.a', '', 'a b', 'ä', 'x'.repeat(64), 'x'.repeat(65), 'a\n'];
  for (const n of names) assert.equal(storeValueProblem(withName(n)) === null, ok(() => checkName('network', n)), `name ${JSON.stringify(n)}`);
  const ips = [
    '0.0.0.0', '255.255.255.255', '1.2.3.4', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1.2.3.4 ', '0x1.2.3.4', '1..3.4',
    '2001:db8:1::5', '2001:DB8:1::5', '2001:db8:1:0:0:0:0:5', '2001:db8::1:0:0:5', '2001:db8:0:0:1::5', '2001:db8:0:0:1:0:0:5', '2001:0:0:1:0:0:0:5', '::', '::1', '1::', '2001:db8:1::5%eth0', '2001:db8:1::5::', '2001:db8:1:2:3:4:5:6:7', '12345::1', '2001:db8::0001',
  ];
  for (const ip of ips) assert.equal(storeValueProblem(withIp(ip)) === null, ok(() => checkIp('IP', ip)) && checkIp('IP', ip) === ip, `IP ${JSON.stringify(ip)}`);
  const ids = ['e0000000-0000-4000-8000-0000000000e1', 'E0000000-0000-4000-8000-0000000000E1', 'e0000000-0000-4000-8000-0000000000e', 'e0000000000040008000-0000000000e1', 'g0000000-0000-4000-8000-0000000000e1', ''];
  for (const id of ids) assert.equal(storeValueProblem({ ...withName('n'), networks: [{ ...good().networks[0]!, id }] }) === null, isUuid(id), `id ${JSON.stringify(id)}`);
  const macs = ['fa:16:3e:00:00:01', 'FA:16:3E:00:00:01', '01:00:5e:00:00:01', 'fa:16:3e:00:00', 'fa-16-3e-00-00-01', 'fa:16:3e:00:00:0g'];
  for (const m of macs) assert.equal(storeValueProblem(withMac(m)) === null, ok(() => checkMac(m)) && checkMac(m) === m, `MAC ${JSON.stringify(m)}`);
});

describe('a hand-edited store through the CLI', () => {
  const bad = BAD.find((c) => c.what === 'a route with a line for ip -batch')!;
  const why = `routers[0].routes[0].destination: '192.0.2.0/24\\nroute flush table main' is not a CIDR`;

  /** PATH with only an `ip` (and `iptables-*`) that log their arguments. */
  function loggingTools(dir: string): { env: Record<string, string>; log: string } {
    const bin = join(dir, 'bin');
    const log = join(dir, 'programs.log');
    mkdirSync(bin);
    writeFileSync(log, '');
    for (const p of ['ip', 'iptables-save', 'iptables-restore', 'sysctl', 'conntrack']) {
      writeFileSync(join(bin, p), `#!/bin/sh\necho "${p} $*" >> ${log}\n`);
      chmodSync(join(bin, p), 0o755);
    }
    return { env: { PATH: `${bin}:/usr/bin:/bin` }, log };
  }

  for (const args of [['agent', 'sync'], ['agent', 'sync', '--dry-run'], ['agent', 'check'], ['router', 'show', 'r1'], ['route', 'add', 'r1', '192.0.2.128/25', '198.51.100.254']]) {
    it(`${args.join(' ')}: exit 5 naming the field, no program run, no stack trace, store untouched`, async () => {
      const t = storeWith(bad.edit);
      const before = readStore(t.path);
      const tools = loggingTools(t.dir);
      const r = await l3ctl(args, { store: t.path, env: tools.env });
      assert.equal(r.code, 5, r.stderr);
      assert.equal(r.stderr.split('\n')[0], `l3ctl: error: store ${t.path} is corrupt: ${why}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(r.stdout, '', 'no output, no dry-run plan');
      assert.equal(readFileSync(tools.log, 'utf8'), '', 'no program was run');
      assert.equal(readStore(t.path), before);
    });
  }

  it('tab completion offers nothing from it (and does from the good store)', () => {
    const complete = (path: string) =>
      spawnSync(process.execPath, [BIN, '__complete', 'router', 'show', ''], { encoding: 'utf8', env: { ...process.env, L3CTL_STORE: path } });
    const ok = complete(storeWith().path);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^r1\b/m);
    const r = complete(storeWith(bad.edit).path);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /r1/);
  });
});
