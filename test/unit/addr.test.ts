// Dotted quads are parsed without ipaddr.js's general parser (model/addr.ts):
// the pattern must accept exactly what ipaddr.js's four-part check accepts,
// and give the same number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import { DOTTED_QUAD, compareIp, isIPv4, ipVersion, toInt } from '../../src/model/addr.js';

const EDGES = ['0.0.0.0', '255.255.255.255', '192.0.2.5', '01.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1..2.3', '-1.2.3.4', '0x1.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4\n', '1.2.3.4/32', '199.250.255.249', '2001:db8::1', '::ffff:1.2.3.4', '١.2.3.4', ''];

test('the dotted-quad pattern accepts what ipaddr.js accepts, edge cases and 100,000 random strings', () => {
  for (const s of EDGES) assert.equal(DOTTED_QUAD.test(s), ipaddr.IPv4.isValidFourPartDecimal(s), JSON.stringify(s));
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let i = 0; i < 100_000; i++) {
    const s = [0, 1, 2, 3].map(() => (rnd(20) === 0 ? '0' : '') + String(rnd(300))).join('.');
    assert.equal(DOTTED_QUAD.test(s), ipaddr.IPv4.isValidFourPartDecimal(s), s);
  }
});

test('a dotted quad is the address ipaddr.js reads: same version, same order', () => {
  assert.equal(isIPv4('203.0.113.250'), true);
  assert.equal(isIPv4('203.0.113.256'), false);
  assert.equal(ipVersion('010.0.0.1'), null);
  const xs = ['203.0.113.9', '198.51.100.200', '203.0.113.10', '192.0.2.255', '0.0.0.1'];
  const byIpaddr = [...xs].sort((a, b) => ipaddr.IPv4.parse(a).toByteArray().reduce((x, y) => x * 256 + y, 0) - ipaddr.IPv4.parse(b).toByteArray().reduce((x, y) => x * 256 + y, 0));
  assert.deepEqual([...xs].sort(compareIp), byIpaddr);
  for (const x of xs) assert.equal(toInt(x), ipaddr.IPv4.parse(x).toByteArray().reduce((a, b) => a * 256 + b, 0), x);
});
