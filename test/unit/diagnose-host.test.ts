// `diagnose host`'s required programs: the daemons and drivers the store and
// configuration need (haproxy, keepalived, radvd, ovs-vsctl) are checked only
// then, and looked up on PATH as the runner looks them up. No root.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programsCheck, requiredPrograms } from '../../src/agent/diagnose.js';
import { onPath } from '../../src/linux/inspect.js';
import { effectiveConfig } from '../../src/model/config.js';
import { HAND_WRITTEN } from '../helpers/error-cases.js';

const BASE = ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'sysctl', 'arping', 'conntrack'];
const names = (s: typeof HAND_WRITTEN, config: Record<string, string> = {}) => requiredPrograms(s, effectiveConfig({ ...s.config, ...config })).map(([p]) => p);

/** HAND_WRITTEN with an HA router and a subnet whose router sends advertisements (SLAAC). */
function needsAll(): typeof HAND_WRITTEN {
  const s = structuredClone(HAND_WRITTEN);
  s.routers[0]!.ha = true;
  s.routers[0]!.ha_vr_id = 1;
  s.networks[1]!.subnets.push({ id: 'e0000010-0000-4000-8000-000000000010', cidr: '2001:db8:1::/64', gateway_ip: '2001:db8:1::1', ip_version: 6, ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' });
  return s;
}

describe('diagnose host: required programs', () => {
  it('keepalived with an HA router, radvd with an RA subnet, ovs-vsctl with interface_driver ovs, haproxy with the metadata proxy; not otherwise', () => {
    assert.deepEqual(names(HAND_WRITTEN, { enable_metadata_proxy: 'false' }), BASE);
    assert.deepEqual(names(HAND_WRITTEN), [...BASE, 'haproxy']);
    assert.deepEqual(names(needsAll(), { interface_driver: 'ovs' }), [...BASE, 'haproxy', 'keepalived', 'radvd', 'ovs-vsctl']);
    const noRa = needsAll();
    noRa.networks[1]!.subnets[1]!.ipv6_ra_mode = null;
    assert.ok(!names(noRa).includes('radvd'), 'an IPv6 subnet whose advertisements come from elsewhere');
  });

  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-test-path-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a PATH with everything but keepalived and radvd: FAIL naming them and their packages', () => {
    for (const p of [...BASE, 'haproxy', 'ovs-vsctl']) {
      writeFileSync(join(dir, p), '#!/bin/sh\n');
      chmodSync(join(dir, p), 0o755);
    }
    writeFileSync(join(dir, 'radvd'), 'not executable\n');
    const check = programsCheck(requiredPrograms(needsAll(), effectiveConfig({ ...HAND_WRITTEN.config, interface_driver: 'ovs' })), (p) => onPath(p, dir));
    assert.deepEqual([check.status, check.found, check.fix], ['FAIL', 'missing: keepalived, radvd', 'apt-get install keepalived radvd']);
    assert.equal(check.command, `command -v ${[...BASE, 'haproxy', 'keepalived', 'radvd', 'ovs-vsctl'].join(' ')}`);
    const fine = programsCheck(requiredPrograms(HAND_WRITTEN, effectiveConfig(HAND_WRITTEN.config)), (p) => onPath(p, dir));
    assert.deepEqual([fine.status, fine.found], ['ok', [...BASE, 'haproxy'].join(', ')]);
  });

  it('only PATH counts, as for the runner: a program in /usr/sbin alone is not found', () => {
    assert.equal(onPath('ip', dir), true);
    assert.equal(onPath('sh', dir), false, '/bin/sh is not on this PATH');
    assert.equal(onPath('sh', `${dir}:/bin:/usr/bin`), true);
  });
});
