// `agent cleanup` with interface_driver ovs: deleting a namespace leaves the
// Open vSwitch records of the ports inside it, so cleanup deletes them from
// their bridges first. Like cleanup.test.ts, l3ctl runs in a private mount
// namespace with its own empty /run/netns (unscoped cleanup would otherwise
// see everyone's qrouter- namespaces); the private Open vSwitch's namespace is
// bound into it by its ovs-vswitchd's /proc entry.
import { mutatingCommands } from '../helpers/dryrun.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BIN, tempStore, uniqueName, type CliResult } from '../helpers/cli.js';
import { e2eUnavailable, requireE2E } from '../helpers/e2e.js';
import { ovsUnavailable, startOvs, type PrivateOvs } from '../helpers/ovs.js';
import { ovsPlugArgv } from '../../src/linux/ovs.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-ovsc');
const hex = tag.slice(-6);
const hostNs = `${tag}-h`;
const intBr = `l3t-ci-${hex}`;
const exBr = `l3t-ce-${hex}`;
const stale = `qrouter-${randomUUID()}`;
const staleQr = 'qr-stale00001';
const staleQg = 'qg-stale00001';
let holder: ChildProcess | null = null;
let ovs: PrivateOvs | undefined;

const inside = (argv: string[]) => ['nsenter', '-m', '-t', String(holder!.pid), ...argv];
function sh(argv: string[], env: Record<string, string> = {}): CliResult {
  const a = inside(argv);
  const r = spawnSync(a[0]!, a.slice(1), { encoding: 'utf8', input: '', env: { ...process.env, LC_ALL: 'C', ...ovs!.env, ...env }, timeout: 60_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function shOk(argv: string[]): string {
  const r = sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
const l3ctl = (args: string[]) => sh([process.execPath, BIN, ...args], { L3CTL_STORE: store.path });
function run(args: string[]): CliResult {
  const r = l3ctl(args);
  if (r.code !== 0) throw new Error(`l3ctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}
const namespaces = () => shOk(['ls', '/run/netns']).split('\n').filter(Boolean);
const portsOn = (br: string) => ovs!.vsctl(['list-ports', br]).split('\n').filter(Boolean).sort();
const devices = (ns: string) => (JSON.parse(shOk(['ip', '-n', ns, '-j', 'link', 'show']) || '[]') as { ifname: string }[]).map((l) => l.ifname);

describe('agent cleanup with the ovs driver (in a private /run/netns)', { skip: (!!e2eUnavailable() || !!ovsUnavailable()) && !process.env.CI }, () => {
  let managed = '';
  let qr = '';

  before(async () => {
    if (e2eUnavailable() || ovsUnavailable()) return;
    ovs = startOvs({ netns: hostNs });
    ovs.addBridge(intBr);
    ovs.addBridge(exBr);
    const pid = ovs.pids.ovsVswitchd;
    holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
      `mount -t tmpfs l3ctl-test /run/netns && touch /run/netns/${hostNs} && mount --bind /proc/${pid}/ns/net /run/netns/${hostNs} && exec sleep 600`], { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      if (sh(['findmnt', '-n', '-o', 'SOURCE', '/run/netns']).stdout.trim() === 'l3ctl-test' && sh(['ls', '/run/netns']).stdout.includes(hostNs)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(namespaces(), [hostNs], 'private /run/netns holds only the switch namespace');
    for (const args of [
      ['config', 'set', 'host_namespace', hostNs],
      ['config', 'set', 'send_arp_for_ha', '0'],
      ['config', 'set', 'interface_driver', 'ovs'],
      ['config', 'set', 'ovs_integration_bridge', intBr],
      ['config', 'set', 'external_network_bridge', exBr],
      ['network', 'add', 'priv', '--cidr', '198.51.100.0/24'],
      ['router', 'add', 'r1'],
      ['interface', 'add', 'r1', 'priv'],
    ]) run(args);
    const s = JSON.parse(readFileSync(store.path, 'utf8')) as { routers: { id: string; interfaces: { id: string }[] }[] };
    managed = `qrouter-${s.routers[0]!.id}`;
    qr = `qr-${s.routers[0]!.interfaces[0]!.id.slice(0, 11)}`;
    // A router namespace left behind with two plugged ports, as an agent leaves one it no longer knows.
    shOk(['ip', 'netns', 'add', stale]);
    for (const [dev, br, mac] of [[staleQr, intBr, 'fa:16:3e:00:0c:01'], [staleQg, exBr, 'fa:16:3e:00:0c:02']] as const) {
      shOk(ovsPlugArgv({ bridge: br, device: dev, portId: randomUUID(), mac }, { timeout: 10 }));
      shOk(['ip', '-n', hostNs, 'link', 'set', dev, 'netns', stale]);
    }
  });

  after(() => {
    if (holder) {
      for (const n of namespaces()) if (n !== hostNs) sh(['ip', 'netns', 'del', n]);
      holder.kill('SIGKILL');
    }
    ovs?.stop();
    store.cleanup();
  });

  it('deletes the stale namespace\'s ports from their bridges, then the namespace; the managed router keeps its port', (t) => {
    if (!requireE2E(t)) return;
    assert.deepEqual(portsOn(intBr), [qr, staleQr].sort());
    // Nobody's, and still holding devices: kept without --force (issue 11).
    assert.match(run(['agent', 'cleanup', '--yes']).stderr, new RegExp(`keeping 1 router namespace\\(s\\) no store on this host owns`));
    assert.ok(namespaces().includes(stale));
    const dry = run(['agent', 'cleanup', '--force', '--dry-run']);
    assert.ok(dry.stderr.includes(`  ${stale} (devices ${staleQg}, ${staleQr})`), dry.stderr);
    const cmds = mutatingCommands(dry.stdout).filter((l) => l.startsWith('+ '));
    assert.deepEqual(cmds, [
      `+ ovs-vsctl --timeout=10 -- --if-exists del-port ${intBr} ${staleQr}`,
      `+ ovs-vsctl --timeout=10 -- --if-exists del-port ${exBr} ${staleQg}`,
      `+ ip netns del ${stale}`,
    ]);
    assert.deepEqual(portsOn(intBr), [qr, staleQr].sort(), 'dry run changed nothing');

    const r = run(['agent', 'cleanup', '--force', '--yes']);
    assert.match(r.stderr, new RegExp(`removed ${stale}`));
    assert.ok(!namespaces().includes(stale), 'stale namespace gone');
    assert.deepEqual(portsOn(intBr), [qr], 'its qr- record is gone, the managed one stays');
    assert.deepEqual(portsOn(exBr), [], 'its qg- record is gone');
    assert.ok(devices(managed).includes(qr), 'the managed router keeps its device');
    assert.equal(l3ctl(['agent', 'check']).code, 0);
    assert.match(run(['agent', 'cleanup']).stderr, /no stale router namespaces/);
  });
});
