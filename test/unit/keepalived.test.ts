import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NOTIFY_SCRIPT,
  allocateVrId,
  haDevice,
  haStatus,
  isOurKeepalived,
  keepalivedArgv,
  keepalivedCheckArgv,
  keepalivedFiles,
  keepalivedOwned,
  parseHaState,
  pidOf,
  primaryVip,
  primaryVipRange,
  renderKeepalivedConf,
  type HaInstance,
} from '../../src/linux/keepalived.js';

const HA_NET = '169.254.192.0/18';
const DIR = '/var/lib/l3ctl/ha/6f1c2e1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b';

// A router with one internal port, a gateway, one floating IP and one extra
// route, shaped as the planner's desired router.
const ROUTER = {
  ports: [
    { device: 'qr-1a2b3c4d-5e', ip: '198.51.100.1', prefixlen: 24 },
    { device: 'qg-9f8e7d6c-5b', ip: '203.0.113.10', prefixlen: 24 },
  ],
  gateway: { device: 'qg-9f8e7d6c-5b' },
  fips: [{ fip: '203.0.113.20' }],
  routes: [
    { dst: 'default', via: '203.0.113.1', dev: 'qg-9f8e7d6c-5b' },
    { dst: '192.0.2.0/24', via: '198.51.100.254', dev: null },
  ],
};

const instance = (over: Partial<HaInstance> = {}): HaInstance => ({
  vrId: 7,
  haDevice: haDevice('0a1b2c3d-4e5f-6789-abcd-ef0123456789'),
  haCidrs: [HA_NET],
  advertInt: 2,
  auth: null,
  ...keepalivedOwned(ROUTER),
  dir: DIR,
  ...over,
});

test('renders the whole keepalived.conf of an HA router', () => {
  assert.equal(
    renderKeepalivedConf(instance({ auth: { type: 'PASS', password: 's3cret' } })),
    `global_defs {
    router_id l3ctl
    script_user root
    enable_script_security
}
track_file standby {
    file "${DIR}/standby"
    init_file 0 overwrite
}
vrrp_instance VR_7 {
    state BACKUP
    interface ha-0a1b2c3d-4e
    virtual_router_id 7
    priority 50
    garp_master_delay 60
    garp_master_repeat 5
    nopreempt
    advert_int 2
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        169.254.0.7/24 dev ha-0a1b2c3d-4e
    }
    virtual_ipaddress_excluded {
        198.51.100.1/24 dev qr-1a2b3c4d-5e
        203.0.113.10/24 dev qg-9f8e7d6c-5b
        203.0.113.20/32 dev qg-9f8e7d6c-5b
    }
    virtual_routes {
        0.0.0.0/0 via 203.0.113.1 dev qg-9f8e7d6c-5b
        192.0.2.0/24 via 198.51.100.254 dev qr-1a2b3c4d-5e
    }
    track_file {
        standby weight 0
    }
    notify_master "${DIR}/notify.sh master"
    notify_backup "${DIR}/notify.sh backup"
    notify_fault "${DIR}/notify.sh fault"
}
`,
  );
});

test('no authentication block without a password; no excluded or route blocks when empty', () => {
  const conf = renderKeepalivedConf(instance({ addresses: [], routes: [] }));
  assert.ok(!conf.includes('authentication'));
  assert.ok(!conf.includes('virtual_ipaddress_excluded'));
  assert.ok(!conf.includes('virtual_routes'));
  assert.ok(conf.includes('    virtual_ipaddress {\n        169.254.0.7/24 dev ha-0a1b2c3d-4e\n    }\n'));
});

test('excluded addresses are ordered by address, whatever order the router lists them in', () => {
  const conf = renderKeepalivedConf(
    instance({
      addresses: [
        { cidr: '203.0.113.9/32', dev: 'qg-x' },
        { cidr: '198.51.100.129/25', dev: 'qr-b' },
        { cidr: '198.51.100.1/25', dev: 'qr-a' },
        { cidr: '203.0.113.10/24', dev: 'qg-x' },
      ],
    }),
  );
  const block = conf.split('virtual_ipaddress_excluded {\n')[1]!.split('    }')[0]!;
  assert.deepEqual(block.trim().split('\n').map((l) => l.trim()), [
    '198.51.100.1/25 dev qr-a',
    '198.51.100.129/25 dev qr-b',
    '203.0.113.9/32 dev qg-x',
    '203.0.113.10/24 dev qg-x',
  ]);
});

test('the FIP is a /32 on the gateway device; without a gateway no FIP is owned', () => {
  const owned = keepalivedOwned(ROUTER);
  assert.deepEqual(owned.addresses.at(-1), { cidr: '203.0.113.20/32', dev: 'qg-9f8e7d6c-5b' });
  assert.equal(keepalivedOwned({ ...ROUTER, gateway: null }).addresses.length, 2);
});

test('an extra route gets the device of the port whose subnet holds its nexthop', () => {
  const routes = (r: { dst: string; via: string; dev: string | null }[]) => keepalivedOwned({ ...ROUTER, routes: r }).routes;
  assert.deepEqual(routes([{ dst: '192.0.2.0/24', via: '198.51.100.254', dev: null }]), [{ dst: '192.0.2.0/24', via: '198.51.100.254', dev: 'qr-1a2b3c4d-5e' }]);
  assert.deepEqual(routes([{ dst: '192.0.2.0/24', via: '203.0.113.99', dev: null }])[0]!.dev, 'qg-9f8e7d6c-5b');
  assert.equal(routes([{ dst: '192.0.2.0/24', via: '10.0.0.1', dev: null }])[0]!.dev, null, 'no port on the nexthop subnet: left to keepalived');
  assert.equal(routes([{ dst: 'default', via: '203.0.113.1', dev: 'qg-x' }])[0]!.dev, 'qg-x');
});

test('the primary VIP is <first free /24>.<vr_id>, the same on every node', () => {
  assert.equal(primaryVipRange([HA_NET]), '169.254.0.0/24');
  assert.equal(primaryVip(1, [HA_NET]), '169.254.0.1/24');
  assert.equal(primaryVip(254, [HA_NET]), '169.254.0.254/24');
  // An HA network at the start of the range pushes it past the DVR range (169.254.64.0/18).
  assert.equal(primaryVipRange(['169.254.0.0/18']), '169.254.128.0/24');
  assert.equal(primaryVipRange(['169.254.0.0/24']), '169.254.1.0/24');
});

test('VRRP ids: the lowest free from 1, refused when all 254 are taken', () => {
  assert.equal(allocateVrId([]), 1);
  assert.equal(allocateVrId([1, 2, 4]), 3);
  assert.equal(allocateVrId([2, 3]), 1);
  assert.throws(() => allocateVrId(Array.from({ length: 254 }, (_, i) => i + 1)), /no free VRRP id/);
});

test('bad input is refused before anything is written', () => {
  assert.throws(() => renderKeepalivedConf(instance({ vrId: 0 })), /VRRP id 0/);
  assert.throws(() => renderKeepalivedConf(instance({ vrId: 255 })), /VRRP id 255/);
  assert.throws(() => renderKeepalivedConf(instance({ advertInt: 0 })), /advert interval/);
  assert.throws(() => renderKeepalivedConf(instance({ dir: 'relative/dir' })), /absolute path/);
  assert.throws(() => renderKeepalivedConf(instance({ dir: '/tmp/with space' })), /absolute path/);
  assert.throws(() => renderKeepalivedConf(instance({ auth: { type: 'PASS', password: 'toolongpass' } })), /1-8 printable/);
  assert.throws(() => renderKeepalivedConf(instance({ auth: { type: 'PASS', password: 'a"b' } })), /without quotes/);
  assert.throws(() => renderKeepalivedConf(instance({ auth: { type: 'MD5' as 'PASS', password: 'x' } })), /not PASS or AH/);
  assert.throws(() => renderKeepalivedConf(instance({ haDevice: 'ha-x}' })), /cannot carry/);
});

test('files live in the router directory; argv starts VRRP only with its own pid files', () => {
  const f = keepalivedFiles(DIR + '/');
  assert.equal(f.conf, `${DIR}/keepalived.conf`);
  assert.equal(f.state, `${DIR}/state`);
  assert.equal(f.standby, `${DIR}/standby`);
  assert.deepEqual(keepalivedArgv(f), ['keepalived', '-P', '-f', f.conf, '-p', `${DIR}/keepalived.pid`, '-r', `${DIR}/keepalived-vrrp.pid`]);
  assert.deepEqual(keepalivedArgv(f, { foreground: true }).slice(-3), ['-n', '-l', '-D']);
  assert.deepEqual(keepalivedCheckArgv(f), ['keepalived', '-t', '-f', f.conf]);
});

test('the notify script replaces ./state with its first argument in one rename', () => {
  assert.match(NOTIFY_SCRIPT, /^#!\/bin\/sh\n/);
  assert.ok(NOTIFY_SCRIPT.includes(`printf '%s\\n' "$1" > "$d/state.$$" && mv -f "$d/state.$$" "$d/state"`));
});

test('state: keepalived’s word while it runs; stopped when it does not; unknown before its first notification', () => {
  assert.equal(parseHaState('master\n'), 'master');
  assert.equal(parseHaState('BACKUP'), 'backup');
  assert.equal(parseHaState('primary'), null);
  assert.equal(haStatus('master\n', true), 'master');
  assert.equal(haStatus('fault\n', true), 'fault');
  assert.equal(haStatus('master\n', false), 'stopped');
  assert.equal(haStatus(null, true), 'unknown');
  assert.equal(haStatus('', true), 'unknown');
});

test('a pid file names our keepalived only when the process runs this config', () => {
  const f = keepalivedFiles(DIR);
  assert.equal(pidOf('1234\n'), 1234);
  assert.equal(pidOf(''), null);
  assert.equal(pidOf('1'), null);
  assert.equal(pidOf('12ab'), null);
  const cmd = (argv: string[]) => argv.join('\0') + '\0';
  assert.ok(isOurKeepalived(cmd(keepalivedArgv(f)), f));
  assert.ok(isOurKeepalived(cmd(['/usr/sbin/keepalived', ...keepalivedArgv(f).slice(1)]), f));
  assert.ok(!isOurKeepalived(cmd(['keepalived', '-P', '-f', '/other/keepalived.conf']), f));
  assert.ok(!isOurKeepalived(cmd(['sleep', '600']), f));
  assert.ok(!isOurKeepalived(null, f));
});
