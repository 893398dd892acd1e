// observe.ts reads a namespace with one script: its output split back into
// links, routes, the whole iptables-save and the sysctls must be what the
// kernel holds, down to the save's header (the iptables version is read from it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_OBSERVATION, joinObserved, observeNs, splitObserved } from '../../src/linux/observe.js';
import { parseSave } from '../../src/linux/iptables.js';
import { fakeFor } from '../helpers/fakesys.js';
import { NS, QG, QR, converge, world } from '../helpers/world.js';

test('one read of a namespace gives its links, routes, every rule with the save header, and its sysctls', async (t) => {
  const f = fakeFor(t);
  await converge(f, world({ port: true, gateway: true, fips: [['203.0.113.20', '198.51.100.5']] }));
  const obs = await observeNs(f, NS);
  assert.equal(obs.exists, true);
  assert.deepEqual([...obs.links.keys()].filter((n) => n !== 'lo').sort(), [QG, QR].sort());
  assert.ok(obs.routes.some((r) => r.dst === '0.0.0.0/0' && r.dev === QG), JSON.stringify(obs.routes));
  const whole = parseSave(f.saveText(NS));
  assert.equal(obs.iptables.version, f.iptablesVersion, 'the version from the save header');
  assert.deepEqual(obs.iptables.ours, whole.ours, 'every rule of ours, none lost at the edges of the save');
  assert.deepEqual([obs.sysctl.ipForward, obs.sysctl.promoteSecondaries], [true, true]);
});

test('joinObserved is the inverse of splitObserved (the made-up kernels of the snapshot training and the fakes print through it)', () => {
  const parts = { linksText: '[{"ifname":"lo"}]', routes: '[]', saveText: '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n', sysctlText: 'net.ipv4.ip_forward = 1\n' };
  assert.deepEqual(splitObserved(joinObserved(parts), 'ns'), parts);
  assert.deepEqual(splitObserved(EMPTY_OBSERVATION, 'ns'), { linksText: '[]', routes: '[]', saveText: '\n', sysctlText: '' });
});
