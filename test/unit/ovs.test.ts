// The ovs interface driver's argv (pinned to the agent's) and the parser of
// the one ovs-vsctl read, on JSON captured from a real ovs-vsctl 3.1
// (test/fixtures/ovs/capture.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { RecordingRunner } from '../../src/linux/runner.js';
import { ApplyError, EXIT } from '../../src/model/errors.js';
import {
  OVS_LIST_ARGV, missingBridges, observeOvs, ovsDbLocation, ovsPlugArgv, ovsPortDrift, ovsPortsOfDevices, ovsUnplugArgv, parseOvsList, strayRouterPorts,
} from '../../src/linux/ovs.js';

const fixture = readFileSync(join(ROOT, 'test', 'fixtures', 'ovs', 'list.json'), 'utf8');
const QR = { bridge: 'br-int', device: 'qr-3f2c1b9a-7d', portId: '3f2c1b9a-7d4e-4c1a-9b2f-0e6d5c4b3a21', mac: 'fa:16:3e:3a:5b:01' };

describe('ovs argv', () => {
  it('plug is the agent command, byte for byte (quantum test_plug, no veth)', () => {
    assert.equal(
      ovsPlugArgv({ bridge: 'br-int', device: 'tap0', portId: 'port-1234', mac: 'aa:bb:cc:dd:ee:ff' }).join(' '),
      'ovs-vsctl -- --may-exist add-port br-int tap0 -- set Interface tap0 type=internal -- set Interface tap0 external-ids:iface-id=port-1234'
        + ' -- set Interface tap0 external-ids:iface-status=active -- set Interface tap0 external-ids:attached-mac=aa:bb:cc:dd:ee:ff',
    );
  });

  it('plug can carry a global timeout, before the first command', () => {
    assert.deepEqual(ovsPlugArgv({ bridge: 'br-foo', device: 'qr-x', portId: 'p', mac: 'm' }, { timeout: 10 }).slice(0, 4), ['ovs-vsctl', '--timeout=10', '--', '--may-exist']);
  });

  it('unplug is the agent command with its 2 s timeout', () => {
    assert.equal(ovsUnplugArgv('br-int', 'tap0').join(' '), 'ovs-vsctl --timeout=2 -- --if-exists del-port br-int tap0');
    assert.equal(ovsUnplugArgv('br-ex', 'qg-1', {}).join(' '), 'ovs-vsctl -- --if-exists del-port br-ex qg-1');
  });
});

describe('ovs observation', () => {
  const obs = parseOvsList(fixture);

  it('maps every bridge to its ports, a one-port bridge included', () => {
    const bridges = Object.fromEntries([...obs.bridges].map(([b, ports]) => [b, [...ports].sort()]));
    assert.deepEqual(bridges, {
      'br-empty': ['br-empty'],
      'br-ex': ['bond-x', 'br-ex', 'qg-8e7d6c5b-4a', 'tap-missing'],
      'br-int': ['br-int', 'qr-0a1b2c3d-4e', 'qr-3f2c1b9a-7d'],
    });
  });

  it('reads type, bridge and external-ids of each interface', () => {
    assert.deepEqual(obs.interfaces.get('qr-3f2c1b9a-7d'), {
      name: 'qr-3f2c1b9a-7d',
      type: 'internal',
      bridge: 'br-int',
      ifaceId: QR.portId,
      attachedMac: QR.mac,
      status: 'active',
      externalIds: { 'attached-mac': QR.mac, 'iface-id': QR.portId, 'iface-status': 'active' },
      ofport: 1,
      error: null,
    });
    assert.equal(obs.interfaces.get('qg-8e7d6c5b-4a')!.bridge, 'br-ex');
  });

  it('keeps a missing device as ofport -1 with its error, and finds bond members through their port', () => {
    const missing = obs.interfaces.get('tap-missing')!;
    assert.equal(missing.type, '');
    assert.equal(missing.ofport, -1);
    assert.match(missing.error!, /could not open network device tap-missing/);
    assert.equal(obs.interfaces.get('tap-bond-a')!.bridge, 'br-ex');
    assert.equal(obs.interfaces.get('tap-bond-b')!.bridge, 'br-ex');
    assert.equal(obs.interfaces.has('bond-x'), false, 'a bond is a port, not an interface');
  });

  it('lower-cases attached-mac and leaves absent keys null', () => {
    const i = obs.interfaces.get('qr-0a1b2c3d-4e')!;
    assert.equal(i.attachedMac, 'fa:16:3e:00:00:99');
    assert.equal(i.status, null);
    assert.equal(obs.interfaces.get('br-int')!.ifaceId, null);
  });

  it('refuses output that is not the three tables', () => {
    assert.throws(() => parseOvsList(fixture.split('\n').slice(0, 2).join('\n')), /expected 3 tables, got 2/);
    assert.throws(() => parseOvsList('ovs-vsctl: no bridge named x'), SyntaxError);
  });
});

describe('ovs drift', () => {
  const obs = parseOvsList(fixture);

  it('a port plugged as the agent plugs it is ok', () => {
    assert.deepEqual(ovsPortDrift(obs, QR), { kind: 'ok' });
    assert.deepEqual(ovsPortDrift(obs, { ...QR, mac: QR.mac.toUpperCase() }), { kind: 'ok' });
  });

  it('names a missing port, a port on another bridge and stale external-ids', () => {
    assert.deepEqual(ovsPortDrift(obs, { ...QR, device: 'qr-00000000-00' }), { kind: 'absent' });
    assert.deepEqual(ovsPortDrift(obs, { ...QR, bridge: 'br-ex' }), { kind: 'other-bridge', bridge: 'br-int' });
    assert.deepEqual(ovsPortDrift(obs, { ...QR, portId: 'other' }).kind, 'external-ids');
    assert.deepEqual(ovsPortDrift(obs, { bridge: 'br-int', device: 'qr-0a1b2c3d-4e', portId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', mac: 'fa:16:3e:00:00:99' }), {
      kind: 'external-ids',
      have: { ifaceId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', attachedMac: 'fa:16:3e:00:00:99', status: null, type: 'internal' },
    });
  });

  it('lists the configured bridges the switch lacks, empty names ignored', () => {
    assert.deepEqual(missingBridges(obs, ['br-int', 'br-ex']), []);
    assert.deepEqual(missingBridges(obs, ['br-int', '', 'br-nope', 'br-nope']), ['br-nope']);
  });

  it('finds router ports no wanted device accounts for, and the OVS ports among a namespace\'s devices', () => {
    assert.deepEqual(strayRouterPorts(obs, ['br-int', 'br-ex'], new Set(['qr-3f2c1b9a-7d'])), [
      { bridge: 'br-int', device: 'qr-0a1b2c3d-4e' },
      { bridge: 'br-ex', device: 'qg-8e7d6c5b-4a' },
    ]);
    assert.deepEqual(ovsPortsOfDevices(obs, ['lo', 'qr-3f2c1b9a-7d', 'qg-8e7d6c5b-4a', 'qr-gone']), [
      { bridge: 'br-int', device: 'qr-3f2c1b9a-7d' },
      { bridge: 'br-ex', device: 'qg-8e7d6c5b-4a' },
    ]);
  });
});

describe('observeOvs', () => {
  it('is one read (it runs under --dry-run)', async () => {
    const runner = new RecordingRunner(() => ({ stdout: fixture }));
    const obs = await observeOvs(runner);
    assert.equal(obs.bridges.size, 3);
    assert.deepEqual(runner.calls, [{ argv: [...OVS_LIST_ARGV], input: undefined, read: true, background: false }]);
    assert.deepEqual(runner.mutating(), []);
  });

  it('an unreachable database is an apply error (exit 1) that says where it looked', async () => {
    const saved = process.env.OVS_RUNDIR;
    process.env.OVS_RUNDIR = '/tmp/l3t-no-ovs';
    try {
      const runner = new RecordingRunner(() => ({ exitCode: 1, stderr: 'ovs-vsctl: unix:/tmp/l3t-no-ovs/db.sock: database connection failed (No such file or directory)\n' }));
      await assert.rejects(observeOvs(runner), (e: unknown) => {
        assert.ok(e instanceof ApplyError);
        assert.equal(e.exitCode, EXIT.apply);
        assert.equal(e.message, 'cannot read the Open vSwitch database at unix:/tmp/l3t-no-ovs/db.sock: database connection failed (No such file or directory)');
        return true;
      });
    } finally {
      if (saved === undefined) delete process.env.OVS_RUNDIR;
      else process.env.OVS_RUNDIR = saved;
    }
  });

  it('finds the database where every OVS tool does', () => {
    assert.equal(ovsDbLocation({}), 'unix:/var/run/openvswitch/db.sock');
    assert.equal(ovsDbLocation({ OVS_RUNDIR: '/tmp/x/run' }), 'unix:/tmp/x/run/db.sock');
  });
});
