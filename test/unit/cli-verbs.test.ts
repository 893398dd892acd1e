// Every verb called in-process as a function of its typed options and an IO
// (test/helpers/inproc.ts testIO): a bad argument is a UsageError (exit 2)
// with the store untouched and no program run; a good one changes the store,
// runs the kernel commands through the runner, and prints table, json, value
// or -c columns on the IO's stdout. No root, no kernel: a recording runner.
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { HAND_WRITTEN } from '../helpers/error-cases.js';
import { scriptedPrompter, testIO } from '../helpers/inproc.js';
import { readStore, tempStore } from '../helpers/cli.js';
import { RecordingRunner } from '../../src/linux/runner.js';
import { emptyRead } from '../helpers/empty-reads.js';
import { EXIT, L3ctlError, UsageError } from '../../src/model/errors.js';
import type { State } from '../../src/model/types.js';
import { networkAdd, networkDelete, networkList, networkShow } from '../../src/cli/network.js';
import { routerAdd, routerDelete, routerDisable, routerEnable, routerExec, routerList, routerShow } from '../../src/cli/router.js';
import { interfaceAdd, interfaceList, interfaceRemove } from '../../src/cli/interface.js';
import { gatewayClear, gatewaySet } from '../../src/cli/gateway.js';
import { fipAdd, fipAssociate, fipDelete, fipDisassociate, fipList } from '../../src/cli/fip.js';
import { routeAdd, routeDelete, routeList } from '../../src/cli/route.js';
import { subnetDelete } from '../../src/cli/subnet.js';
import { configGet, configList, configSet, configUnset } from '../../src/cli/config.js';
import { agentStatus, agentSync } from '../../src/cli/agent.js';
import { completion, completionScript } from '../../src/cli/completion.js';
import type { IOInit } from '../../src/cli/io.js';
import { net, port } from '../helpers/one-subnet.js';

const R1 = 'e0000004-0000-4000-8000-000000000004';
const EXT = 'e0000001-0000-4000-8000-000000000001';
const store = tempStore();
after(() => store.cleanup());
// No metadata proxy: these tests are about the CLI, not haproxy (a recording runner starts no daemon).
const FIXTURE: State = { ...HAND_WRITTEN, config: { ...HAND_WRITTEN.config, enable_metadata_proxy: 'false' } };
const text = JSON.stringify(FIXTURE, null, 2) + '\n';
beforeEach(() => writeFileSync(store.path, text));
const stored = (): State => JSON.parse(readFileSync(store.path, 'utf8')) as State;

type Over = Partial<Omit<IOInit, 'runner'>> & { runner?: RecordingRunner };

function setup(over: Over = {}) {
  return testIO({ storePath: store.path, ...over });
}

/** The verb fails with a usage error (exit 2) matching `message`; nothing changed, nothing ran, nothing printed. */
async function refused(call: (t: ReturnType<typeof setup>) => Promise<unknown>, message: RegExp, over: Over = {}): Promise<void> {
  const t = setup(over);
  await assert.rejects(call(t), (e: L3ctlError) => e instanceof UsageError && e.exitCode === EXIT.usage && message.test(e.message));
  assert.equal(readStore(store.path), text, 'store untouched');
  assert.deepEqual(t.runner.calls, [], 'no program run');
  assert.equal(t.stdout(), '');
}

/** Every command that changes something, with what it was fed on stdin. */
const mutating = (r: RecordingRunner) => r.calls.filter((c) => !c.read).map((c) => `${c.argv.join(' ')}\n${c.input ?? ''}`).join('\n');

describe('network', () => {
  it('add: a bad CIDR is exit 2; a good one is stored, its bridge made, the object printed', async () => {
    await refused(({ io }) => networkAdd({ name: 'n9', cidr: '198.51.100.0/33' }, io), /invalid CIDR '198\.51\.100\.0\/33'/);
    await refused(({ io }) => networkAdd({ name: 'n9', cidr: '192.0.2.128/25', bridge: 'a bridge name too long' }, io), /invalid bridge name/);
    const t = setup({ format: 'json' });
    await networkAdd({ name: 'n9', cidr: '192.0.2.128/25', id: 'e0000000-0000-4000-8000-0000000000aa' }, t.io);
    const n = stored().networks.find((x) => x.name === 'n9')!;
    const sn = { id: n.subnets[0]!.id, cidr: '192.0.2.128/25', gateway_ip: '192.0.2.129', ip_version: 4, ipv6_ra_mode: null, ipv6_address_mode: null };
    assert.deepEqual(n, { id: 'e0000000-0000-4000-8000-0000000000aa', name: 'n9', subnets: [sn], external: false, bridge: null });
    assert.deepEqual(JSON.parse(t.stdout()), { id: n.id, name: 'n9', cidr: '192.0.2.128/25', gateway_ip: '192.0.2.129', 'router:external': false, bridge: 'brqe0000000-00', subnets: [{ ...sn, ip_version: 4 }] });
    assert.match(mutating(t.runner), /link add brqe0000000-00 type bridge/);
  });

  it('add with host bits set warns and stores the network address', async () => {
    const t = setup({ format: 'value', columns: ['cidr'] });
    await networkAdd({ name: 'n9', cidr: '192.0.2.130/25' }, t.io);
    assert.equal(t.stdout(), '192.0.2.128/25\n');
    assert.match(t.stderr(), /^l3ctl: warning: 192\.0\.2\.130\/25 has host bits set; using 192\.0\.2\.128\/25/);
  });

  it('delete: in use is exit 2 even with --yes; without a terminal it needs --yes (exit 6); on one it asks', async () => {
    await refused(({ io }) => networkDelete({ network: 'priv' }, io), /network 'priv' is in use by router r1/, { yes: true });
    const noTty = setup();
    await assert.rejects(networkDelete({ network: 'n3' }, noTty.io), (e: L3ctlError) => e.exitCode === EXIT.declined && /confirmation needed/.test(e.message));
    assert.equal(readStore(store.path), text);
    const no = scriptedPrompter({ confirm: [false] });
    await assert.rejects(networkDelete({ network: 'n3' }, setup({ interactive: true, prompter: no.prompter }).io), (e: L3ctlError) => e.exitCode === EXIT.declined);
    assert.deepEqual(no.asked.map((a) => a.message), ["Delete network 'n3' (192.0.2.0/25)?"]);
    assert.equal(readStore(store.path), text);
    const yes = scriptedPrompter({ confirm: [true] });
    const t = setup({ interactive: true, prompter: yes.prompter });
    await networkDelete({ network: 'n3' }, t.io);
    assert.deepEqual(stored().networks.map((n) => n.name), ['ext', 'priv', 'over']);
    assert.equal(t.stderr(), 'deleted network n3\n');
  });

  it('list and show: table (plain when not a terminal), json, value, -c', async () => {
    const table = setup();
    await networkList({}, table.io);
    assert.match(table.stdout(), /^Name +CIDR +Gateway IP +External +Routers\n/);
    assert.match(table.stdout(), /^priv +198\.51\.100\.0\/24 +198\.51\.100\.1 +no +r1$/m);
    assert.equal(table.stdout().trimEnd().split('\n').length, 5);
    const json = setup({ format: 'json', columns: ['name', 'cidr'] });
    await networkList({}, json.io);
    assert.deepEqual(JSON.parse(json.stdout()), [
      { name: 'ext', cidr: '203.0.113.0/24' },
      { name: 'priv', cidr: '198.51.100.0/24' },
      { name: 'n3', cidr: '192.0.2.0/25' },
      { name: 'over', cidr: '198.51.100.0/25' },
    ]);
    const value = setup({ format: 'value', columns: ['router:external', 'name'] });
    await networkShow({ network: 'ext' }, value.io);
    assert.equal(value.stdout(), 'true\text\n');
    await refused(({ io }) => networkShow({ network: 'nope' }, io), /unknown network 'nope'/);
    await refused(({ io }) => networkList({}, io), /unknown column 'nope'/, { columns: ['nope'] });
  });
});

describe('subnet', () => {
  it('delete SUBNET: by CIDR or id prefix across networks; a CIDR two networks share needs the id; in use is exit 2', async () => {
    await refused(({ io }) => subnetDelete({ subnet: '198.51.100.0/24' }, io), /subnet 198\.51\.100\.0\/24 of network 'priv' is in use by an interface of router 'r1'/);
    await refused(({ io }) => subnetDelete({ subnet: '192.0.2.64/26' }, io), /unknown subnet '192\.0\.2\.64\/26'/);
    const n3 = FIXTURE.networks.find((n) => n.name === 'n3')!;
    const t = setup();
    await subnetDelete({ subnet: n3.subnets[0]!.id.slice(0, 6).toUpperCase() }, t.io);
    assert.deepEqual(stored().networks.find((n) => n.name === 'n3')!.subnets, []);
    assert.equal(t.stderr(), 'deleted subnet 192.0.2.0/25 of network n3\n');

    // Tenants may reuse a CIDR behind different routers: then the CIDR names no one subnet.
    const twin = net({ id: 'e00000aa-0000-4000-8000-0000000000aa', name: 'n3b', cidr: '192.0.2.0/25', gateway_ip: '192.0.2.1', external: false, bridge: null });
    const shared = JSON.stringify({ ...FIXTURE, networks: [...FIXTURE.networks, twin] }, null, 2) + '\n';
    writeFileSync(store.path, shared);
    const amb = setup();
    await assert.rejects(subnetDelete({ subnet: '192.0.2.0/25' }, amb.io), (e: L3ctlError) =>
      e instanceof UsageError && /^subnet '192\.0\.2\.0\/25' is ambiguous: it matches 192\.0\.2\.0\/25 of network 'n3', 192\.0\.2\.0\/25 of network 'n3b'$/.test(e.message) && e.hint!.includes(twin.subnets[0]!.id));
    assert.equal(readStore(store.path), shared);
    await subnetDelete({ subnet: twin.subnets[0]!.id }, setup().io);
    assert.deepEqual(stored().networks.filter((n) => n.subnets.some((x) => x.cidr === '192.0.2.0/25')).map((n) => n.name), ['n3']);
  });
});

describe('router', () => {
  it('add: a bad name or id is exit 2; a new router is stored, its namespace made, its row printed', async () => {
    await refused(({ io }) => routerAdd({ name: 'a b' }, io), /invalid router name 'a b'/);
    await refused(({ io }) => routerAdd({ name: 'r9', id: '1234' }, io), /invalid router id '1234'/);
    await refused(({ io }) => routerAdd({ name: 'r1', disabled: true }, io), /already exists with a different definition/);
    const t = setup({ format: 'value', columns: ['name', 'admin_state_up', 'interfaces'] });
    await routerAdd({ name: 'r9', id: 'e0000000-0000-4000-8000-0000000000bb' }, t.io);
    assert.equal(t.stdout(), 'r9\ttrue\t0\n');
    assert.ok(stored().routers.some((r) => r.id === 'e0000000-0000-4000-8000-0000000000bb' && r.admin_state_up));
    assert.match(mutating(t.runner), /netns add qrouter-e0000000-0000-4000-8000-0000000000bb/);
  });

  it('add again with the same definition re-applies and exits 0', async () => {
    const t = setup({ format: 'value', columns: ['id'] });
    await routerAdd({ name: 'r1' }, t.io);
    assert.equal(t.stdout(), `${R1}\n`);
    assert.deepEqual(stored(), FIXTURE);
  });

  it('--dry-run: nothing stored, nothing printed but the plan', async () => {
    const t = setup({ dryRun: true });
    await routerAdd({ name: 'r9' }, t.io);
    assert.equal(readStore(store.path), text);
    assert.equal(t.stdout(), '');
  });

  it('delete with ports: confirmation needed without a terminal; --yes deletes and disassociates its FIPs', async () => {
    await refused(({ io }) => routerDelete({ router: ['r2'] }, io), /unknown router 'r2'/, { yes: true });
    await assert.rejects(routerDelete({ router: ['r1'] }, setup().io), (e: L3ctlError) => e.exitCode === EXIT.declined && /Delete 'r1' with ports or floating IPs/.test(e.message));
    assert.equal(readStore(store.path), text);
    // Its namespace exists (and reads as empty): it is torn down.
    const runner = new RecordingRunner((argv) => ({ stdout: emptyRead(argv) }), new Set([`qrouter-${R1}`]));
    const t = setup({ yes: true, runner });
    await routerDelete({ router: ['r1'] }, t.io);
    assert.deepEqual(stored().routers, []);
    assert.deepEqual(stored().floatingips.map((f) => [f.router_id, f.fixed_ip_address]), [[null, null]]);
    assert.equal(mutating(t.runner).trim(), `ip netns del qrouter-${R1}`);
    assert.equal(t.stderr(), 'deleted router r1\n');
  });

  it('list: json with the API fields; an unknown column is exit 2', async () => {
    const t = setup({ format: 'json' });
    await routerList({}, t.io);
    assert.deepEqual(JSON.parse(t.stdout()), [{
      id: R1, name: 'r1', admin_state_up: true,
      external_gateway_info: { network_id: EXT, external_fixed_ips: [{ subnet_id: stored().networks.find((n) => n.id === EXT)!.subnets[0]!.id, ip_address: '203.0.113.10' }] },
      interfaces: 1, routes: 1, floating_ips: 1, ha: false, ha_state: null,
    }]);
  });

  it('show: desired and live (no namespace: nothing live), drift named', async () => {
    const t = setup({ format: 'json' });
    await routerShow({ router: 'r1' }, t.io);
    const v = JSON.parse(t.stdout()) as { namespace: string; live: { namespace: string | null }; desired: { devices: string[] }; drift: unknown[] };
    assert.equal(v.namespace, `qrouter-${R1}`);
    assert.equal(v.live.namespace, null);
    assert.ok(v.desired.devices.some((d) => /^qr-e0000006-00 198\.51\.100\.1\/24$/.test(d)), JSON.stringify(v.desired.devices));
    assert.ok(v.drift.length > 0, 'a missing namespace is drift');
    const text = setup();
    await routerShow({ router: 'r1' }, text.io);
    assert.match(text.stdout(), /^namespace +qrouter-\S+ \(missing\)$/m);
    assert.match(text.stdout(), /^drift \(agent sync would change\):$/m);
  });

  it('enable and disable flip the admin state and converge the router', async () => {
    const t = setup();
    await routerDisable({ router: 'r1' }, t.io);
    assert.equal(stored().routers[0]!.admin_state_up, false);
    assert.equal(t.stderr(), 'router r1 disabled\n');
    const u = setup();
    await routerEnable({ router: R1.slice(0, 8) }, u.io);
    assert.equal(stored().routers[0]!.admin_state_up, true);
    assert.match(mutating(u.runner), new RegExp(`netns add qrouter-${R1}`));
  });

  it("exec: the command in the router's namespace, its exit status returned; a missing namespace is exit 1", async () => {
    await assert.rejects(routerExec({ router: 'r1', command: ['true'] }, setup().io), (e: L3ctlError) => e.exitCode === 1 && /namespace qrouter-\S+ of router 'r1' does not exist/.test(e.message));
    const runner = new RecordingRunner(() => ({ exitCode: 7 }), new Set([`qrouter-${R1}`]));
    const t = setup({ runner });
    assert.equal(await routerExec({ router: 'r1', command: ['sh', '-c', 'exit 7'] }, t.io), 7);
    assert.deepEqual(runner.calls.map((c) => c.argv), [['ip', 'netns', 'exec', `qrouter-${R1}`, 'sh', '-c', 'exit 7']]);
  });
});

describe('interface and gateway', () => {
  it('interface add: external network, bad IP, second port refused; a new port printed', async () => {
    await refused(({ io }) => interfaceAdd({ router: 'r1', network: 'ext' }, io), /network 'ext' is external/);
    await refused(({ io }) => interfaceAdd({ router: 'r1', network: 'n3', ip: ['198.51.100.7'] }, io), /interface IP 198\.51\.100\.7 on network 'n3' is outside/);
    await refused(({ io }) => interfaceAdd({ router: 'r1', network: 'n3', mac: 'zz' }, io), /invalid MAC address 'zz'/);
    await refused(({ io }) => interfaceAdd({ router: 'r1', network: 'priv', ip: ['198.51.100.9'] }, io), /already has a port on network 'priv'/);
    const t = setup({ format: 'value', columns: ['ip_address', 'device'] });
    await interfaceAdd({ router: 'r1', network: 'n3', id: 'e0000000-0000-4000-8000-0000000000cc' }, t.io);
    assert.equal(t.stdout(), '192.0.2.1\tqr-e0000000-00\n');
    assert.match(mutating(t.runner), /qr-e0000000-00/);
  });

  it('interface remove with a FIP and a route behind it: confirmed (exit 6 without a terminal), then both go with it; list per router', async () => {
    await assert.rejects(interfaceRemove({ router: 'r1', networkOrPort: 'priv' }, setup().io), (e: L3ctlError) =>
      e.exitCode === EXIT.declined && e.message === "confirmation needed: Remove the interface of router 'r1' on 'priv' (floating IP 203.0.113.20 disassociated, route 192.0.2.128/25 deleted with it); no terminal to ask on");
    assert.equal(readStore(store.path), text);
    const y = setup({ yes: true });
    await interfaceRemove({ router: 'r1', networkOrPort: 'priv' }, y.io);
    assert.deepEqual(stored().routers[0]!.interfaces, []);
    assert.deepEqual(stored().routers[0]!.routes, []);
    assert.deepEqual(stored().floatingips.map((f) => [f.router_id, f.fixed_ip_address]), [[null, null]]);
    assert.match(y.stderr(), /^removed interface qr-e0000006-00 \(198\.51\.100\.1\) from router r1; floating IP 203\.0\.113\.20 disassociated, route 192\.0\.2\.128\/25 deleted$/m);
    writeFileSync(store.path, text);
    const t = setup({ format: 'value', columns: ['ip_address'] });
    await interfaceList({ router: 'r1' }, t.io);
    assert.equal(t.stdout(), '198.51.100.1\n');
  });

  it('interface remove again (a re-run): a network or subnet the router is not on is done, exit 0; an unknown one is exit 2', async () => {
    for (const ref of ['n3', '192.0.2.0/25']) {
      const t = setup();
      await interfaceRemove({ router: 'r1', networkOrPort: ref }, t.io);
      assert.equal(t.stderr(), `router r1 has no interface on '${ref}'; nothing to remove\n`);
      assert.equal(readStore(store.path), text);
      assert.deepEqual(t.runner.calls, []);
    }
    await refused(({ io }) => interfaceRemove({ router: 'r1', networkOrPort: 'n33' }, io), /router 'r1' has no interface on 'n33'/);
  });

  it('gateway set: an internal network is exit 2; clear: refused while FIPs use it', async () => {
    await refused(({ io }) => gatewaySet({ router: 'r1', network: 'priv' }, io), /network 'priv' is not external/);
    await refused(({ io }) => gatewaySet({ router: 'r1', network: 'ext', ip: ['203.0.113.1'] }, io), /already used by the gateway IP of network 'ext'/);
    await refused(({ io }) => gatewayClear({ router: 'r1' }, io), /gateway is in use by floating IP 203\.0\.113\.20/);
    const t = setup({ format: 'json', columns: ['external_gateway_info'] });
    await gatewaySet({ router: 'r1', network: 'ext', ip: ['203.0.113.11'] }, t.io);
    const extSubnet = stored().networks.find((n) => n.id === EXT)!.subnets[0]!.id;
    assert.deepEqual(JSON.parse(t.stdout()), { external_gateway_info: { network_id: EXT, external_fixed_ips: [{ subnet_id: extSubnet, ip_address: '203.0.113.11' }] } });
    assert.equal(stored().routers[0]!.gateway!.fixed_ips[0]!.ip_address, '203.0.113.11');
  });
});

describe('fip', () => {
  it('add: outside every external network is exit 2; the first free address otherwise', async () => {
    await refused(({ io }) => fipAdd({ ip: '198.51.100.77' }, io), /floating IP 198\.51\.100\.77 is on no external network/);
    const t = setup({ format: 'value', columns: ['floating_ip_address', 'status'] });
    await fipAdd({}, t.io);
    assert.equal(t.stdout(), '203.0.113.2\tDOWN\n');
  });

  it('associate: the router holding FIXED_IP is found; the mapping printed and applied', async () => {
    await refused(({ io }) => fipAssociate({ fip: '203.0.113.21', fixedIp: '198.51.100.300' }, io), /invalid fixed IP/);
    await refused(({ io }) => fipAssociate({ fip: '203.0.113.21', fixedIp: '192.0.2.9' }, io), /fixed IP 192\.0\.2\.9 is on no router's internal subnet/);
    const t = setup({ format: 'json', columns: ['floating_ip_address', 'fixed_ip_address', 'router_id', 'status'] });
    await fipAssociate({ fip: '203.0.113.21', fixedIp: '198.51.100.6' }, t.io);
    assert.deepEqual(JSON.parse(t.stdout()), { floating_ip_address: '203.0.113.21', fixed_ip_address: '198.51.100.6', router_id: R1, status: 'ACTIVE' });
    assert.match(mutating(t.runner), /203\.0\.113\.21/);
  });

  it('associate: a fixed IP on subnets of several routers needs --router (exit 2 naming them)', async () => {
    // A second router behind its own copy of 198.51.100.0/24 (tenants reuse address space).
    const s = structuredClone(FIXTURE);
    s.networks.push(net({ id: 'e0000000-0000-4000-8000-0000000000d1', name: 'priv2', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }));
    s.routers.push({ id: 'e0000000-0000-4000-8000-0000000000d2', name: 'r2', admin_state_up: true, gateway: null, routes: [], ha: false, ha_vr_id: null,
      interfaces: [port({ id: 'e0000000-0000-4000-8000-0000000000d3', network_id: 'e0000000-0000-4000-8000-0000000000d1', ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:d3', admin_state_up: true })] });
    writeFileSync(store.path, JSON.stringify(s));
    const before = readStore(store.path);
    const t = setup();
    await assert.rejects(fipAssociate({ fip: '203.0.113.21', fixedIp: '198.51.100.6' }, t.io), (e: L3ctlError) =>
      e.exitCode === EXIT.usage && e.message === 'fixed IP 198.51.100.6 is on subnets of several routers: r1, r2: expected --router to say which' &&
      e.hint === 'l3ctl fip associate 203.0.113.21 198.51.100.6 --router r1');
    assert.equal(readStore(store.path), before);
    assert.deepEqual(t.runner.calls, []);
  });

  it('disassociate, delete and list', async () => {
    await refused(({ io }) => fipDelete({ fip: '203.0.113.2' }, io), /unknown floating IP '203\.0\.113\.2'/);
    const d = setup({ format: 'value', columns: ['fixed_ip_address', 'router_id'] });
    await fipDisassociate({ fip: '203.0.113.20' }, d.io);
    assert.equal(d.stdout(), '\t\n');
    const l = setup({ format: 'json' });
    await fipList({ router: 'r1' }, l.io);
    assert.deepEqual(JSON.parse(l.stdout()), []);
    const x = setup();
    await fipDelete({ fip: '203.0.113.20' }, x.io);
    assert.deepEqual(stored().floatingips, []);
    assert.equal(x.stderr(), 'deleted floating IP 203.0.113.20\n');
  });
});

describe('route and config', () => {
  it('route add / delete / list', async () => {
    await refused(({ io }) => routeAdd({ router: 'r1', destination: '192.0.2.300/24', nexthop: '198.51.100.254' }, io), /invalid destination/);
    await refused(({ io }) => routeAdd({ router: 'r1', destination: '192.0.2.128/25', nexthop: '192.0.2.9' }, io), /nexthop 192\.0\.2\.9 of route 192\.0\.2\.128\/25 is on none of the subnets of router 'r1'/);
    const t = setup({ format: 'json' });
    await routeAdd({ router: 'r1', destination: '192.0.2.128/25', nexthop: '198.51.100.253' }, t.io);
    assert.equal(t.stderr(), 'route 192.0.2.128/25 via 198.51.100.253 on router r1\n');
    assert.deepEqual(JSON.parse(t.stdout()), { router_id: R1, destination: '192.0.2.128/25', nexthop: '198.51.100.253' });
    assert.match(mutating(t.runner), /route replace 192\.0\.2\.128\/25 via 198\.51\.100\.253/);
    const l = setup({ format: 'value' });
    await routeList({}, l.io);
    assert.equal(l.stdout(), `${R1}\t192.0.2.128/25\t198.51.100.253\n`);
    const gone = setup();
    await routeDelete({ router: 'r1', destination: '192.0.2.0/26' }, gone.io);
    assert.equal(gone.stderr(), 'router r1 has no route to 192.0.2.0/26; nothing to delete\n');
  });

  it('config set ha_network: a network not made yet is a warning (the setup may name it first); an unfit one is exit 2', async () => {
    await refused(({ io }) => configSet({ key: 'ha_network', value: 'priv' }, io), /ha_network 'priv' is not dedicated to HA: router 'r1' has an interface on it/);
    const t = setup();
    await configSet({ key: 'ha_network', value: 'hanet' }, t.io);
    assert.equal(stored().config.ha_network, 'hanet');
    assert.match(t.stderr(), /^ha_network = hanet\nl3ctl: warning: ha_network 'hanet' is not a network of this store yet: HA routers need it \(l3ctl network add hanet /);
    // Made first, then named: no warning.
    const n3 = setup();
    await configSet({ key: 'ha_network', value: 'n3' }, n3.io);
    assert.equal(n3.stderr(), 'ha_network = n3\n');
  });

  it('config get / set / unset / list', async () => {
    await refused(({ io }) => configSet({ key: 'send_arp_for_hb', value: '1' }, io), /unknown config key 'send_arp_for_hb'/);
    await refused(({ io }) => configSet({ key: 'use_namespaces', value: 'maybe' }, io), /expected true or false/);
    const g = setup();
    await configGet({ key: 'send_arp_for_ha' }, g.io);
    assert.equal(g.stdout(), '0\n');
    const s = setup();
    await configSet({ key: 'periodic_interval', value: '10' }, s.io);
    assert.equal(stored().config.periodic_interval, '10');
    assert.equal(s.stderr(), 'periodic_interval = 10\n');
    const u = setup();
    await configUnset({ key: 'periodic_interval' }, u.io);
    assert.equal(stored().config.periodic_interval, undefined);
    const l = setup({ format: 'json', columns: ['key', 'source'] });
    await configList({}, l.io);
    assert.deepEqual((JSON.parse(l.stdout()) as { key: string; source: string }[]).find((r) => r.key === 'host_namespace'), { key: 'host_namespace', source: 'store' });
  });
});

describe('agent and completion', () => {
  it('agent status: the state report, with the host the IO gives', async () => {
    const t = setup({ format: 'json', columns: ['host', 'binary'] });
    await agentStatus({}, t.io);
    assert.deepEqual(JSON.parse(t.stdout()), { host: 'test-host', binary: 'l3ctl' });
  });

  it('agent sync: every router converged through the runner, one summary line', async () => {
    const t = setup();
    await agentSync({ router: [] }, t.io);
    assert.match(t.stderr(), /^synced 1 router\(s\), 1 changed$/m);
    assert.match(mutating(t.runner), new RegExp(`netns add qrouter-${R1}`));
  });

  it('completion prints the shipped script', async () => {
    const t = setup({ quiet: true });
    await completion({ shell: 'fish' }, t.io);
    assert.equal(t.stdout(), completionScript('fish'));
  });
});

describe('HA routers are IPv4 only (issue 19 with issue 20)', () => {
  const HA_R = 'e00000a1-0000-4000-8000-0000000000a1';
  const DUAL = 'e00000a2-0000-4000-8000-0000000000a2';
  const SIX = 'e00000a3-0000-4000-8000-0000000000a3';
  /** The fixture with an HA network, an HA router without ports, a dual-stack network and an IPv6-only one. */
  function haText(): string {
    const s = structuredClone(FIXTURE);
    s.config = { ...s.config, ha_network: 'ha', ha_node_address: '169.254.192.7' };
    s.networks.push(net({ id: 'e00000a0-0000-4000-8000-0000000000a0', name: 'ha', cidr: '169.254.192.0/18', gateway_ip: null, external: false, bridge: null }));
    const dual = net({ id: DUAL, name: 'dual', cidr: '192.0.2.128/26', gateway_ip: '192.0.2.129', external: false, bridge: null });
    dual.subnets.push({ id: 'e00000b2-0000-4000-8000-0000000000b2', cidr: '2001:db8:2::/64', gateway_ip: '2001:db8:2::1', ip_version: 6, ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' });
    const six = { id: SIX, name: 'six', subnets: [{ id: 'e00000b3-0000-4000-8000-0000000000b3', cidr: '2001:db8:3::/64', gateway_ip: '2001:db8:3::1', ip_version: 6 as const, ipv6_ra_mode: null, ipv6_address_mode: null }], external: false, bridge: null };
    s.networks.push(dual, six);
    // Disabled: nothing of it runs (no keepalived under a recording runner), its store still counts.
    s.routers.push({ id: HA_R, name: 'rha', admin_state_up: false, gateway: null, interfaces: [], routes: [], ha: true, ha_vr_id: 1 });
    return JSON.stringify(s, null, 2) + '\n';
  }

  it('an IPv6 address for an HA router is exit 2 with the store unchanged; on a dual-stack network it takes the IPv4 subnet alone, with a warning', async () => {
    const before = haText();
    writeFileSync(store.path, before);
    for (const [call, message] of [
      [(io: ReturnType<typeof setup>['io']) => interfaceAdd({ router: 'rha', network: 'six' }, io), /^network 'six' \(2001:db8:3::\/64\) is IPv6 and router 'rha' is an HA router: HA routers are IPv4 only/],
      [(io: ReturnType<typeof setup>['io']) => interfaceAdd({ router: 'rha', network: 'dual', ip: ['2001:db8:2::9'] }, io), /^interface IP 2001:db8:2::9 is IPv6 and router 'rha' is an HA router/],
    ] as const) {
      const t = setup();
      await assert.rejects(call(t.io), (e: L3ctlError) => e instanceof UsageError && e.exitCode === EXIT.usage && message.test(e.message) && /legacy router/.test(e.hint ?? ''));
      assert.equal(readStore(store.path), before, 'store untouched');
    }
    const t = setup({ format: 'value', columns: ['ip_address'] });
    await interfaceAdd({ router: 'rha', network: 'dual' }, t.io);
    assert.equal(t.stdout(), '192.0.2.129\n', 'the IPv4 address only');
    assert.deepEqual(stored().routers.find((x) => x.name === 'rha')!.interfaces[0]!.fixed_ips.map((f) => f.ip_address), ['192.0.2.129']);
    assert.match(t.stderr(), /warning: router 'rha' gets no address on 2001:db8:2::\/64: HA routers are IPv4 only/);
  });

  it('a store or document with an IPv6 address on an HA router port fails the whole-state check', async () => {
    const { stateProblems } = await import('../../src/model/validate.js');
    const s = JSON.parse(haText()) as State;
    const r = s.routers.find((x) => x.name === 'rha')!;
    r.interfaces.push({ id: 'e00000c1-0000-4000-8000-0000000000c1', network_id: DUAL, fixed_ips: [{ subnet_id: 'e00000b2-0000-4000-8000-0000000000b2', ip_address: '2001:db8:2::1' }], mac_address: 'fa:16:3e:00:00:c1', admin_state_up: true });
    assert.deepEqual(stateProblems(s).map((p) => p.message), ["interface 2001:db8:2::1 of HA router 'rha' is IPv6: HA routers are IPv4 only (IPv6 is off in their namespace; a dual-stack network gives them its IPv4 subnet alone)"]);
  });
});
