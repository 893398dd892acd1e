// train.ts runs once while the start-up snapshot is built, so that the common
// paths are compiled in the blob. It must really take those paths (plan from
// an empty kernel, then compare against a kernel holding what it planned),
// and must never reach a real program or file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { savedAfter, train, trainingState } from '../../src/cli/train.js';
import { parseSave } from '../../src/linux/iptables.js';
import { checkState } from '../../src/model/validate.js';

test('the training plans the made-up router from an empty kernel: its floating IPs become NAT rules', async () => {
  const { rules } = await train();
  assert.match(rules, /^-A l3ctl-PREROUTING -d 203\.0\.113\.20\/32 -j DNAT --to-destination 192\.0\.2\.5$/m);
  assert.match(rules, /^-A l3ctl-snat -s 192\.0\.2\.0\/24 -j SNAT --to-source 203\.0\.113\.2\b/m);
});

test('its second pass reads back the devices, addresses, routes, sysctls and rules it made, and plans none of them again', async () => {
  const { mutations } = await train();
  const all = mutations.join('\n');
  assert.doesNotMatch(all, /iptables-restore/, 'the rules read back match: no restore');
  assert.doesNotMatch(all, /link add (qr|qg)-/, 'the devices read back match: none added');
  assert.doesNotMatch(all, /link set lo up/, 'the loopback read back up');
  assert.doesNotMatch(all, /addr add 192\.0\.2\.1\//, "the port's address read back: not added again");
  assert.doesNotMatch(all, /route replace/, 'the connected, default and extra routes read back as the kernel prints them');
  assert.doesNotMatch(all, /net\.ipv4\.(ip_forward|conf\.all\.promote_secondaries)=/, "the router namespace's sysctls read back");
  // What the made-up kernel leaves out (the host namespace's bridges, the metadata proxy) is still planned: the pass did run.
  assert.match(all, /link add brq\S+ type bridge/);
});

test('it runs agent sync and agent check over that kernel too', async () => {
  const { synced, checked } = await train();
  assert.deepEqual(synced, ['r1']);
  assert.deepEqual(checked.sort(), ['host', 'r1'], 'the router and the host namespace, each read without error');
});

test('the training site passes the whole-state check a command applies', () => {
  assert.doesNotThrow(() => checkState(trainingState()));
});

test('a restore payload turned into save text parses back to the same rules of ours', () => {
  const restore = [
    '*nat',
    ':l3ctl-PREROUTING - [0:0]',
    '-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 192.0.2.5',
    '-I PREROUTING 1 -j l3ctl-PREROUTING',
    'COMMIT',
    '',
  ].join('\n');
  const saved = parseSave(savedAfter(restore));
  assert.deepEqual(saved.ours.nat.chains['l3ctl-PREROUTING'], ['-A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 192.0.2.5']);
  assert.deepEqual(saved.ours.nat.jumps.PREROUTING?.map((j) => j.position), [1]);
});
