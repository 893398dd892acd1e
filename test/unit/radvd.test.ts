import { test } from 'node:test';
import assert from 'node:assert/strict';
import { radvdConfig, radvdSpec, type RaPort } from '../../src/linux/radvd.js';

test('radvd config: one block per port with RA subnets, flags per mode, Neutron\'s intervals', () => {
  const ports: RaPort[] = [
    { device: 'qr-bbbbbbbbbbb', subnets: [{ cidr: '2001:db8:2::/64', raMode: 'dhcpv6-stateful' }], mtu: 1450 },
    {
      device: 'qr-aaaaaaaaaaa',
      subnets: [
        { cidr: '2001:db8:1::/64', raMode: 'slaac', dnsNameservers: ['2001:db8::53'] },
        { cidr: '198.51.100.0/24', raMode: null },
      ],
    },
    { device: 'qr-ccccccccccc', subnets: [{ cidr: '2001:db8:3::/64', raMode: 'dhcpv6-stateless' }], mtu: 1000 },
    { device: 'qr-ddddddddddd', subnets: [{ cidr: '2001:db8:4::/64', raMode: null }] },
  ];
  assert.equal(
    radvdConfig(ports),
    `# Router advertisements, written by l3ctl: edits are overwritten.
interface qr-aaaaaaaaaaa
{
    AdvSendAdvert on;
    MinRtrAdvInterval 30;
    MaxRtrAdvInterval 100;
    RDNSS 2001:db8::53 {};
    prefix 2001:db8:1::/64
    {
        AdvOnLink on;
        AdvAutonomous on;
    };
};

interface qr-bbbbbbbbbbb
{
    AdvSendAdvert on;
    MinRtrAdvInterval 30;
    MaxRtrAdvInterval 100;
    AdvLinkMTU 1450;
    AdvManagedFlag on;
    prefix 2001:db8:2::/64
    {
        AdvOnLink on;
        AdvAutonomous off;
    };
};

interface qr-ccccccccccc
{
    AdvSendAdvert on;
    MinRtrAdvInterval 30;
    MaxRtrAdvInterval 100;
    AdvOtherConfigFlag on;
    prefix 2001:db8:3::/64
    {
        AdvOnLink on;
        AdvAutonomous on;
    };
};
`,
  );
});

test('radvd config: the same router in another order gives the same text (no reload)', () => {
  const a = { device: 'qr-a', subnets: [{ cidr: '2001:db8:1::/64', raMode: 'slaac' as const }, { cidr: '2001:db8:5::/64', raMode: 'dhcpv6-stateless' as const }] };
  const b = { device: 'qr-b', subnets: [{ cidr: '2001:db8:2::/64', raMode: 'slaac' as const }] };
  const once = radvdConfig([a, b]);
  assert.equal(radvdConfig([b, { ...a, subnets: [...a.subnets].reverse() }]), once);
  // Both modes on one port: both flags' logic per port, one prefix each.
  assert.match(once!, /interface qr-a\n\{\n(?:.*\n)*?    AdvOtherConfigFlag on;\n(?:.*\n)*?    prefix 2001:db8:1::\/64\n(?:.*\n)*?    prefix 2001:db8:5::\/64/);
});

test('radvd config: nothing to advertise is null (no radvd); bad input is refused', () => {
  assert.equal(radvdConfig([]), null);
  assert.equal(radvdConfig([{ device: 'qr-a', subnets: [{ cidr: '2001:db8:1::/64', raMode: null }] }]), null);
  assert.equal(radvdSpec('qrouter-x', '/d', []), null);
  const one = (cidr: string, raMode: 'slaac' | 'dhcpv6-stateful' = 'slaac') => radvdConfig([{ device: 'qr-a', subnets: [{ cidr, raMode }] }]);
  assert.throws(() => one('2001:db8:1::/56'), /slaac needs a \/64 prefix/);
  assert.ok(one('2001:db8:1::/56', 'dhcpv6-stateful'));
  assert.throws(() => one('2001:DB8:1::/64'), /not a canonical IPv6 network CIDR: 2001:DB8:1::\/64 \(expected 2001:db8:1::\/64\)/);
  assert.throws(() => one('2001:db8:1::1/64'), /not a canonical/);
  assert.throws(() => one('198.51.100.0/24'), /not an IPv6 CIDR/);
  assert.throws(() => radvdConfig([{ device: 'qr a', subnets: [{ cidr: '2001:db8:1::/64', raMode: 'slaac' }] }]), /bad device name/);
  assert.throws(() => radvdConfig([], { minInterval: 80, maxInterval: 100 }), /MinRtrAdvInterval 80/);
  assert.match(radvdConfig([{ device: 'qr-a', subnets: [{ cidr: '2001:db8:1::/64', raMode: 'slaac' }] }], { minInterval: 3, maxInterval: 10 })!, /MinRtrAdvInterval 3;\n    MaxRtrAdvInterval 10;/);
});

test('radvd spec: radvd in the namespace with its own log file', () => {
  const s = radvdSpec('qrouter-x', '/var/lib/l3ctl/routers/x', [{ device: 'qr-a', subnets: [{ cidr: '2001:db8:1::/64', raMode: 'slaac' }] }])!;
  assert.deepEqual(s.argv, ['radvd', '-C', '/var/lib/l3ctl/routers/x/radvd.conf', '-p', '/var/lib/l3ctl/routers/x/radvd.pid', '-m', 'logfile', '-l', '/var/lib/l3ctl/routers/x/radvd.log']);
});
