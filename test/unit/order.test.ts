// byText sorts the names l3ctl sorts as String#localeCompare did (files and
// payloads read as before) without loading ICU's collator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byText } from '../../src/model/order.js';

const NAMES = [
  'l3ctl-FORWARD', 'l3ctl-filter-top', 'l3ctl-INPUT', 'l3ctl-local', 'l3ctl-OUTPUT', 'neutron-l3-agent-float-snat', 'neutron-l3-agent-snat',
  'neutron-postrouting-bottom', 'qr-1a2b3c4d-5e', 'qr-1A2b3c4d-5e', 'qg-0a1b2c3d-4e', 'qr-0', 'ha-12345678-90', '192.0.2.0/24', '198.51.100.0/24',
  '2001:db8::/64', '2001:db8:1::/64', '/var/lib/l3ctl/state.json', '/tmp/l3ctl-test-x/state.json', 'a.b', 'a-b', 'a_b', 'a1', 'ab', 'A', 'a', 'B', 'b', 'r-1_a', 'r-1.a', 'r_1',
];

test('byText orders every pair of the names l3ctl sorts as localeCompare does', () => {
  for (const a of NAMES) for (const b of NAMES) assert.equal(Math.sign(byText(a, b)), Math.sign(a.localeCompare(b)), `${a} vs ${b}`);
});

test('byText: the chains of a payload, lower case before upper case on a tie', () => {
  assert.deepEqual(['l3ctl-OUTPUT', 'l3ctl-local', 'l3ctl-filter-top', 'l3ctl-INPUT'].sort(byText), ['l3ctl-filter-top', 'l3ctl-INPUT', 'l3ctl-local', 'l3ctl-OUTPUT']);
  assert.deepEqual(['B', 'b', 'a', 'A'].sort(byText), ['a', 'A', 'b', 'B']);
});
