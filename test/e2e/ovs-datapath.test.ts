// HARNESS SELF-TEST (no l3ctl command runs here): proves that the private
// Open vSwitch of test/helpers/ovs.ts carries a router's traffic on this
// machine, built by hand the way the ovs interface driver builds it — the
// agent's plug argv (src/linux/ovs.ts), the internal port moved into the
// router namespace, SNAT and a floating IP — and that the one-read
// observation of the switch sees it. If this file fails, the OVS driver's
// e2e tests cannot mean anything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { sh, shOk, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, e2eUnavailable, namespaces, requireE2E } from '../helpers/e2e.js';
import { ovsUnavailable, startOvs, type PrivateOvs } from '../helpers/ovs.js';
import { connectFrom, ping, startServer, type Server } from '../helpers/peer.js';
import { RealRunner } from '../../src/linux/runner.js';
import { missingBridges, observeOvs, ovsPlugArgv, ovsPortDrift, ovsUnplugArgv, type OvsPort } from '../../src/linux/ovs.js';

const tag = uniqueName('l3t-ovs'); // l3t-ovs-XXXXXX
const hex = tag.slice(-6);
const intBr = `l3t-int-${hex}`;
const exBr = `l3t-ex-${hex}`;
const routerNs = `${tag}-r`;
const vm = `${tag}-vm`;
const up = `${tag}-up`;
const PORT = 47101;

const qr: OvsPort = { bridge: intBr, device: `qr-${hex}-int`, portId: `${hex}00-0000-4000-8000-000000000001`, mac: 'fa:16:3e:00:00:01' };
const qg: OvsPort = { bridge: exBr, device: `qg-${hex}-ext`, portId: `${hex}00-0000-4000-8000-000000000002`, mac: 'fa:16:3e:00:00:02' };
const VM_DEV = `vm-${hex}`;
const UP_DEV = `up-${hex}`;
const FIP = '203.0.113.20';
const VM_IP = '198.51.100.5';

interface Placed {
  dev: string;
  ns: string;
  mac: string;
  cidrs: string[];
  gateway?: string;
}
const placed: Placed[] = [
  { dev: qr.device, ns: routerNs, mac: qr.mac, cidrs: ['198.51.100.1/24'] },
  { dev: qg.device, ns: routerNs, mac: qg.mac, cidrs: ['203.0.113.2/24', `${FIP}/32`] },
  { dev: VM_DEV, ns: vm, mac: 'fa:16:3e:00:00:05', cidrs: [`${VM_IP}/24`, '198.51.100.6/24'], gateway: '198.51.100.1' },
  { dev: UP_DEV, ns: up, mac: 'fa:16:3e:00:00:09', cidrs: ['203.0.113.1/24'] },
];

let ovs: PrivateOvs | undefined;
const servers: Server[] = [];
const savedEnv: Record<string, string | undefined> = {};

interface IpLink {
  ifname: string;
  address: string;
  master?: string;
  flags: string[];
  link_index?: number;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
const links = (ns: string) => JSON.parse(sh(['ip', '-n', ns, '-j', 'addr', 'show']).stdout || '[]') as IpLink[];
const link = (ns: string, dev: string) => links(ns).find((l) => l.ifname === dev);

/** The driver's sequence after the plug argv: MAC, into the namespace, up, addresses. */
function moveIn(p: Placed, hostNs: string): void {
  shOk(['ip', '-n', hostNs, 'link', 'set', p.dev, 'address', p.mac]);
  shOk(['ip', '-n', hostNs, 'link', 'set', p.dev, 'netns', p.ns]);
  shOk(['ip', '-n', p.ns, 'link', 'set', p.dev, 'up']);
  for (const c of p.cidrs) shOk(['ip', '-n', p.ns, 'addr', 'add', c, 'dev', p.dev]);
  if (p.gateway) shOk(['ip', '-n', p.ns, 'route', 'replace', 'default', 'via', p.gateway]);
}

const NAT = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d ${FIP}/32 -j DNAT --to-destination ${VM_IP}
-A OUTPUT -d ${FIP}/32 -j DNAT --to-destination ${VM_IP}
-A POSTROUTING ! -o ${qg.device} -m conntrack ! --ctstate DNAT -j ACCEPT
-A POSTROUTING -s ${VM_IP}/32 -j SNAT --to-source ${FIP}
-A POSTROUTING -s 198.51.100.0/24 -j SNAT --to-source 203.0.113.2
COMMIT
`;

describe('harness self-test: a private Open vSwitch carries a router (ovs-datapath)', { skip: (!!e2eUnavailable() || !!ovsUnavailable()) && !process.env.CI }, () => {
  before(async () => {
    ovs = startOvs();
    // l3ctl's runner passes its environment on: this is how it finds the private database.
    for (const [k, v] of Object.entries(ovs.env)) {
      savedEnv[k] = process.env[k];
      process.env[k] = v;
    }
    ovs.addBridge(intBr);
    ovs.addBridge(exBr);
    for (const n of [routerNs, vm, up]) {
      shOk(['ip', 'netns', 'add', n]);
      shOk(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    // Router ports exactly as the agent plugs them; the test hosts with the helper.
    for (const p of [qr, qg]) shOk(ovsPlugArgv(p, { timeout: 10 }));
    moveIn(placed[0]!, ovs.netns);
    moveIn(placed[1]!, ovs.netns);
    shOk(['ip', '-n', routerNs, 'route', 'replace', 'default', 'via', '203.0.113.1', 'dev', qg.device]);
    shOk(['ip', 'netns', 'exec', routerNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    shOk(['ip', 'netns', 'exec', routerNs, 'iptables-restore'], NAT);
    for (const p of placed.slice(2)) {
      ovs.addInternalPort({ bridge: p.dev === VM_DEV ? intBr : exBr, name: p.dev, ns: p.ns, mac: p.mac });
      for (const c of p.cidrs) shOk(['ip', '-n', p.ns, 'addr', 'add', c, 'dev', p.dev]);
      if (p.gateway) shOk(['ip', '-n', p.ns, 'route', 'replace', 'default', 'via', p.gateway]);
    }
    servers.push(await startServer(up, PORT), await startServer(vm, PORT));
  });

  after(() => {
    for (const s of servers) s.stop();
    ovs?.stop();
    deleteNamespaces([routerNs, vm, up]);
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('starts in well under a second and plugs a port in tens of milliseconds', (t) => {
    if (!requireE2E(t)) return;
    const t0 = performance.now();
    const extra: OvsPort = { bridge: intBr, device: `qr-${hex}-tmp`, portId: 'p-tmp', mac: 'fa:16:3e:00:00:77' };
    shOk(ovsPlugArgv(extra, { timeout: 10 }));
    const plugMs = performance.now() - t0;
    const t1 = performance.now();
    shOk(ovsUnplugArgv(intBr, extra.device));
    const unplugMs = performance.now() - t1;
    t.diagnostic(`private OVS start ${ovs!.startMs.toFixed(0)} ms; plug (add-port, waits for ovs-vswitchd) ${plugMs.toFixed(1)} ms; unplug ${unplugMs.toFixed(1)} ms`);
    assert.ok(ovs!.startMs < 5000, `start took ${ovs!.startMs} ms`);
    assert.equal(link(ovs!.netns, extra.device), undefined, 'unplug removes the tap device');
  });

  it('the observation sees each port on its bridge with the external-ids plug wrote', async (t) => {
    if (!requireE2E(t)) return;
    const obs = await observeOvs(new RealRunner());
    assert.deepEqual([...obs.bridges.get(intBr)!].sort(), [intBr, qr.device, VM_DEV].sort());
    assert.deepEqual([...obs.bridges.get(exBr)!].sort(), [exBr, qg.device, UP_DEV].sort());
    for (const p of [qr, qg]) assert.deepEqual(ovsPortDrift(obs, p), { kind: 'ok' }, p.device);
    assert.equal(obs.interfaces.get(qr.device)!.type, 'internal');
    assert.deepEqual(missingBridges(obs, [intBr, exBr, `l3t-no-${hex}`]), [`l3t-no-${hex}`]);
    // ovs-appctl reaches this ovs-vswitchd only through RUNDIR/ovs-vswitchd.PID.ctl.
    const dpif = ovs!.appctl(['dpif/show']);
    assert.match(dpif, /netdev@ovs-netdev/);
    assert.match(dpif, new RegExp(`${qr.device} \\d+/\\d+: \\(tap\\)`));
  });

  it('a moved internal port looks like a plain link in the namespace and is gone from the host side', (t) => {
    if (!requireE2E(t)) return;
    const l = link(routerNs, qr.device)!;
    assert.equal(l.address, qr.mac);
    assert.ok(l.flags.includes('UP') && l.flags.includes('LOWER_UP'), l.flags.join(','));
    assert.equal(l.master, undefined, 'no master: the userspace datapath is not a kernel device');
    assert.equal(l.link_index, undefined, 'no peer: not a veth');
    assert.deepEqual(l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['198.51.100.1/24']);
    const host = links(ovs!.netns).map((x) => x.ifname);
    assert.ok(!host.includes(qr.device) && host.includes(intBr) && host.includes('ovs-netdev'), host.join(' '));
  });

  it('a VM reaches upstream through SNAT and is reached through its floating IP (ping and TCP)', (t) => {
    if (!requireE2E(t)) return;
    assert.ok(ping(vm, '203.0.113.1'), 'VM → upstream ping');
    assert.ok(ping(up, FIP), 'upstream → FIP ping');
    assert.equal(connectFrom(vm, '203.0.113.1', PORT), FIP, 'VM with a FIP leaves as its FIP');
    assert.equal(connectFromSource(vm, '198.51.100.6', '203.0.113.1', PORT), '203.0.113.2', 'an address without FIP leaves as the gateway IP');
    assert.equal(connectFrom(up, FIP, PORT), '203.0.113.1', 'upstream reaches the VM through the FIP');
  });

  it('restarting ovs-vswitchd strands moved ports; deleting the stale device and moving the fresh one repairs them', (t) => {
    if (!requireE2E(t)) return;
    ovs!.restartVswitchd();
    const stale = link(routerNs, qr.device)!;
    // Up without carrier: no process holds the tap any more (NO-CARRIER shows a moment later).
    assert.ok(stale.flags.includes('UP') && !stale.flags.includes('LOWER_UP'), stale.flags.join(','));
    assert.ok(link(ovs!.netns, qr.device), 'a fresh device of the same name in the switch namespace');
    assert.ok(!ping(vm, '198.51.100.1'), 'no traffic while stranded');
    for (const p of placed) {
      shOk(['ip', '-n', p.ns, 'link', 'del', p.dev]);
      moveIn(p, ovs!.netns);
    }
    shOk(['ip', '-n', routerNs, 'route', 'replace', 'default', 'via', '203.0.113.1', 'dev', qg.device]);
    assert.ok(ping(vm, '203.0.113.1', 2), 'VM → upstream after repair');
    assert.equal(connectFrom(up, FIP, PORT), '203.0.113.1', 'FIP after repair');
  });

  it('stop() deletes the bridges, ends both daemons and removes its namespace and directory', (t) => {
    if (!requireE2E(t)) return;
    const o = ovs!;
    o.stop();
    for (const pid of [o.pids.ovsdbServer, o.pids.ovsVswitchd]) assert.ok(!isAlive(pid), `pid ${pid} still runs`);
    assert.ok(!namespaces().includes(o.netns), 'switch namespace removed');
    assert.ok(!existsSync(o.dir), 'run/db/log directory removed');
    // Bridges were deleted while ovs-vswitchd ran, so it closed the moved ports' taps too.
    assert.equal(link(routerNs, qr.device), undefined, 'no tap device left in the router namespace');
  });
});

function connectFromSource(ns: string, src: string, host: string, port: number): string | null {
  const code = `const c=require('node:net').connect({host:process.argv[1],port:+process.argv[2],localAddress:process.argv[3],timeout:3000});let g='';c.on('data',d=>g+=d);c.on('end',()=>{process.stdout.write(g);process.exit(0)});c.on('timeout',()=>process.exit(2));c.on('error',()=>process.exit(1));`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', code, host, String(port), src], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

function isAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
