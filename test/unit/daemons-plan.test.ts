// Per-router daemons as a kind of step: desired (from store and config),
// observed (a pretend host), one diff into findings and actions, and the
// order apply runs them in (after the NAT rules; stops before the namespace
// goes). No root: a RecordingRunner and the fake Files of fake-host.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveConfig } from '../../src/model/config.js';
import type { State } from '../../src/model/types.js';
import { NO_UPSTREAM_NOTICE, desiredDaemons, observeDaemons, planDaemons, routerFilesDir } from '../../src/agent/daemons.js';
import { convergeRouter, planRouterPass, type ApplyContext } from '../../src/agent/pass.js';
import { checkRouters } from '../../src/agent/check.js';
import { observeStale, removeStale } from '../../src/agent/cleanup.js';
import { findingsOf, noticesOf } from '../../src/agent/steps.js';
import { configDigest, daemonSpec } from '../../src/linux/daemon.js';
import { DryRunFiles } from '../../src/linux/files.js';
import { metadataProxyConfig } from '../../src/linux/haproxy.js';
import { DryRunRunner, RecordingRunner } from '../../src/linux/runner.js';
import { FakeHost } from '../helpers/fake-host.js';
import { net, port } from '../helpers/one-subnet.js';

const RID = '6b1c8f0e-3f4a-4d2b-9c1e-0a1b2c3d4e5f';
const NS = `qrouter-${RID}`;
const NET = 'c0000000-0000-4000-8000-000000000001';
const PORT = 'd0000000-0000-4000-8000-000000000001';
const STORE = '/var/lib/l3ctl/state.json';
const DIR = `${STORE}.d/routers/${RID}`;
const HOST_NS = 'l3ctl-t-unit-host';

function state(o: { port?: boolean; config?: Record<string, string>; up?: boolean } = {}): State {
  return {
    version: 3,
    config: { host_namespace: HOST_NS, external_network_bridge: '', send_arp_for_ha: '0', ...o.config },
    networks: [net({ id: NET, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null })],
    routers: [{
      id: RID,
      name: 'r1',
      admin_state_up: o.up ?? true,
      gateway: null,
      interfaces: o.port === false ? [] : [port({ id: PORT, network_id: NET, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true })],
      routes: [],
      ha: false,
      ha_vr_id: null,
    }],
    floatingips: [],
  };
}

/** A pretend host whose `ip netns add/del` make and remove namespaces, and whose daemons start and die. */
function system() {
  const host = new FakeHost();
  const netns = new Set<string>([HOST_NS]);
  host.addNamespace(HOST_NS);
  const runner = new RecordingRunner((argv) => {
    if (argv.join(' ').startsWith('ip netns add ')) {
      netns.add(argv[3]!);
      host.addNamespace(argv[3]!);
    }
    if (argv.join(' ').startsWith('ip netns del ')) {
      netns.delete(argv[3]!);
      host.namespaces.delete(argv[3]!);
    }
    return host.respond(argv);
  }, netns);
  const ctx = (s: State): ApplyContext => ({ runner, files: host, storePath: STORE, config: effectiveConfig(s.config) });
  return { host, runner, netns, ctx };
}

const isDaemon = (f: { kind: string }) => f.kind.includes('daemon');
const proxyConfig = (upstream: string | null = null, port = 9697) => metadataProxyConfig({ routerId: RID, port, upstream });

describe('daemons in the plan', () => {
  it('files beside the store, one directory per store file and router', () => {
    assert.equal(routerFilesDir('/var/lib/l3ctl/state.json', RID), `/var/lib/l3ctl/state.json.d/routers/${RID}`);
    assert.notEqual(routerFilesDir('/var/lib/l3ctl/lab.json', RID), routerFilesDir('/var/lib/l3ctl/state.json', RID));
    assert.equal(routerFilesDir('relative.json', RID), `${process.cwd()}/relative.json.d/routers/${RID}`);
  });

  it('desired: a proxy only with the option on and an internal port; a notice while no upstream is set', () => {
    const on = effectiveConfig({});
    assert.deepEqual(desiredDaemons(RID, on, null), []);
    const [d] = desiredDaemons(RID, on, 9697);
    assert.equal(d!.kind, 'haproxy');
    assert.equal(d!.config, proxyConfig());
    assert.equal(d!.notice, NO_UPSTREAM_NOTICE);
    const [u] = desiredDaemons(RID, effectiveConfig({ metadata_upstream: 'http://192.0.2.9:8775', metadata_port: '8775' }), 8775);
    assert.equal(u!.config, proxyConfig('http://192.0.2.9:8775', 8775));
    assert.equal(u!.notice, undefined);
    assert.match(u!.role, /port 8775 to http:\/\/192\.0\.2\.9:8775/);
  });

  it('radvd advertises network_device_mtu when it is set, nothing about the MTU when not', () => {
    const ra = [{ device: 'qr-aaaaaaaaaaa', subnets: [{ cidr: '2001:db8:1::/64', raMode: 'slaac' as const }] }];
    const radvdOf = (config: Record<string, string>) => String(desiredDaemons(RID, effectiveConfig(config), null, ra).find((d) => d.kind === 'radvd')!.config);
    assert.match(radvdOf({ network_device_mtu: '1400' }), /^ {4}AdvLinkMTU 1400;$/m);
    assert.doesNotMatch(radvdOf({}), /AdvLinkMTU/);
  });

  it('one diff: missing → start, dead → start, stray → restart, other config → reload, not taken up → reload, unwanted → stop', async () => {
    const { host } = system();
    host.addNamespace(NS);
    const want = [{ kind: 'haproxy' as const, role: 'metadata proxy', config: proxyConfig() }];
    const spec = daemonSpec('haproxy', NS, DIR, proxyConfig());
    const plan = async (w = want) => planDaemons(w, await observeDaemons(host, STORE, RID, NS));
    const summary = async (w = want) => (await plan(w)).map((s) => [s.findings.map((f) => f.kind).join(), s.actions.map((a) => (a.phase === 'daemon' ? a.op : a.phase)).join()]);

    assert.deepEqual(await summary([]), []);
    assert.deepEqual(await summary(), [['missing-daemon', 'start']]);

    await host.write(spec.confPath, spec.config);
    const pid = host.spawn(spec.argv, NS);
    host.files.set(spec.pidPath, `${pid}\n`);
    host.files.set(spec.loadedPath, `${pid} ${configDigest(spec.config)}\n`);
    assert.deepEqual(await summary(), []);

    host.files.set(spec.loadedPath, `${pid} ${configDigest('older')}\n`);
    const notTaken = (await plan())[0]!.findings[0]!;
    assert.deepEqual([notTaken.kind, notTaken.expected, notTaken.live], ['daemon-config', `config ${configDigest(spec.config)} taken up`, `pid ${pid} runs config ${configDigest('older')}`]);
    host.files.set(spec.loadedPath, `${pid} ${configDigest(spec.config)}\n`);

    const other = [{ ...want[0]!, config: proxyConfig(null, 8775) }];
    const changed = (await plan(other))[0]!;
    assert.deepEqual(changed.findings, [{ kind: 'daemon-config', object: 'haproxy', expected: 'bind 0.0.0.0:8775', live: 'bind 0.0.0.0:9697' }]);
    assert.deepEqual(changed.actions, [{ phase: 'daemon', op: 'reload', spec: daemonSpec('haproxy', NS, DIR, proxyConfig(null, 8775)) }]);

    assert.deepEqual(await summary([]), [['extra-daemon', 'stop']]);
    assert.deepEqual((await plan([]))[0]!.findings[0]!.live, `pid ${pid} running`);

    host.procs.get(pid)!.zombie = true;
    const dead = (await plan())[0]!;
    assert.deepEqual(dead.findings, [{ kind: 'daemon-dead', object: 'haproxy', expected: 'metadata proxy', live: `haproxy is not running (pid ${pid} has exited)` }]);
    assert.equal(dead.actions[0]!.phase === 'daemon' && dead.actions[0]!.op, 'start');
    // Dead and unwanted: its files still go.
    assert.deepEqual(await summary([]), [['extra-daemon', 'stop']]);

    const stray = host.spawn(spec.argv, HOST_NS);
    host.files.set(spec.pidPath, `${stray}\n`);
    assert.deepEqual(await summary(), [['daemon-dead', 'restart']]);
  });

  it('a new router: the proxy starts after the NAT rules, with the config beside the store; a second pass does nothing', async () => {
    const { host, runner, ctx } = system();
    const s = state();
    const plans = await convergeRouter(ctx(s), s, RID);
    // The recording runner keeps no kernel: only the daemons are modelled (by the fake host).
    assert.ok(plans.flatMap(findingsOf).some((f) => f.kind === 'missing-namespace'));
    assert.deepEqual(plans.flatMap(noticesOf), [NO_UPSTREAM_NOTICE]);
    const cmds = runner.mutating();
    const restore = cmds.findIndex((c) => c.includes('iptables-restore'));
    const start = cmds.indexOf(`ip netns exec ${NS} haproxy -f ${DIR}/haproxy.conf -p ${DIR}/haproxy.pid -D`);
    assert.ok(restore >= 0 && start > restore, cmds.join('\n'));
    assert.equal(host.files.get(`${DIR}/haproxy.conf`), proxyConfig());
    // The rules that lead to it, in the same restore.
    const payload = runner.calls.find((c) => c.argv.includes('iptables-restore'))!.input!;
    assert.match(payload, /^-A l3ctl-PREROUTING -d 169\.254\.169\.254\/32 -i qr-\+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697$/m);
    assert.match(payload, /^-A l3ctl-INPUT -p tcp -m tcp --dport 9697 -m conntrack ! --ctstate DNAT --ctdir ORIGINAL -j DROP$/m);

    runner.calls.length = 0;
    const again = await planRouterPass(ctx(s), s, effectiveConfig(s.config), RID);
    assert.deepEqual(again.flatMap(findingsOf).filter(isDaemon), []);
  });

  it('check reports a dead proxy; convergence starts it again; the option off stops it and removes its files', async () => {
    const { host, runner, ctx } = system();
    const s = state();
    await convergeRouter(ctx(s), s, RID);
    const pid = Number(host.files.get(`${DIR}/haproxy.pid`));
    host.procs.get(pid)!.zombie = true;
    const [res] = await checkRouters(ctx(s), s, effectiveConfig(s.config), s.routers);
    assert.deepEqual(res!.findings.filter(isDaemon).map((f) => [f.kind, f.object]), [['daemon-dead', 'haproxy']]);
    assert.deepEqual(res!.notices, [NO_UPSTREAM_NOTICE]);
    await convergeRouter(ctx(s), s, RID);
    const again = Number(host.files.get(`${DIR}/haproxy.pid`));
    assert.notEqual(again, pid);
    assert.equal(host.procs.get(again)!.zombie, false);

    const off = state({ config: { enable_metadata_proxy: 'false' } });
    runner.calls.length = 0;
    const plans = await convergeRouter(ctx(off), off, RID);
    assert.deepEqual(plans.flatMap(findingsOf).filter(isDaemon).map((f) => f.kind), ['extra-daemon']);
    assert.deepEqual(plans.flatMap(noticesOf), [], 'no proxy, no notice');
    assert.ok(runner.mutating().includes(`kill -TERM ${again}`));
    assert.equal(host.procs.get(again)!.zombie, true);
    assert.deepEqual([...host.files.keys()].filter((f) => f.startsWith(DIR)), []);
    assert.ok(!host.dirs.has(DIR));
  });

  it('router deleted (or disabled): the proxy is stopped before the namespace is deleted', async () => {
    for (const gone of [{ ...state(), routers: [] }, state({ up: false })]) {
      const { host, runner, ctx } = system();
      const s = state();
      await convergeRouter(ctx(s), s, RID);
      const pid = Number(host.files.get(`${DIR}/haproxy.pid`));
      runner.calls.length = 0;
      const plans = await convergeRouter(ctx(gone), gone, RID);
      assert.deepEqual(plans.flatMap(findingsOf).map((f) => f.kind).filter((k) => k === 'unwanted-namespace' || k.includes('daemon')), ['unwanted-namespace', 'extra-daemon']);
      const cmds = runner.mutating();
      const kill = cmds.indexOf(`kill -TERM ${pid}`);
      const del = cmds.indexOf(`ip netns del ${NS}`);
      assert.ok(kill >= 0 && del > kill, cmds.join('\n'));
      assert.equal(host.files.size, 0);
    }
  });

  it('no internal port: no proxy and no metadata rules', async () => {
    const { host, runner, ctx } = system();
    const s = state({ port: false });
    await convergeRouter(ctx(s), s, RID);
    assert.ok(!runner.mutating().some((c) => c.includes('haproxy')));
    assert.ok(!runner.calls.some((c) => c.input?.includes('REDIRECT')));
    assert.equal(host.files.size, 0);
  });

  it('--dry-run: the config write and the start command are printed; nothing is written or started', async () => {
    const { host, runner, ctx } = system();
    const out: string[] = [];
    const s = state();
    const dry = { ...ctx(s), runner: new DryRunRunner(runner, (l) => out.push(l)), files: new DryRunFiles(host, (l) => out.push(l)) };
    await convergeRouter(dry, s, RID);
    const write = out.find((l) => l.startsWith(`+ write ${DIR}/haproxy.conf\n`));
    assert.ok(write, out.join('\n'));
    assert.match(write!, /^ {2}listen metadata$/m);
    assert.ok(out.includes(`+ ip netns exec ${NS} haproxy -f ${DIR}/haproxy.conf -p ${DIR}/haproxy.pid -D`), out.join('\n'));
    assert.equal(host.files.size, 0);
    assert.equal(runner.mutating().length, 0);
  });

  it('agent cleanup of a namespace whose router is gone from the store finds its proxy by the pid file', async () => {
    const { host, runner, ctx } = system();
    const s = state();
    await convergeRouter(ctx(s), s, RID);
    const pid = Number(host.files.get(`${DIR}/haproxy.pid`));
    const stale = await observeStale(ctx(s), { ns: NS, routerId: RID, owner: { kind: 'unknown' } });
    assert.deepEqual(stale.daemons.map((d) => [d.paths.kind, d.seen.pid]), [['haproxy', pid]]);
    runner.calls.length = 0;
    await removeStale(ctx(s), stale);
    const cmds = runner.mutating();
    assert.ok(cmds.indexOf(`kill -TERM ${pid}`) >= 0 && cmds.indexOf(`ip netns del ${NS}`) > cmds.indexOf(`kill -TERM ${pid}`), cmds.join('\n'));
    assert.equal(host.files.size, 0);
  });
});
