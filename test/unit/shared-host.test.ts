// Issue 11, the parts that need no kernel: the store registry, who owns a
// router namespace, foreign devices on a bridge, the host settings l3ctl
// wants, the sysctls it plans in the host's real namespace, and which store
// the lab uses. The kernel side is in test/e2e/{cleanup,foreign,lab}.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyNamespaces, describeStale, ownerOf, removable, type StaleNamespace } from '../../src/agent/cleanup.js';
import { desiredRouter } from '../../src/agent/desired.js';
import { foreignDevices, ourTaps } from '../../src/agent/foreign.js';
import { wantedHostSettings } from '../../src/agent/host-settings.js';
import { planRouter } from '../../src/agent/plan.js';
import { chooseLabStore } from '../../src/lab/store.js';
import { absentNs, type ObservedHost, type ObservedLink } from '../../src/linux/observe.js';
import { emptySave } from '../../src/linux/iptables.js';
import { effectiveConfig } from '../../src/model/config.js';
import { emptyState, type State } from '../../src/model/types.js';
import { pruneRegistry, readRegistry, registerStore, registryPath, unregisterStores } from '../../src/store/registry.js';
import { tempStore } from '../helpers/cli.js';
import { net, port as v2port } from '../helpers/one-subnet.js';

const EXT = 'e0000000-0000-4000-8000-000000000001';
const PRIV = 'e0000000-0000-4000-8000-000000000002';
const R1 = 'a0000000-0000-4000-8000-000000000001';
const R2 = 'a0000000-0000-4000-8000-000000000002';
const STRAY = 'a0000000-0000-4000-8000-000000000009';
const PORT = 'b0000000-0000-4000-8000-000000000001';
const GW = 'b0000000-0000-4000-8000-000000000002';

function state(config: Record<string, string> = {}): State {
  const s = emptyState();
  s.config = config;
  s.networks.push(
    net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
    net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
  );
  const port = (id: string, net: string, ip: string) => v2port({ id, network_id: net, ip_address: ip, mac_address: 'fa:16:3e:00:00:01', admin_state_up: true });
  s.routers.push(
    { id: R1, name: 'r1', admin_state_up: true, gateway: port(GW, EXT, '203.0.113.10'), interfaces: [port(PORT, PRIV, '198.51.100.1')], routes: [], ha: false, ha_vr_id: null },
    { id: R2, name: 'r2', admin_state_up: false, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null },
  );
  return s;
}

const dirs: { cleanup(): void }[] = [];
after(() => dirs.forEach((d) => d.cleanup()));
const temp = () => {
  const t = tempStore();
  dirs.push(t);
  return t;
};

describe('store registry', () => {
  it('defaults to /var/lib/l3ctl/stores.json; L3CTL_REGISTRY moves it (tests run with one of their own)', () => {
    assert.equal(registryPath({}), '/var/lib/l3ctl/stores.json');
    assert.equal(registryPath({ L3CTL_REGISTRY: '/tmp/x.json' }), '/tmp/x.json');
    assert.notEqual(registryPath(), '/var/lib/l3ctl/stores.json', 'helpers/cli.ts keeps tests off the host registry');
  });

  it('a store registers once, by absolute real path; unregister removes it; the file is the documented format', async () => {
    const t = temp();
    const reg = join(t.dir, 'stores.json');
    writeFileSync(t.path, '{}');
    symlinkSync(t.path, join(t.dir, 'link.json'));
    assert.equal(await registerStore(t.path, reg), true);
    assert.equal(await registerStore(join(t.dir, 'link.json'), reg), false, 'the same store under another name');
    const data = JSON.parse(readFileSync(reg, 'utf8'));
    assert.equal(data.version, 1);
    assert.deepEqual(data.stores.map((e: { path: string }) => e.path), [t.path]);
    assert.ok(!Number.isNaN(Date.parse(data.stores[0].since)));
    assert.ok(!existsSync(`${reg}.lock`), 'the lock is released');
    await unregisterStores([t.path], reg);
    assert.deepEqual(await readRegistry(reg), []);
  });

  it('prune drops stores whose file is gone and keeps the others', async () => {
    const t = temp();
    const reg = join(t.dir, 'stores.json');
    const gone = join(t.dir, 'gone.json');
    writeFileSync(t.path, '{}');
    writeFileSync(gone, '{}');
    await registerStore(t.path, reg);
    await registerStore(gone, reg);
    rmSync(gone);
    const r = await pruneRegistry(reg);
    assert.deepEqual(r.pruned, [gone]);
    assert.deepEqual(r.entries.map((e) => e.path), [t.path]);
    assert.deepEqual((await readRegistry(reg)).map((e) => e.path), [t.path]);
  });

  it('a corrupt registry is exit 5 naming the file; a missing one is empty', async () => {
    const t = temp();
    const reg = join(t.dir, 'stores.json');
    assert.deepEqual(await readRegistry(reg), []);
    writeFileSync(reg, '{"version": 1, "stores": [{"path": "relative.json", "since": "x"}]}');
    await assert.rejects(readRegistry(reg), (e: Error & { exitCode?: number }) => e.exitCode === 5 && e.message === `store registry ${reg} is corrupt: stores[0] is not {path: absolute path, since: time}`);
    await assert.rejects(registerStore(t.path, reg), /is corrupt/);
  });
});

describe('who owns a router namespace', () => {
  const all = [`qrouter-${R1}`, `qrouter-${R2}`, `qrouter-${STRAY}`, 'qrouter-nope', 'other'];

  it('handled here; another store; this store but not handled; nobody', () => {
    const s = state();
    const c = effectiveConfig(s.config);
    const others = new Map([[STRAY, '/var/lib/l3ctl/lab.json']]);
    assert.deepEqual(ownerOf(R1, s, c, others), { kind: 'handled' });
    assert.deepEqual(ownerOf(STRAY, s, c, others), { kind: 'other-store', store: '/var/lib/l3ctl/lab.json' });
    assert.deepEqual(ownerOf(R2, s, c, others), { kind: 'not-handled', router: 'r2', reason: 'admin-down' });
    assert.deepEqual(ownerOf(STRAY, s, c, new Map()), { kind: 'unknown' });
    // Disabled here, but another store has it: theirs.
    assert.deepEqual(ownerOf(R2, s, c, new Map([[R2, '/x.json']])), { kind: 'other-store', store: '/x.json' });
    const cls = classifyNamespaces(all, s, c, others);
    assert.deepEqual(cls.candidates.map((x) => x.ns), [`qrouter-${R2}`]);
    assert.deepEqual(cls.otherStores, [{ ns: `qrouter-${STRAY}`, store: '/var/lib/l3ctl/lab.json' }]);
  });

  it('removable: ours not handled always; unknown only when empty, or with --force', () => {
    const ns = (owner: StaleNamespace['owner'], devices: string[], pids: string[]): StaleNamespace => ({ ns: `qrouter-${STRAY}`, routerId: STRAY, owner, devices, pids, ports: [], daemons: [] });
    const unknown = { kind: 'unknown' } as const;
    assert.equal(removable(ns(unknown, [], []), false), true);
    assert.equal(removable(ns(unknown, ['qr-x'], []), false), false);
    assert.equal(removable(ns(unknown, [], ['42']), false), false);
    assert.equal(removable(ns(unknown, ['eth0'], ['42']), true), true);
    assert.equal(removable(ns({ kind: 'not-handled', router: 'r2', reason: 'admin-down' }, ['qr-x'], []), false), true);
    assert.equal(describeStale(ns(unknown, ['qr-x', 'qg-y'], ['42'])), `qrouter-${STRAY} (devices qr-x, qg-y; processes 42)`);
  });
});

describe('foreign devices on a bridge about to go', () => {
  const link = (name: string, master: string | null): [string, ObservedLink] => [name, { name, mac: '', up: true, carrier: true, master, addrs: [] }];
  const brPriv = `brq${PRIV.slice(0, 11)}`;
  const host: ObservedHost = {
    ns: 'h',
    exists: true,
    links: new Map([link(brPriv, null), link(`tap${PORT.slice(0, 11)}`, brPriv), link('vm1-eth', brPriv), link('elsewhere', 'brqother'), link('br-op', null), link('x', 'br-op')]),
  };
  const s = state();

  it('our taps are not foreign; anything else with master = the bridge is', () => {
    const priv = s.networks.find((n) => n.id === PRIV)!;
    assert.deepEqual(foreignDevices(host, [priv], ourTaps(s)), [{ network: priv, bridge: brPriv, devices: ['vm1-eth'] }]);
    assert.deepEqual(foreignDevices(host, [priv], new Set()).map((f) => f.devices), [[`tap${PORT.slice(0, 11)}`, 'vm1-eth']]);
  });

  it("an operator's bridge (--bridge) is never deleted, so never checked; a missing bridge neither", () => {
    const op = net({ id: EXT, name: 'op', cidr: '192.0.2.0/24', gateway_ip: null, external: false, bridge: 'br-op' });
    const gone = { ...op, id: 'f0000000-0000-4000-8000-00000000000f', bridge: null };
    assert.deepEqual(foreignDevices(host, [op, gone], new Set()), []);
  });
});

describe('host settings and the sysctls l3ctl plans', () => {
  it('use_namespaces true in the host namespace: bridge netfilter, the operator\'s to set', () => {
    const w = wantedHostSettings(effectiveConfig({}));
    assert.deepEqual(w.map((x) => [x.namespace, x.setting, x.wanted, x.set_by]), [[null, 'net.bridge.bridge-nf-call-iptables', '0', 'operator']]);
    assert.deepEqual(wantedHostSettings(effectiveConfig({ host_namespace: 'h' })), [], 'a namespace of its own has an empty FORWARD chain');
  });

  it('use_namespaces false: ip_forward set by l3ctl; the rest by l3ctl only in a namespace of its own', () => {
    const real = wantedHostSettings(effectiveConfig({ use_namespaces: 'false', router_id: R1 }));
    assert.deepEqual(real.map((x) => [x.setting, x.set_by]), [
      ['net.ipv4.ip_forward', 'l3ctl'],
      ['net.ipv4.conf.all.promote_secondaries', 'operator'],
      ['net.ipv4.conf.all.arp_ignore', 'operator'],
      ['net.bridge.bridge-nf-call-iptables', 'operator'],
    ]);
    const own = wantedHostSettings(effectiveConfig({ use_namespaces: 'false', router_id: R1, host_namespace: 'h' }));
    assert.ok(own.every((x) => x.set_by === 'l3ctl' && x.namespace === 'h'));
  });

  const sysctlsPlanned = (config: Record<string, string>) => {
    const s = state({ ...config, use_namespaces: 'false', router_id: R1, external_network_bridge: '', enable_metadata_proxy: 'false' });
    const c = effectiveConfig(s.config);
    const d = desiredRouter(s, c, s.routers[0]!);
    const obs = { ...absentNs(c.host_namespace), exists: true, iptables: emptySave() };
    const host: ObservedHost = { ns: c.host_namespace, exists: true, links: new Map() };
    return planRouter(d, obs, { host, ovs: null }, { sendArp: false }).steps.flatMap((x) => x.actions).filter((a) => a.phase === 'sysctl');
  };

  it("in the host's real namespace only ip_forward is written, with a warning", () => {
    const a = sysctlsPlanned({});
    assert.deepEqual(a.map((x) => x.phase === 'sysctl' && x.setting), ['net.ipv4.ip_forward=1']);
    assert.match((a[0] as { warning?: string }).warning ?? '', /^setting net\.ipv4\.ip_forward=1 in the host's own namespace/);
  });

  it('in a host_namespace of its own: ip_forward, promote_secondaries and arp_ignore, no warning', () => {
    const a = sysctlsPlanned({ host_namespace: 'h' });
    assert.deepEqual(a.map((x) => x.phase === 'sysctl' && x.setting), ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.promote_secondaries=1', 'net.ipv4.conf.all.arp_ignore=1']);
    assert.ok(a.every((x) => !(x as { warning?: string }).warning));
  });
});

describe('the lab store', () => {
  it('--store when given; else its own default, never L3CTL_STORE (said once)', () => {
    assert.deepEqual(chooseLabStore('/tmp/lab.json', { L3CTL_STORE: '/op.json' }), { path: '/tmp/lab.json', explicit: true });
    assert.deepEqual(chooseLabStore(undefined, {}), { path: '/var/lib/l3ctl/lab.json', explicit: false });
    const s = chooseLabStore(undefined, { L3CTL_STORE: '/op.json' });
    assert.equal(s.path, '/var/lib/l3ctl/lab.json');
    assert.match(s.note!, /^L3CTL_STORE \(\/op\.json\) is not used by the lab; its store is \/var\/lib\/l3ctl\/lab\.json/);
  });
});
