// Issue 14: the ovs interface driver on a real Open vSwitch — a private
// ovsdb-server and ovs-vswitchd (userspace netdev datapath) started here in
// the test's host namespace, never the host's own OVS. l3ctl finds it through
// the exported OVS_RUNDIR. The router's ports are OVS internal ports on the
// integration and external bridges; the test's VM and upstream host are
// internal ports on the same bridges.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { l3ctl, l3ctlOk, readStore, sh, shOk, tempStore, uniqueName, type CliOptions } from '../helpers/cli.js';
import { deleteNamespaces, e2eUnavailable, kernelSnapshot, namespaces, requireE2E } from '../helpers/e2e.js';
import { ovsUnavailable, startOvs, type PrivateOvs } from '../helpers/ovs.js';
import { connectFrom, ping, startServer, type Server } from '../helpers/peer.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-ovs'); // l3ctl-t-ovs-XXXXXX
const hex = tag.slice(-6);
const hostNs = `${tag}-h`;
const vm = `${tag}-vm`;
const up = `${tag}-up`;
const intBr = `l3t-i-${hex}`;
const exBr = `l3t-e-${hex}`;
const VM_DEV = `vm-${hex}`;
const UP_DEV = `up-${hex}`;
const PORT = 47201;
const FIP = '203.0.113.20';

let ovs: PrivateOvs | undefined;
let opts: CliOptions = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);
const servers: Server[] = [];
let routerNs = '';
let qr = '';
let qg = '';
let qrPort = { id: '', mac: '' };
let qgPort = { id: '', mac: '' };

interface IpLink {
  ifname: string;
  address: string;
  master?: string;
  flags: string[];
  addr_info: { family: string; local: string; prefixlen: number }[];
}
const links = (ns: string) => JSON.parse(sh(['ip', '-n', ns, '-j', 'addr', 'show']).stdout || '[]') as IpLink[];
const link = (ns: string, dev: string) => links(ns).find((l) => l.ifname === dev);
const inet = (l: IpLink | undefined) => (l?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`).sort();
const vsctl = (args: string[]) => ovs!.vsctl(args).trim();
const portsOn = (br: string) => vsctl(['list-ports', br]).split('\n').filter(Boolean).sort();
const extIds = (dev: string) => vsctl(['get', 'Interface', dev, 'external_ids']);
const ifaceType = (dev: string) => vsctl(['get', 'Interface', dev, 'type']);
/** The switch's ports and their external-ids, for before/after comparisons. */
const switchState = () => [intBr, exBr].map((b) => `${b}: ${portsOn(b).map((p) => `${p} ${p.startsWith('q') ? extIds(p) : ''}`).join(', ')}`).join('\n');

function loadIds(): void {
  const s = JSON.parse(readStore(store.path));
  const r = s.routers[0];
  routerNs = `qrouter-${r.id}`;
  qr = `qr-${r.interfaces[0].id.slice(0, 11)}`;
  qg = `qg-${r.gateway.id.slice(0, 11)}`;
  qrPort = { id: r.interfaces[0].id, mac: r.interfaces[0].mac_address };
  qgPort = { id: r.gateway.id, mac: r.gateway.mac_address };
}

/** A test host (internal port on BRIDGE moved into NS); after an ovs-vswitchd restart the stale device goes first. */
function placeHost(name: string, bridge: string, dev: string, cidr: string, gateway?: string): void {
  if (link(name, dev)) shOk(['ip', '-n', name, 'link', 'del', dev]);
  ovs!.addInternalPort({ bridge, name: dev, ns: name, cidr, gateway });
}
const placeVm = () => placeHost(vm, intBr, VM_DEV, '198.51.100.5/24', '198.51.100.1');
const placeUp = () => placeHost(up, exBr, UP_DEV, '203.0.113.1/24');

/** The VM leaves as its floating IP and is reached through it; both over TCP. */
function assertTraffic(what: string): void {
  assert.ok(ping(vm, '203.0.113.1', 2), `${what}: VM → upstream ping`);
  assert.equal(connectFrom(vm, '203.0.113.1', PORT), FIP, `${what}: VM leaves as its floating IP (SNAT)`);
  assert.equal(connectFrom(up, FIP, PORT), '203.0.113.1', `${what}: upstream reaches the VM through its floating IP (DNAT)`);
}

async function checkNames(dev: string, kind: string): Promise<void> {
  const r = await l3ctl(['agent', 'check', '-f', 'value', '-c', 'kind', '-c', 'object'], opts);
  assert.equal(r.code, 3, `agent check exits 3 on drift: ${r.stdout}${r.stderr}`);
  assert.ok(r.stdout.split('\n').some((l) => l.split(/\s+/).join(' ') === `${kind} ${dev}`), `finding '${kind} ${dev}' in:\n${r.stdout}`);
}

async function syncAndConverged(): Promise<void> {
  await run(['agent', 'sync']);
  const r = await l3ctl(['agent', 'check'], opts);
  assert.equal(r.code, 0, `converged after one sync: ${r.stdout}${r.stderr}`);
}

describe('the ovs interface driver on a private Open vSwitch', { skip: (!!e2eUnavailable() || !!ovsUnavailable()) && !process.env.CI }, () => {
  before(async () => {
    if (e2eUnavailable() || ovsUnavailable()) return;
    ovs = startOvs({ netns: hostNs });
    opts = { store: store.path, env: ovs.env };
    ovs.addBridge(intBr);
    ovs.addBridge(exBr);
    for (const args of [
      ['config', 'set', 'host_namespace', hostNs],
      ['config', 'set', 'send_arp_for_ha', '0'],
      ['config', 'set', 'interface_driver', 'quantum.agent.linux.interface.OVSInterfaceDriver'],
      ['config', 'set', 'ovs_integration_bridge', intBr],
      ['config', 'set', 'external_network_bridge', exBr],
      ['network', 'add', 'ext', '--cidr', '203.0.113.0/24', '--gateway-ip', '203.0.113.1', '--external'],
      ['network', 'add', 'priv', '--cidr', '198.51.100.0/24'],
      ['router', 'add', 'r1'],
      ['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10'],
      ['interface', 'add', 'r1', 'priv'],
      ['fip', 'associate', FIP, '198.51.100.5'],
    ]) await run(args);
    loadIds();
    placeVm();
    placeUp();
    servers.push(await startServer(up, PORT), await startServer(vm, PORT));
  });

  after(async () => {
    for (const s of servers) s.stop();
    if (ovs) await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    // Bridges go while ovs-vswitchd runs, so it removes every port's device, moved ones included.
    ovs?.stop();
    deleteNamespaces([vm, up, routerNs, hostNs].filter(Boolean));
    store.cleanup();
  });

  it('interface_driver ovs is stored under its short name; the integration bridge is a key of its own', async (t) => {
    if (!requireE2E(t)) return;
    assert.equal((await run(['config', 'get', 'interface_driver'])).stdout.trim(), 'ovs');
    assert.equal((await run(['config', 'get', 'ovs_integration_bridge'])).stdout.trim(), intBr);
    assert.equal((await l3ctl(['config', 'set', 'ovs_integration_bridge', 'no spaces allowed'], opts)).code, 2);
    const change = await l3ctl(['config', 'set', 'interface_driver', 'linuxbridge'], opts);
    assert.equal(change.code, 2, 'the driver cannot change under plugged ports');
    assert.match(change.stderr, /cannot change interface_driver while routers have ports/);
  });

  it('plugs qr- on the integration bridge and qg- on the external bridge, with the external-ids the L2 agent reads', (t) => {
    if (!requireE2E(t)) return;
    assert.deepEqual(portsOn(intBr), [qr, VM_DEV].sort());
    assert.deepEqual(portsOn(exBr), [qg, UP_DEV].sort());
    for (const [dev, p] of [[qr, qrPort], [qg, qgPort]] as const) {
      assert.equal(ifaceType(dev), 'internal', dev);
      assert.equal(extIds(dev), `{attached-mac="${p.mac}", iface-id="${p.id}", iface-status=active}`, dev);
      const l = link(routerNs, dev)!;
      assert.ok(l, `${dev} is in the router's namespace`);
      assert.equal(l.address, p.mac, `${dev} has the port's MAC`);
      assert.ok(l.flags.includes('UP') && l.flags.includes('LOWER_UP'), `${dev} up with carrier: ${l.flags}`);
      assert.equal(link(hostNs, dev), undefined, `${dev} is no longer in the switch's namespace`);
    }
    assert.deepEqual(inet(link(routerNs, qr)), ['198.51.100.1/24']);
    assert.deepEqual(inet(link(routerNs, qg)), ['203.0.113.10/24', `${FIP}/32`]);
    assert.ok(!links(hostNs).some((l) => l.ifname.startsWith('brq')), 'no Linux bridges: the networks are the switch\'s');
  });

  it('a VM on the integration bridge reaches an upstream host on the external bridge through SNAT and is reached through its floating IP', (t) => {
    if (!requireE2E(t)) return;
    assertTraffic('plugged');
  });

  it('--dry-run shows the ovs-vsctl plug and the move into the namespace, and changes nothing', async (t) => {
    if (!requireE2E(t)) return;
    await run(['network', 'add', 'n2', '--cidr', '192.0.2.0/24']);
    const storeBefore = readStore(store.path);
    const before = switchState();
    const r = await run(['--dry-run', 'interface', 'add', 'r1', 'n2']);
    assert.match(r.stdout + r.stderr, new RegExp(`\\+ ovs-vsctl --timeout=10 -- --may-exist add-port ${intBr} qr-\\S+ -- set Interface qr-\\S+ type=internal -- set Interface qr-\\S+ external-ids:iface-id=\\S+ -- set Interface qr-\\S+ external-ids:iface-status=active -- set Interface qr-\\S+ external-ids:attached-mac=fa:16:3e:`));
    assert.match(r.stdout + r.stderr, new RegExp(`\\+ ip -n ${hostNs} -batch -\\n  link set qr-\\S+ netns ${routerNs}`));
    assert.equal(readStore(store.path), storeBefore);
    assert.equal(switchState(), before);
    await run(['network', 'delete', 'n2', '--yes']);
  });

  it('a port deleted from its bridge by hand: agent check exits 3 naming it, agent sync puts it back', async (t) => {
    if (!requireE2E(t)) return;
    vsctl(['del-port', intBr, qr]);
    assert.equal(link(routerNs, qr), undefined, 'del-port took the device with it');
    await checkNames(qr, 'missing-device');
    await syncAndConverged();
    assert.deepEqual(portsOn(intBr), [qr, VM_DEV].sort());
    assert.deepEqual(inet(link(routerNs, qr)), ['198.51.100.1/24']);
    assertTraffic('re-plugged');
  });

  it('wrong external-ids are drift and are rewritten in place', async (t) => {
    if (!requireE2E(t)) return;
    vsctl(['set', 'Interface', qg, 'external-ids:iface-id=someone-else', 'external-ids:iface-status=down']);
    await checkNames(qg, 'wrong-external-ids');
    const ifindex = sh(['ip', '-n', routerNs, '-o', 'link', 'show', qg]).stdout.split(':')[0];
    await syncAndConverged();
    assert.equal(extIds(qg), `{attached-mac="${qgPort.mac}", iface-id="${qgPort.id}", iface-status=active}`);
    assert.equal(sh(['ip', '-n', routerNs, '-o', 'link', 'show', qg]).stdout.split(':')[0], ifindex, 'the device was kept');
    assertTraffic('ids rewritten');
  });

  it('a device deleted from the namespace by hand (its record stays): agent sync deletes the port and plugs it again', async (t) => {
    if (!requireE2E(t)) return;
    shOk(['ip', '-n', routerNs, 'link', 'del', qg]);
    assert.ok(portsOn(exBr).includes(qg), 'the record outlives the device');
    await checkNames(qg, 'missing-device');
    await syncAndConverged();
    assert.deepEqual(inet(link(routerNs, qg)), ['203.0.113.10/24', `${FIP}/32`]);
    assert.match(sh(['ip', '-n', routerNs, 'route', 'show', 'default']).stdout, new RegExp(`default via 203.0.113.1 dev ${qg}`));
    assertTraffic('device re-made');
  });

  it('ports stranded by an ovs-vswitchd restart (up, no carrier) are seen and moved back in', async (t) => {
    if (!requireE2E(t)) return;
    ovs!.restartVswitchd();
    assert.ok(!link(routerNs, qr)!.flags.includes('LOWER_UP'), 'stranded: no carrier');
    assert.ok(link(hostNs, qr), 'ovs-vswitchd made a fresh device in its namespace');
    await checkNames(qr, 'no-carrier');
    await checkNames(qg, 'no-carrier');
    await syncAndConverged();
    for (const dev of [qr, qg]) {
      assert.ok(link(routerNs, dev)!.flags.includes('LOWER_UP'), `${dev} has carrier again`);
      assert.equal(link(hostNs, dev), undefined, `${dev} moved out of the switch's namespace`);
    }
    assert.deepEqual(inet(link(routerNs, qg)), ['203.0.113.10/24', `${FIP}/32`]);
    // The test's own hosts were stranded too: placed again by hand.
    placeVm();
    placeUp();
    assertTraffic('after the restart');
  });

  it('external_network_bridge empty moves the gateway onto the integration bridge, and back', async (t) => {
    if (!requireE2E(t)) return;
    await run(['config', 'set', 'external_network_bridge', '']);
    assert.deepEqual(portsOn(intBr), [qg, qr, VM_DEV].sort());
    assert.deepEqual(portsOn(exBr), [UP_DEV]);
    assert.deepEqual(inet(link(routerNs, qg)), ['203.0.113.10/24', `${FIP}/32`]);
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);
    await run(['config', 'set', 'external_network_bridge', exBr]);
    assert.deepEqual(portsOn(exBr), [qg, UP_DEV].sort());
    assertTraffic('back on the external bridge');
  });

  it('a missing bridge: exit 1 naming it, store, kernel and switch unchanged', async (t) => {
    if (!requireE2E(t)) return;
    const storeBefore = readStore(store.path);
    const kernelBefore = kernelSnapshot([routerNs]);
    const switchBefore = switchState();
    for (const [key, missing] of [['external_network_bridge', `l3t-x-${hex}`], ['ovs_integration_bridge', `l3t-y-${hex}`]]) {
      const r = await l3ctl(['config', 'set', key!, missing!], opts);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`error: Open vSwitch bridge '${missing}' does not exist \\(${key}\\)`));
      assert.match(r.stderr, /hint: create it \(ovs-vsctl add-br/);
      assert.equal(readStore(store.path), storeBefore);
      assert.equal(kernelSnapshot([routerNs]), kernelBefore);
      assert.equal(switchState(), switchBefore);
    }
  });

  it('a command that fails between plug and move is rolled back; the half-plugged port is agent sync\'s to remove', async (t) => {
    if (!requireE2E(t)) return;
    await run(['network', 'add', 'n3', '--cidr', '192.0.2.0/24']);
    const storeBefore = readStore(store.path);
    const kernelBefore = kernelSnapshot([routerNs]);
    const r = await l3ctl(['interface', 'add', 'r1', 'n3'], { ...opts, env: { ...ovs!.env, L3CTL_FAULT_INJECT: 'link set qr-\\S+ netns' } });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(readStore(store.path), storeBefore);
    assert.equal(kernelSnapshot([routerNs]), kernelBefore, 'the router is as it was');
    const leftover = portsOn(intBr).filter((p) => p !== qr && p.startsWith('qr-'));
    assert.equal(leftover.length, 1, `the port plugged before the failure: ${portsOn(intBr)}`);
    const check = await l3ctl(['agent', 'check', '-f', 'value', '-c', 'kind', '-c', 'object'], opts);
    assert.equal(check.code, 3);
    assert.match(check.stdout, new RegExp(`^extra-device\\s+${leftover[0]}$`, 'm'));
    await syncAndConverged();
    assert.deepEqual(portsOn(intBr), [qr, VM_DEV].sort());
    assert.equal(link(hostNs, leftover[0]!), undefined);
    await run(['network', 'delete', 'n3', '--yes']);
  });

  it('interface remove and router delete unplug: the ports leave their bridges, no device is left behind', async (t) => {
    if (!requireE2E(t)) return;
    await run(['fip', 'disassociate', FIP]);
    await run(['interface', 'remove', 'r1', 'priv']);
    assert.deepEqual(portsOn(intBr), [VM_DEV]);
    assert.equal(link(routerNs, qr), undefined);
    await run(['router', 'disable', 'r1', '--yes']);
    assert.deepEqual(portsOn(exBr), [UP_DEV], 'disable unplugs the gateway');
    assert.ok(!namespaces().includes(routerNs));
    await run(['router', 'enable', 'r1']);
    assert.deepEqual(portsOn(exBr), [qg, UP_DEV].sort(), 'enable plugs it again');
    await run(['router', 'delete', 'r1', '--yes']);
    assert.deepEqual(portsOn(exBr), [UP_DEV]);
    assert.ok(!namespaces().includes(routerNs), 'namespace gone');
    assert.ok(!links(hostNs).some((l) => /^q[rg]-/.test(l.ifname)), 'no router device in the switch namespace');
    assert.ok(!ping(vm, '203.0.113.1'), 'no route any more');
  });
});
