// Store: load/validate/save/backup (issues 4, 5). The lock: lock.test.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadState, loadStateSync, resolveStorePath, saveState, DEFAULT_STORE_PATH } from '../../src/store/store.js';
import { validateState } from '../../src/store/schema.js';
import { emptyState, STATE_VERSION, type State } from '../../src/model/types.js';
import { StoreError } from '../../src/model/errors.js';
import { net, port } from '../helpers/one-subnet.js';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l3ctl-store-'));
  tmpDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function sampleState(): State {
  return {
    version: STATE_VERSION,
    config: { router_id: '6a0c1f6e-3a4b-4c55-9d1e-2f3a4b5c6d7e' },
    networks: [
      net({
        id: '0b6c2f3e-1111-4a2b-8c3d-4e5f6a7b8c9d',
        name: 'ext',
        cidr: '203.0.113.0/24',
        gateway_ip: '203.0.113.1',
        external: true,
        bridge: null,
      }),
    ],
    routers: [
      {
        id: '6a0c1f6e-3a4b-4c55-9d1e-2f3a4b5c6d7e',
        name: 'r1',
        admin_state_up: true,
        gateway: port({
          id: 'aa0c1f6e-3a4b-4c55-9d1e-2f3a4b5c6d7e',
          network_id: '0b6c2f3e-1111-4a2b-8c3d-4e5f6a7b8c9d',
          ip_address: '203.0.113.10',
          mac_address: 'fa:16:3e:00:00:01',
          admin_state_up: true,
        }),
        interfaces: [],
        routes: [{ destination: '192.0.2.0/24', nexthop: '203.0.113.5' }],
        ha: false,
        ha_vr_id: null,
      },
    ],
    floatingips: [
      {
        id: 'bb0c1f6e-3a4b-4c55-9d1e-2f3a4b5c6d7e',
        floating_ip_address: '203.0.113.20',
        floating_network_id: '0b6c2f3e-1111-4a2b-8c3d-4e5f6a7b8c9d',
        fixed_ip_address: null,
        router_id: null,
      },
    ],
  };
}

const serialized = (s: State) => JSON.stringify(s, null, 2) + '\n';

// ---------------------------------------------------------------- paths

test('resolveStorePath: --store, then L3CTL_STORE, then the default', () => {
  const saved = process.env.L3CTL_STORE;
  try {
    delete process.env.L3CTL_STORE;
    assert.equal(resolveStorePath(), DEFAULT_STORE_PATH);
    assert.equal(DEFAULT_STORE_PATH, '/var/lib/l3ctl/state.json');
    process.env.L3CTL_STORE = '/tmp/from-env.json';
    assert.equal(resolveStorePath(), '/tmp/from-env.json');
    assert.equal(resolveStorePath('/tmp/from-opt.json'), '/tmp/from-opt.json');
  } finally {
    if (saved === undefined) delete process.env.L3CTL_STORE;
    else process.env.L3CTL_STORE = saved;
  }
});

// ---------------------------------------------------------------- load/save

test('a missing store (and missing directory) loads as the empty state', async () => {
  const dir = tmpDir();
  assert.deepEqual(await loadState(path.join(dir, 'state.json')), emptyState());
  assert.deepEqual(await loadState(path.join(dir, 'no', 'such', 'state.json')), emptyState());
  assert.equal(fs.existsSync(path.join(dir, 'state.json')), false, 'loading must not create the file');
});

test('save then load round-trips, with stable output and a 0700 parent', async () => {
  const dir = tmpDir();
  const p = path.join(dir, 'nested', 'lib', 'state.json');
  const s = sampleState();
  await saveState(p, s);
  assert.equal(fs.readFileSync(p, 'utf8'), serialized(s));
  assert.deepEqual(await loadState(p), s);
  assert.equal(fs.statSync(path.dirname(p)).mode & 0o777, 0o700);
  assert.equal(fs.statSync(p).mode & 0o077, 0, 'a new store is not group/world accessible');
  // Only the store remains: no temp files, no .bak for a first write.
  assert.deepEqual(fs.readdirSync(path.dirname(p)), ['state.json']);
});

test('save keeps the previous good file as .bak', async () => {
  const dir = tmpDir();
  const p = path.join(dir, 'state.json');
  const s1 = sampleState();
  const s2 = { ...sampleState(), routers: [] };
  const s3 = { ...sampleState(), networks: [], routers: [], floatingips: [] };

  await saveState(p, s1);
  assert.equal(fs.existsSync(p + '.bak'), false);
  const inodeBefore = fs.statSync(p).ino;
  await saveState(p, s2);
  // Replaced by a rename, never rewritten in place (readers see old or new).
  assert.notEqual(fs.statSync(p).ino, inodeBefore);
  assert.equal(fs.readFileSync(p + '.bak', 'utf8'), serialized(s1));
  assert.equal(fs.readFileSync(p, 'utf8'), serialized(s2));
  await saveState(p, s3);
  assert.equal(fs.readFileSync(p + '.bak', 'utf8'), serialized(s2));
  assert.equal(fs.readFileSync(p, 'utf8'), serialized(s3));
  // An unchanged save writes nothing, so .bak still holds the last real change.
  await saveState(p, s3);
  assert.equal(fs.readFileSync(p + '.bak', 'utf8'), serialized(s2));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['state.json', 'state.json.bak']);
});

test('save refuses to overwrite a corrupt store, and to write an invalid state', async () => {
  const dir = tmpDir();
  const p = path.join(dir, 'state.json');
  fs.writeFileSync(p, '{"version": 1, "routers": [');
  const before = fs.readFileSync(p);
  await assert.rejects(saveState(p, sampleState()), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.equal(err.exitCode, 5);
    return true;
  });
  assert.deepEqual(fs.readFileSync(p), before);
  assert.equal(fs.existsSync(p + '.bak'), false);

  const q = path.join(dir, 'other.json');
  const bad = { ...sampleState(), routers: 5 } as unknown as State;
  await assert.rejects(saveState(q, bad), /refusing to save an invalid state.*routers/);
  assert.equal(fs.existsSync(q), false);
});

// Each case: what is in the file (or what the path is), and what the message must say.
const corruptCases: { name: string; make: (p: string) => void; expect: RegExp }[] = [
  { name: 'truncated JSON', make: (p) => fs.writeFileSync(p, serialized(sampleState()).slice(0, 120)), expect: /is corrupt: invalid JSON/ },
  { name: 'empty file', make: (p) => fs.writeFileSync(p, ''), expect: /is corrupt: the file is empty/ },
  { name: 'not an object', make: (p) => fs.writeFileSync(p, '[1,2]\n'), expect: /is corrupt: top level: expected Object, got Array/ },
  {
    name: 'wrong shape (routers: 5)',
    make: (p) => fs.writeFileSync(p, JSON.stringify({ ...emptyState(), routers: 5 })),
    expect: /is corrupt: routers: expected Array, got 5/,
  },
  {
    name: 'wrong nested type',
    make: (p) => {
      const s = sampleState() as unknown as { routers: { gateway: { fixed_ips: { ip_address: unknown }[] } }[] };
      s.routers[0].gateway.fixed_ips[0]!.ip_address = 7;
      fs.writeFileSync(p, JSON.stringify(s));
    },
    expect: /is corrupt: routers\[0\]\.gateway\.fixed_ips\[0\]\.ip_address: expected string, got 7/,
  },
  {
    name: 'an array where an object belongs',
    make: (p) => fs.writeFileSync(p, JSON.stringify({ ...emptyState(), config: [] })),
    expect: /is corrupt: config: expected Object, got Array/,
  },
  {
    name: 'missing field',
    make: (p) => {
      const s = sampleState() as unknown as { networks: { subnets: Record<string, unknown>[] }[] };
      delete s.networks[0]!.subnets[0]!.cidr;
      fs.writeFileSync(p, JSON.stringify(s));
    },
    expect: /is corrupt: networks\[0\]\.subnets\[0\]\.cidr: missing field/,
  },
  {
    name: 'unknown field',
    make: (p) => fs.writeFileSync(p, JSON.stringify({ ...emptyState(), extra: true })),
    expect: /is corrupt: extra: unknown field/,
  },
  {
    name: 'newer version',
    make: (p) => fs.writeFileSync(p, JSON.stringify({ ...emptyState(), version: 99, newfield: 1 })),
    expect: /is corrupt: version 99: written by a newer l3ctl/,
  },
  {
    name: 'version 0',
    make: (p) => fs.writeFileSync(p, JSON.stringify({ ...emptyState(), version: 0 })),
    expect: /is corrupt: version: expected a version of at least 1/,
  },
  { name: 'a directory', make: (p) => fs.mkdirSync(p), expect: /^cannot read store .*: it is a directory$/ },
];

/** Byte content of a file, or a marker for a directory: what "untouched" compares. */
function snapshot(p: string): string {
  const st = fs.statSync(p);
  if (st.isDirectory()) return `dir:${st.ino}:${fs.readdirSync(p).join(',')}`;
  return `file:${st.ino}:${st.mtimeMs}:${fs.readFileSync(p).toString('base64')}`;
}

for (const c of corruptCases) {
  test(`loading a store with ${c.name} is exit 5, names the path, leaves the file untouched`, async () => {
    const dir = tmpDir();
    const p = path.join(dir, 'state.json');
    c.make(p);
    const before = snapshot(p);
    await assert.rejects(loadState(p), (err: unknown) => {
      assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
      assert.equal(err.exitCode, 5);
      assert.ok(err.message.includes(p), `path missing from: ${err.message}`);
      assert.match(err.message, c.expect);
      assert.equal(err.hint, undefined, 'no hint without a .bak');
      return true;
    });
    assert.equal(snapshot(p), before);
    // Nothing else appeared beside it either.
    assert.deepEqual(fs.readdirSync(dir), ['state.json']);
    assert.equal(loadStateSync(p), null);
  });
}

test('a store under a path whose parent is a file is unreadable (exit 5)', async () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'file'), 'x');
  const p = path.join(dir, 'file', 'state.json');
  await assert.rejects(loadState(p), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.equal(err.exitCode, 5);
    assert.match(err.message, /^cannot read store .*file\/state\.json: a component of the path is not a directory$/);
    return true;
  });
});

test('the corrupt-store hint names a valid .bak and how to restore it', async () => {
  const dir = tmpDir();
  const p = path.join(dir, 'state.json');
  await saveState(p, sampleState());
  await saveState(p, emptyState()); // .bak := sampleState
  fs.writeFileSync(p, '{"version": 1, "netw'); // simulated damage
  await assert.rejects(loadState(p), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.equal(err.hint, `the previous good store is ${p}.bak; restore it with: cp ${p}.bak ${p}`);
    return true;
  });
  // Following the hint gives a store that loads.
  fs.copyFileSync(p + '.bak', p);
  assert.deepEqual(await loadState(p), sampleState());

  // Paths a shell would split are quoted in the command.
  const q = path.join(dir, "my store's.json");
  await saveState(q, sampleState());
  await saveState(q, emptyState());
  fs.writeFileSync(q, '{');
  await assert.rejects(loadState(q), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.equal(err.hint, `the previous good store is ${q}.bak; restore it with: cp '${dir}/my store'\\''s.json.bak' '${dir}/my store'\\''s.json'`);
    return true;
  });

  // A .bak that is itself corrupt is not recommended.
  fs.writeFileSync(p, 'garbage');
  fs.writeFileSync(p + '.bak', 'garbage too');
  await assert.rejects(loadState(p), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.equal(err.hint, undefined);
    return true;
  });
});

test('loadStateSync: the state when valid, null on any problem, never throws', async () => {
  const dir = tmpDir();
  const p = path.join(dir, 'state.json');
  assert.equal(loadStateSync(p), null, 'missing');
  await saveState(p, sampleState());
  assert.deepEqual(loadStateSync(p), sampleState());
  for (const garbage of ['', '{', 'null', '42', '"x"', '[]', '{"version":1}', JSON.stringify({ ...emptyState(), routers: 5 }), JSON.stringify({ ...emptyState(), routers: [null] }), JSON.stringify({ ...emptyState(), version: 99 })]) {
    fs.writeFileSync(p, garbage);
    assert.equal(loadStateSync(p), null, `for ${JSON.stringify(garbage)}`);
  }
  assert.equal(loadStateSync(dir), null, 'a directory');
});

test('validateState names the field and what was expected', () => {
  assert.deepEqual(validateState(sampleState()), sampleState());
  const s = sampleState() as unknown as { floatingips: Record<string, unknown>[] };
  s.floatingips[0].router_id = 12;
  assert.throws(() => validateState(s), { message: 'floatingips[0].router_id: expected (string | null), got 12' });
  assert.throws(() => validateState({ ...emptyState(), config: { a: 1 } }), { message: 'config.a: expected string, got 1' });
  assert.throws(() => validateState({ ...emptyState(), version: 1.5 }), { message: 'version: expected an integer, got 1.5' });
  assert.throws(() => validateState({ ...emptyState(), routers: 1, networks: 2 }), { message: 'networks: expected Array, got 2 (and 1 more problem)' });
});

type Json = Record<string, any>;

/** sampleState() as an older l3ctl wrote it: version 2 (one cidr per network, one ip_address per port), or 1 (no HA fields either). */
function olderSample(version: 1 | 2): Json {
  const s = structuredClone(sampleState()) as Json;
  s.version = version;
  for (const n of s.networks) {
    const [sn] = n.subnets;
    delete n.subnets;
    Object.assign(n, { cidr: sn.cidr, gateway_ip: sn.gateway_ip });
  }
  const flat = (p: Json) => {
    const ip = p.fixed_ips[0].ip_address;
    delete p.fixed_ips;
    p.ip_address = ip;
  };
  for (const r of s.routers) {
    if (r.gateway) flat(r.gateway);
    r.interfaces.forEach(flat);
    if (version === 1) {
      delete r.ha;
      delete r.ha_vr_id;
    }
  }
  return s;
}

for (const version of [1, 2] as const) {
  test(`a version ${version} store loads as the current version (subnets, fixed IPs${version === 1 ? ', legacy routers' : ''}); the next save writes it so`, async () => {
    assert.equal(STATE_VERSION, 3);
    const dir = tmpDir();
    const p = path.join(dir, 'state.json');
    const text = JSON.stringify(olderSample(version), null, 2) + '\n';
    fs.writeFileSync(p, text);
    const loaded = await loadState(p);
    assert.deepEqual(loaded, sampleState(), 'each network one IPv4 subnet, each port one fixed IP on it, version 3');
    assert.deepEqual(loadStateSync(p), sampleState(), 'completion reads it the same way');
    assert.equal(fs.readFileSync(p, 'utf8'), text, 'loading does not write');
    loaded.routers[0]!.name = 'r2';
    await saveState(p, loaded);
    const saved = JSON.parse(fs.readFileSync(p, 'utf8')) as Json;
    assert.equal(saved.version, 3);
    assert.deepEqual([saved.routers[0]!.ha, saved.routers[0]!.ha_vr_id], [false, null]);
    assert.deepEqual(saved.networks[0].subnets.map((x: Json) => [x.cidr, x.ip_version]), [['203.0.113.0/24', 4]]);
    assert.equal(saved.networks[0].cidr, undefined);
    assert.deepEqual(saved.routers[0].gateway.fixed_ips, [{ subnet_id: saved.networks[0].subnets[0].id, ip_address: '203.0.113.10' }]);
    assert.equal(fs.readFileSync(`${p}.bak`, 'utf8'), text, `the .bak keeps the version ${version} file`);
  });
}

test('an older store that is wrong once migrated says so, naming the version it was', async () => {
  const p = path.join(tmpDir(), 'state.json');
  const v2 = olderSample(2);
  v2.routers[0].gateway.ip_address = '198.51.100.7';
  fs.writeFileSync(p, JSON.stringify(v2));
  await assert.rejects(loadState(p), (e: unknown) => e instanceof StoreError && /\(a version 2 store, checked as version 3\)/.test((e as Error).message));
});

test('migration touches only what it knows: a v1 router already carrying the fields keeps them for the checks', async () => {
  const { migrate, MIGRATIONS, legacySubnetId } = await import('../../src/store/migrate.js');
  assert.deepEqual(MIGRATIONS.map((m) => [m.from, m.to]), [[1, 2], [2, 3]], 'one step per version');
  const v1 = { version: 1, config: {}, networks: [], routers: [{ id: 'x', ha: 'yes' }], floatingips: [] };
  assert.deepEqual(migrate(v1), { version: 3, config: {}, networks: [], routers: [{ id: 'x', ha: 'yes', ha_vr_id: null }], floatingips: [] });
  assert.equal(v1.version, 1, 'the input is not changed');
  // 2 -> 3: unknown fields stay (for the schema to report), the subnet id is the same on every run.
  const v2 = { version: 2, config: {}, networks: [{ id: 'n', name: 'a', cidr: '192.0.2.0/24', gateway_ip: null, external: false, bridge: null, extra: 1 }], routers: [], floatingips: [] };
  const m = migrate(v2) as Json;
  assert.deepEqual(m.networks, [{ id: 'n', name: 'a', subnets: [{ id: legacySubnetId('n'), cidr: '192.0.2.0/24', gateway_ip: null, ip_version: 4, ipv6_ra_mode: null, ipv6_address_mode: null }], external: false, bridge: null, extra: 1 }]);
  assert.equal(legacySubnetId('n'), legacySubnetId('n'));
  assert.match(legacySubnetId('n'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const other of [null, 5, [], { version: 3 }, { version: 99 }, { version: 0 }, { version: '1' }]) assert.equal(migrate(other), other);
});
