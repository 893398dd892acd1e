// parseSave and targetOf. targetOf reads a rule's -j/-g target; without quotes by one pattern, with
// them (iptables-save quotes comments) by splitting words. Both ways must
// give what the fake iptables's own reading of a rule gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSave, targetOf } from '../../src/linux/iptables.js';
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

test('a save line that cannot be read is named by its number, with why', () => {
  assert.throws(() => parseSave('*nat\n:PREROUTING ACCEPT [0:0]\n-X foo\nCOMMIT\n'), /^Error: iptables-save line 3: unexpected line: "-X foo"$/);
  assert.throws(() => parseSave('*nat\n:PREROUTING ACCEPT [0:0]\n-A  PREROUTING -j ACCEPT\nCOMMIT\n'), /line 3: unexpected line/);
  assert.throws(() => parseSave('*nat\n:PREROUTING ACCEPT [0:0]\n[0:0] -A l3ctl-x -j ACCEPT\nCOMMIT\n'), /line 3: rule in undeclared chain l3ctl-x/);
  assert.throws(() => parseSave('-A PREROUTING -j ACCEPT\n'), /line 1: outside a table/);
});

test('counters, CR line ends and trailing spaces: the rule of ours, its counters and its jump are read', () => {
  const save = ['*nat\r', ':PREROUTING ACCEPT [0:0]\r', ':l3ctl-PREROUTING - [0:0]  ', '[5:300] -A PREROUTING -j l3ctl-PREROUTING\r', '[1:60] -A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 192.0.2.5 ', 'COMMIT\r', ''].join('\n');
  const p = parseSave(save);
  assert.deepEqual(p.ours.nat.chains['l3ctl-PREROUTING'], ['-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 192.0.2.5']);
  assert.deepEqual(p.ours.nat.jumps.PREROUTING, [{ position: 1, rule: '-A PREROUTING -j l3ctl-PREROUTING' }]);
  assert.equal(p.counters.nat.get('-A PREROUTING -j l3ctl-PREROUTING'), '[5:300]');
  assert.equal(p.counters.nat.get('-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 192.0.2.5'), '[1:60]');
});
