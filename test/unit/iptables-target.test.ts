// targetOf reads a rule's -j/-g target; without quotes by one pattern, with
// them (iptables-save quotes comments) by splitting words. Both ways must
// give what the fake iptables's own reading of a rule gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { targetOf } from '../../src/linux/iptables.js';
import { targetOfSpec } from '../helpers/fakeiptables.js';

const RULES = [
  '-A PREROUTING -j l3ctl-PREROUTING',
  '-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 192.0.2.5',
  '-A l3ctl-snat -o qg-00000011-00 -j SNAT --to-source 203.0.113.2 --random-fully',
  '-A l3ctl-POSTROUTING ! -i qg-x ! -o qg-x -m conntrack ! --ctstate DNAT -j ACCEPT',
  '-A FORWARD -g l3ctl-FORWARD',
  '-A INPUT -p tcp -m tcp --dport 9697',
  '-A INPUT -m comment --comment "not -j THIS" -j ACCEPT',
  '-A INPUT -m comment --comment "quoted \\" -g NOR-THIS" -g l3ctl-INPUT',
  '-A OUTPUT -m comment --comment "-j only in a comment"',
  '-A OUTPUT -j',
  '-A l3ctl-INPUT -p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP',
];

test('the target of each rule, with and without quoted comments, as the fake iptables reads it', () => {
  for (const r of RULES) assert.equal(targetOf(r), targetOfSpec(r.replace(/^-A \S+ ?/, '')), r);
});

test('the targets themselves', () => {
  assert.deepEqual(RULES.map(targetOf), ['l3ctl-PREROUTING', 'DNAT', 'SNAT', 'ACCEPT', 'l3ctl-FORWARD', null, 'ACCEPT', 'l3ctl-INPUT', null, null, 'DROP']);
});
