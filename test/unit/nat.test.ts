// Our iptables section: the rules nat.ts generates, iptables-save text
// parsed (real captures), and planNat's steps with the restore payload
// apply.ts makes of them, executed by the fake system's iptables model
// (which refuses what iptables-restore refuses). No root.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkSection, desiredSection, sectionLines, type NatInput } from '../../src/agent/nat.js';
import { chainEdits, planNat } from '../../src/agent/plan-nat.js';
import type { Step } from '../../src/agent/steps.js';
import { restorePayload } from '../../src/linux/apply.js';
import { emptySave, emptySection, parseSave, type Section } from '../../src/linux/iptables.js';
import { FakeSystem, fakeFor } from '../helpers/fakesys.js';
import { COUNTERS_SAVE, CONVERGED_SAVE, CURRENT_SAVE, FOREIGN_FIRST_SAVE, FRESH_PAYLOAD, MESSY_SAVE, SHARED_NAT_SAVE } from '../helpers/saves.js';

const QG = 'qg-0123456789a';
export const NAT_FULL: NatInput = {
  gatewayDevice: QG,
  gatewayIp: '203.0.113.2',
  internalCidrs: ['198.51.100.0/24', '192.0.2.0/26'],
  floatingIps: [
    { fip: '203.0.113.20', fixed: '198.51.100.5' },
    { fip: '203.0.113.9', fixed: '192.0.2.7' },
  ],
  metadataPort: 9697,
  randomFully: true,
  shared: false,
};

const NS = 'l3ctl-t-unit-nat';
const payloadOf = (steps: Step[]) => restorePayload(steps.flatMap((s) => s.actions));
const withoutComments = (save: string) => save.split('\n').filter((l) => !l.startsWith('#')).join('\n');

/** A fake namespace whose tables hold `save` (a save is a valid restore payload). */
async function kernelWith(f: FakeSystem, save: string): Promise<void> {
  await f.sh(['ip', 'netns', 'add', NS]);
  if (save) await f.sh(['ip', 'netns', 'exec', NS, 'iptables-restore', '-w', '--noflush', '--counters'], save);
}

/** Plan against the fake's save, restore the payload into it (as apply does), and plan again. */
async function sync(f: FakeSystem, input: NatInput): Promise<{ steps: Step[]; payload: string | null }> {
  const steps = planNat(desiredSection(input), parseSave(f.saveText(NS)));
  const payload = payloadOf(steps);
  if (payload !== null) await f.run(['ip', 'netns', 'exec', NS, 'iptables-restore', '-w', '--noflush', '--counters'], { input: payload });
  assert.deepEqual(planNat(desiredSection(input), parseSave(f.saveText(NS))), [], 'planning again after the restore gives no step');
  return { steps, payload };
}

describe('desiredSection: the exact rules', () => {
  it('gateway, two subnets, two floating IPs, metadata: every line', () => {
    assert.deepEqual(sectionLines(desiredSection(NAT_FULL)), [
      '-t filter -I FORWARD 1 -j l3ctl-filter-top',
      '-t filter -I FORWARD 2 -j l3ctl-FORWARD',
      '-t filter -I INPUT 1 -j l3ctl-INPUT',
      '-t filter -I OUTPUT 1 -j l3ctl-filter-top',
      '-t filter -I OUTPUT 2 -j l3ctl-OUTPUT',
      '-t filter -N l3ctl-FORWARD',
      '-t filter -N l3ctl-INPUT',
      '-t filter -A l3ctl-INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 9697 -j ACCEPT',
      '-t filter -A l3ctl-INPUT -p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP',
      '-t filter -N l3ctl-OUTPUT',
      '-t filter -N l3ctl-filter-top',
      '-t filter -A l3ctl-filter-top -j l3ctl-local',
      '-t filter -N l3ctl-local',
      '-t nat -I OUTPUT 1 -j l3ctl-OUTPUT',
      '-t nat -I POSTROUTING 1 -j l3ctl-POSTROUTING',
      '-t nat -I POSTROUTING 2 -j l3ctl-postrouting-bottom',
      '-t nat -I PREROUTING 1 -j l3ctl-PREROUTING',
      '-t nat -N l3ctl-OUTPUT',
      '-t nat -A l3ctl-OUTPUT -d 203.0.113.9/32 -j DNAT --to-destination 192.0.2.7',
      '-t nat -A l3ctl-OUTPUT -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5',
      '-t nat -N l3ctl-POSTROUTING',
      `-t nat -A l3ctl-POSTROUTING ! -i ${QG} ! -o ${QG} -m conntrack ! --ctstate DNAT -j ACCEPT`,
      '-t nat -N l3ctl-PREROUTING',
      '-t nat -A l3ctl-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
      '-t nat -A l3ctl-PREROUTING -d 203.0.113.9/32 -j DNAT --to-destination 192.0.2.7',
      '-t nat -A l3ctl-PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 198.51.100.5',
      '-t nat -N l3ctl-float-snat',
      '-t nat -A l3ctl-float-snat -s 192.0.2.7/32 -j SNAT --to-source 203.0.113.9 --random-fully',
      '-t nat -A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20 --random-fully',
      '-t nat -N l3ctl-postrouting-bottom',
      '-t nat -A l3ctl-postrouting-bottom -j l3ctl-snat',
      '-t nat -N l3ctl-snat',
      '-t nat -A l3ctl-snat -j l3ctl-float-snat',
      '-t nat -A l3ctl-snat -s 192.0.2.0/26 -j SNAT --to-source 203.0.113.2 --random-fully',
      '-t nat -A l3ctl-snat -s 198.51.100.0/24 -j SNAT --to-source 203.0.113.2 --random-fully',
      `-t nat -A l3ctl-snat -o ${QG} -j SNAT --to-source 203.0.113.2 --random-fully`,
    ]);
  });

  it('exactly what the kernel saved back after the fresh payload (CURRENT_SAVE, a real capture)', () => {
    assert.equal(payloadOf(planNat(desiredSection(NAT_FULL), emptySave())), FRESH_PAYLOAD);
    assert.deepEqual(parseSave(CURRENT_SAVE).ours, desiredSection(NAT_FULL));
    assert.deepEqual(planNat(desiredSection(NAT_FULL), parseSave(CURRENT_SAVE)), []);
  });

  it('the fake kernel saves the fresh payload exactly as the real one did', async (t) => {
    const f = fakeFor(t);
    await kernelWith(f, '');
    await f.run(['ip', 'netns', 'exec', NS, 'iptables-restore', '-w', '--noflush', '--counters'], { input: FRESH_PAYLOAD });
    assert.equal(withoutComments(f.saveText(NS)), withoutComments(CURRENT_SAVE));
  });

  it('metadata off: no rule in either table mentions it', () => {
    const lines = sectionLines(desiredSection({ ...NAT_FULL, metadataPort: null }));
    assert.ok(!lines.some((l) => /9697|169\.254\.169\.254/.test(l)), lines.join('\n'));
    assert.deepEqual(desiredSection({ ...NAT_FULL, metadataPort: null }).filter.chains['l3ctl-INPUT'], []);
  });

  it('use_namespaces false: every rule matches only our devices (a real capture beside a MASQUERADE of the host)', () => {
    const shared = desiredSection({ ...NAT_FULL, shared: true, metadataPort: null, randomFully: false });
    assert.deepEqual(shared.nat.chains['l3ctl-snat'], [
      '-A l3ctl-snat -j l3ctl-float-snat',
      `-A l3ctl-snat -s 192.0.2.0/26 -o ${QG} -j SNAT --to-source 203.0.113.2`,
      `-A l3ctl-snat -s 198.51.100.0/24 -o ${QG} -j SNAT --to-source 203.0.113.2`,
      `-A l3ctl-snat -o ${QG} -j SNAT --to-source 203.0.113.2`,
    ]);
    assert.deepEqual(shared.nat.chains['l3ctl-POSTROUTING'], [`-A l3ctl-POSTROUTING ! -i ${QG} -o qr-+ -m conntrack ! --ctstate DNAT -j ACCEPT`]);
    const saved = parseSave(SHARED_NAT_SAVE);
    assert.deepEqual(saved.ours.nat, shared.nat);
    assert.deepEqual(planNat({ ...shared, filter: emptySection().filter }, saved), []);
  });

  it('use_random_fully off: no SNAT rule has --random-fully; on: every one', () => {
    const off = sectionLines(desiredSection({ ...NAT_FULL, randomFully: false })).filter((l) => l.includes('-j SNAT'));
    const on = sectionLines(desiredSection(NAT_FULL)).filter((l) => l.includes('-j SNAT'));
    assert.equal(off.length, 5);
    assert.ok(off.every((l) => !l.includes('--random-fully')));
    assert.deepEqual(on, off.map((l) => `${l} --random-fully`));
  });

  it('no gateway: no ACCEPT, SNAT or floating IP rule', () => {
    const d = desiredSection({ ...NAT_FULL, gatewayDevice: null, gatewayIp: null });
    for (const c of ['l3ctl-POSTROUTING', 'l3ctl-OUTPUT', 'l3ctl-float-snat']) assert.deepEqual(d.nat.chains[c], [], c);
    assert.deepEqual(d.nat.chains['l3ctl-snat'], ['-A l3ctl-snat -j l3ctl-float-snat']);
  });

  it('inputs that would not save back as written are refused', () => {
    assert.throws(() => desiredSection({ ...NAT_FULL, internalCidrs: ['198.51.100.7/24'] }), /not a canonical network CIDR/);
    assert.throws(() => desiredSection({ ...NAT_FULL, floatingIps: [{ fip: '203.0.113.300', fixed: '192.0.2.7' }] }), /floating IP is not an IPv4 address/);
    assert.throws(() => desiredSection({ ...NAT_FULL, gatewayDevice: 'qg-x -j ACCEPT' }), /bad gateway device/);
    assert.throws(() => desiredSection({ ...NAT_FULL, gatewayIp: null }), /no IPv4 address/);
    assert.throws(() => desiredSection({ ...NAT_FULL, metadataPort: 70000 }), /metadata rules: bad port 70000/);
  });
});

describe('checkSection: a generated section must be clean', () => {
  it('duplicate rules throw (they would be saved twice and never compare equal); a subnet listed twice gives one rule', () => {
    // Two ports on one subnet (refused by validation) would still give one SNAT rule per subnet.
    assert.deepEqual(desiredSection({ ...NAT_FULL, internalCidrs: ['198.51.100.0/24', '198.51.100.0/24'] }).nat.chains['l3ctl-snat']!.filter((r) => r.includes('-s 198.51.100.0/24')).length, 1);
    assert.throws(() => desiredSection({ ...NAT_FULL, floatingIps: [...NAT_FULL.floatingIps, NAT_FULL.floatingIps[0]!] }), /duplicated desired rule in nat: -A l3ctl-PREROUTING -d 203\.0\.113\.20\/32/);
    const d: Section = desiredSection(NAT_FULL);
    d.filter.chains['l3ctl-local'] = ['-A l3ctl-local -j ACCEPT', '-A l3ctl-local -j ACCEPT'];
    assert.throws(() => checkSection(d), /duplicated desired rule in filter: -A l3ctl-local -j ACCEPT/);
  });

  it('rules in the wrong chain, foreign chain names, bad or misplaced jumps throw', () => {
    const bad = (edit: (s: Section) => void) => {
      const s = desiredSection(NAT_FULL);
      edit(s);
      return () => checkSection(s);
    };
    assert.throws(bad((s) => s.nat.chains['l3ctl-snat']!.push('-A l3ctl-other -j ACCEPT')), /is not in chain l3ctl-snat/);
    assert.throws(bad((s) => (s.nat.chains['foreign'] = [])), /not one of our chain names: foreign/);
    assert.throws(bad((s) => (s.nat.jumps['l3ctl-snat'] = [])), /not a built-in chain/);
    assert.throws(bad((s) => s.nat.jumps['POSTROUTING']!.push({ position: 3, rule: '-A POSTROUTING -j l3ctl-missing' })), /bad jump in nat POSTROUTING/);
    assert.throws(bad((s) => (s.nat.jumps['POSTROUTING']![1]!.position = 5)), /must be at position 2/);
  });
});

describe('parseSave: real iptables-save text', () => {
  it('our chains, jumps with their positions, counters; comments and other tables ignored', () => {
    const c = parseSave(COUNTERS_SAVE);
    assert.deepEqual(c.ours, parseSave(CONVERGED_SAVE).ours);
    assert.equal(c.version, 'v1.8.9 (nf_tables)');
    assert.deepEqual(c.ours.filter.jumps['FORWARD'], [
      { position: 1, rule: '-A FORWARD -j l3ctl-filter-top' },
      { position: 2, rule: '-A FORWARD -j l3ctl-FORWARD' },
    ]);
    assert.equal(c.counters.filter.get('-A INPUT -j l3ctl-INPUT'), '[2:168]');
    assert.equal(c.counters.nat.get(`-A l3ctl-POSTROUTING ! -i ${QG} ! -o ${QG} -m conntrack ! --ctstate DNAT -j ACCEPT`), '[1:84]');
    // A comment that mentions one of our chains is not a reference to it.
    assert.deepEqual(c.foreignRefs, { filter: [], nat: [] });
    assert.deepEqual(parseSave(CONVERGED_SAVE.replace(/\n/g, '  \r\n')).ours, parseSave(CONVERGED_SAVE).ours);
  });

  it('foreign chains, our jumps behind foreign rules, stale chains', () => {
    const m = parseSave(MESSY_SAVE);
    assert.deepEqual(m.foreignChains, { filter: ['foreign'], nat: [] });
    assert.deepEqual(m.ours.nat.jumps['POSTROUTING'], [
      { position: 1, rule: '-A POSTROUTING -j l3ctl-postrouting-bottom' },
      { position: 3, rule: '-A POSTROUTING -j l3ctl-POSTROUTING' },
    ]);
    assert.deepEqual(m.ours.filter.jumps['INPUT'], [
      { position: 1, rule: '-A INPUT -j l3ctl-INPUT' },
      { position: 2, rule: '-A INPUT -i lo -j l3ctl-INPUT' },
    ]);
    assert.deepEqual(Object.keys(m.ours.nat.chains).sort(), ['l3ctl-OUTPUT', 'l3ctl-POSTROUTING', 'l3ctl-PREROUTING', 'l3ctl-float-snat', 'l3ctl-old', 'l3ctl-postrouting-bottom', 'l3ctl-snat']);
    assert.equal(parseSave('').version, null);
  });

  it('text that is not a save is an error naming the line', () => {
    assert.throws(() => parseSave('*nat\n-A PREROUTING -j ACCEPT\nCOMMIT\n'), /line 2: rule in undeclared chain PREROUTING/);
    assert.throws(() => parseSave('*nat\n:PREROUTING ACCEPT [0:0]\n'), /table nat not committed/);
    assert.throws(() => parseSave('-A PREROUTING -j ACCEPT\n'), /line 1: outside a table/);
  });
});

describe('planNat and the restore payload, executed by the fake kernel', () => {
  it('converged: no step, no restore', async (t) => {
    const f = fakeFor(t);
    await kernelWith(f, '');
    const first = await sync(f, NAT_FULL);
    assert.equal(first.payload, FRESH_PAYLOAD);
    assert.deepEqual(planNat(desiredSection(NAT_FULL), parseSave(f.saveText(NS))), []);
  });

  it('one floating IP fewer: its three rules deleted by text, the rest untouched with their counters', async (t) => {
    const f = fakeFor(t);
    await kernelWith(f, CURRENT_SAVE);
    f.bumpCounters(NS, 'nat', 'l3ctl-PREROUTING', { packets: 4, bytes: 336 });
    const before = f.rules(NS, 'nat', 'l3ctl-PREROUTING', { counters: true });
    const gone = NAT_FULL.floatingIps[0]!;
    const { payload } = await sync(f, { ...NAT_FULL, floatingIps: NAT_FULL.floatingIps.slice(1) });
    assert.equal(payload, [
      '*nat',
      `-D l3ctl-float-snat -s ${gone.fixed}/32 -j SNAT --to-source ${gone.fip} --random-fully`,
      `-D l3ctl-OUTPUT -d ${gone.fip}/32 -j DNAT --to-destination ${gone.fixed}`,
      `-D l3ctl-PREROUTING -d ${gone.fip}/32 -j DNAT --to-destination ${gone.fixed}`,
      'COMMIT',
      '',
    ].join('\n'));
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-PREROUTING', { counters: true }), before.filter((l) => !l.includes(`-d ${gone.fip}/32`)));
  });

  it('chainEdits: in place only when shorter and the kept rules keep their order', () => {
    const [a, b, c, d, e] = ['-A x -s 1', '-A x -s 2', '-A x -s 3', '-A x -s 4', '-A x -s 5'];
    assert.deepEqual(chainEdits([a, b, c, d], [a, c, d]), { del: [], ins: [{ position: 2, rule: b }] });
    assert.deepEqual(chainEdits([a, c, d, e], [a, b, c, d]), { del: [b], ins: [{ position: 4, rule: e }] });
    assert.deepEqual(chainEdits([b, a, c, d], [a, b, c, d]), null, 'another order: rewritten');
    assert.deepEqual(chainEdits([a, b, c], [a, a, b, c]), null, 'a repeated rule: rewritten');
    assert.deepEqual(chainEdits([a, b], [c, d]), null, 'as long as a rewrite: rewritten');
    assert.deepEqual(chainEdits([], [a]), null, 'an emptied chain: flushed');
  });

  it('one floating IP more: its three rules inserted in place, no chain rewritten; kept rules keep their counters', async (t) => {
    const f = fakeFor(t);
    await kernelWith(f, CURRENT_SAVE);
    f.bumpCounters(NS, 'nat', 'l3ctl-PREROUTING', { packets: 4, bytes: 336 });
    f.bumpCounters(NS, 'nat', 'l3ctl-snat', { packets: 2, bytes: 120 });
    const { steps, payload } = await sync(f, { ...NAT_FULL, floatingIps: [...NAT_FULL.floatingIps, { fip: '203.0.113.30', fixed: '198.51.100.8' }] });
    assert.deepEqual(steps.map((s) => s.findings.map((x) => `${x.kind} ${x.object}`)), [
      ['missing-nat-rule -t nat -A l3ctl-OUTPUT -d 203.0.113.30/32 -j DNAT --to-destination 198.51.100.8'],
      ['missing-nat-rule -t nat -A l3ctl-PREROUTING -d 203.0.113.30/32 -j DNAT --to-destination 198.51.100.8'],
      ['missing-nat-rule -t nat -A l3ctl-float-snat -s 198.51.100.8/32 -j SNAT --to-source 203.0.113.30 --random-fully'],
    ]);
    assert.equal(payload, [
      '*nat',
      '-I l3ctl-float-snat 3 -s 198.51.100.8/32 -j SNAT --to-source 203.0.113.30 --random-fully',
      '-I l3ctl-OUTPUT 3 -d 203.0.113.30/32 -j DNAT --to-destination 198.51.100.8',
      '-I l3ctl-PREROUTING 4 -d 203.0.113.30/32 -j DNAT --to-destination 198.51.100.8',
      'COMMIT',
      '',
    ].join('\n'));
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-PREROUTING', { counters: true }).map((l) => l.split(' ')[0]), ['[4:336]', '[4:336]', '[4:336]', '[0:0]']);
    assert.deepEqual(f.rules(NS, 'nat', 'l3ctl-snat', { counters: true }).map((l) => l.split(' ')[0]), ['[2:120]', '[2:120]', '[2:120]', '[2:120]']);
  });

  it('the same rules in another order: one nat-order finding, the chain rewritten', async (t) => {
    const f = fakeFor(t);
    await kernelWith(f, CURRENT_SAVE.replace(
      '[0:0] -A l3ctl-snat -j l3ctl-float-snat\n[0:0] -A l3ctl-snat -s 192.0.2.0/26',
      '[0:0] -A l3ctl-snat -s 192.0.2.0/26',
    ).replace('--random-fully\nCOMMIT\n', '--random-fully\n[0:0] -A l3ctl-snat -j l3ctl-float-snat\nCOMMIT\n'));
    const { steps } = await sync(f, NAT_FULL);
    assert.deepEqual(steps.map((s) => s.findings.map((x) => `${x.kind} ${x.object}`)), [['nat-order -t nat -N l3ctl-snat']]);
  });

  it('a stale chain of ours: declared (flushed), the jumps to it deleted, then -X; the kernel accepts that order', async (t) => {
    const f = fakeFor(t);
    await kernelWith(f, MESSY_SAVE);
    const { steps, payload } = await sync(f, NAT_FULL);
    const lines = payload!.split('\n');
    const at = (l: string) => {
      const i = lines.indexOf(l);
      assert.ok(i >= 0, `${l} in\n${payload}`);
      return i;
    };
    assert.ok(at(':l3ctl-old - [0:0]') < at('-D PREROUTING -j l3ctl-old'));
    assert.ok(at('-D PREROUTING -j l3ctl-old') < at('-X l3ctl-old'));
    assert.ok(at(':l3ctl-stale - [0:0]') < at('-X l3ctl-stale'));
    assert.ok(!lines.some((l) => l.startsWith('-A l3ctl-old') || l.includes('foreign') || l.includes('MASQUERADE')), payload!);
    assert.ok(steps.some((s) => s.findings.some((x) => x.kind === 'extra-nat-chain' && x.object === '-t nat -N l3ctl-old')));
    assert.deepEqual(f.chains(NS, 'nat').filter((c) => c.includes('old')), []);
    // What is not ours is as it was, in its place behind our jumps.
    assert.deepEqual(f.rules(NS, 'filter', 'FORWARD'), ['-A FORWARD -j l3ctl-filter-top', '-A FORWARD -j l3ctl-FORWARD', '-A FORWARD -j foreign']);
    assert.deepEqual(f.rules(NS, 'nat', 'POSTROUTING'), ['-A POSTROUTING -j l3ctl-POSTROUTING', '-A POSTROUTING -j l3ctl-postrouting-bottom', '-A POSTROUTING -o eth0 -j MASQUERADE']);
    assert.deepEqual(f.rules(NS, 'filter', 'foreign'), ['-A foreign -s 192.0.2.0/24 -j DROP']);
    assert.deepEqual(f.rules(NS, 'filter', 'INPUT'), ['-A INPUT -j l3ctl-INPUT']);
  });

  it('a stale chain still used by a foreign rule: a fail step, nothing of it restored', async (t) => {
    const save = MESSY_SAVE.replace('-A foreign -s 192.0.2.0/24 -j DROP', '-A foreign -s 192.0.2.0/24 -j DROP\n-A foreign -j l3ctl-stale');
    const steps = planNat(desiredSection(NAT_FULL), parseSave(save));
    const stale = steps.find((s) => s.findings.some((x) => x.object === '-t filter -N l3ctl-stale'))!;
    assert.equal(stale.actions.length, 1);
    const a = stale.actions[0]!;
    assert.ok(a.phase === 'fail');
    assert.equal(a.error.message, 'stale chain l3ctl-stale (filter) is still used by a rule that is not ours: -A foreign -j l3ctl-stale');
    assert.ok(!payloadOf(steps)!.includes('l3ctl-stale'));
    // Without that step the rest is a payload the kernel takes, and the foreign rule keeps its target.
    const f = fakeFor(t);
    await kernelWith(f, save);
    await f.run(['ip', 'netns', 'exec', NS, 'iptables-restore', '-w', '--noflush', '--counters'], { input: payloadOf(steps)! });
    assert.deepEqual(f.rules(NS, 'filter', 'foreign'), ['-A foreign -s 192.0.2.0/24 -j DROP', '-A foreign -j l3ctl-stale']);
  });

  it('our jumps missing or behind foreign rules: deleted by text and inserted at their positions; foreign rules stay behind', async (t) => {
    const f = fakeFor(t);
    await kernelWith(f, FOREIGN_FIRST_SAVE);
    const first = await sync(f, NAT_FULL);
    assert.deepEqual(first.payload!.split('\n').filter((l) => /^-[DIX] /.test(l)), [
      '-I FORWARD 1 -j l3ctl-filter-top',
      '-I FORWARD 2 -j l3ctl-FORWARD',
      '-I INPUT 1 -j l3ctl-INPUT',
      '-I OUTPUT 1 -j l3ctl-filter-top',
      '-I OUTPUT 2 -j l3ctl-OUTPUT',
      '-I OUTPUT 1 -j l3ctl-OUTPUT',
      '-I POSTROUTING 1 -j l3ctl-POSTROUTING',
      '-I POSTROUTING 2 -j l3ctl-postrouting-bottom',
      '-I PREROUTING 1 -j l3ctl-PREROUTING',
    ]);
    assert.deepEqual(f.rules(NS, 'filter', 'OUTPUT'), ['-A OUTPUT -j l3ctl-filter-top', '-A OUTPUT -j l3ctl-OUTPUT', '-A OUTPUT -j foreign']);
    // Someone deletes one jump and puts a rule before ours.
    await f.sh(['ip', 'netns', 'exec', NS, 'iptables', '-t', 'nat', '-D', 'POSTROUTING', '-j', 'l3ctl-POSTROUTING']);
    await f.sh(['ip', 'netns', 'exec', NS, 'iptables', '-t', 'nat', '-I', 'POSTROUTING', '1', '-o', 'eth0', '-j', 'MASQUERADE']);
    const again = await sync(f, NAT_FULL);
    assert.deepEqual(again.steps.map((s) => s.findings.map((x) => `${x.kind} ${x.object}`)), [[
      // postrouting-bottom is still second, behind the foreign rule: only the missing one is a finding.
      'missing-nat-rule -t nat -I POSTROUTING 1 -j l3ctl-POSTROUTING',
    ]]);
    assert.equal(again.payload, '*nat\n-D POSTROUTING -j l3ctl-postrouting-bottom\n-I POSTROUTING 1 -j l3ctl-POSTROUTING\n-I POSTROUTING 2 -j l3ctl-postrouting-bottom\nCOMMIT\n');
    assert.deepEqual(f.rules(NS, 'nat', 'POSTROUTING'), ['-A POSTROUTING -j l3ctl-POSTROUTING', '-A POSTROUTING -j l3ctl-postrouting-bottom', '-A POSTROUTING -o eth0 -j MASQUERADE', '-A POSTROUTING -j MASQUERADE']);
  });

  it('everything of ours removed (a shared namespace torn down): chains flushed and deleted, jumps gone, foreign rules kept', async (t) => {
    const f = fakeFor(t);
    await kernelWith(f, SHARED_NAT_SAVE);
    const steps = planNat(emptySection(), parseSave(f.saveText(NS)));
    await f.run(['ip', 'netns', 'exec', NS, 'iptables-restore', '-w', '--noflush', '--counters'], { input: payloadOf(steps)! });
    assert.deepEqual(f.chains(NS, 'nat'), []);
    assert.deepEqual(f.rules(NS, 'nat'), ['-A POSTROUTING -o eth0 -j MASQUERADE']);
    assert.deepEqual(planNat(emptySection(), parseSave(f.saveText(NS))), []);
  });
});
