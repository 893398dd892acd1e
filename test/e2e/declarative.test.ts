// Issue 17 on a real kernel: a site built by commands, exported, wiped and
// applied again is the same store (ids, MACs) and the same kernel, and
// carries traffic; diff after export is empty; a second apply runs no
// mutating command; an invalid document is exit 2 with every problem named
// and nothing changed; a failure half-way through an apply is rolled back
// whole; --prune removes exactly what the file lacks.
import { isReadLine, mutatingCommands } from '../helpers/dryrun.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { BIN, l3ctl, l3ctlOk, readStore, tempStore, uniqueName, type CliResult } from '../helpers/cli.js';
import { addTestHost, baseCommands, deleteNamespaces, e2eUnavailable, kernelSnapshot, namespaces, removeTestKernel, requireE2E } from '../helpers/e2e.js';
import { connectFrom, startServer, type Server } from '../helpers/peer.js';
import { STATE_VERSION } from '../../src/model/types.js';

const store = tempStore();
const opts = { store: store.path };
const tag = uniqueName('l3ctl-t-decl');
const hostNs = `${tag}-h`;
const up = `${tag}-up`;
const vm = `${tag}-vm`;
const PORT = 47117;
// r3 exists only in documents (the failure test): a fixed id, so its namespace is known.
const R3_ID = '3d3d3d3d-1717-4717-8717-171717171717';
const R3_NS = `qrouter-${R3_ID}`;
const file = (name: string) => join(store.dir, name);
const servers: Server[] = [];

interface Stored {
  networks: { id: string; name: string }[];
  routers: { id: string; name: string }[];
  floatingips: { floating_ip_address: string }[];
}
const stored = () => JSON.parse(readStore(store.path)) as Stored;
const routerNs = () => stored().routers.map((r) => `qrouter-${r.id}`);
let knownNs: string[] = [];
/**
 * The host namespace and every router namespace this test has had. Bridge
 * and tap MACs are left out: the kernel picks them (a bridge takes its
 * lowest port MAC, the host end of a veth is random), l3ctl neither keeps
 * nor sets them.
 */
const snapshot = () => kernelSnapshot([...new Set([hostNs, ...knownNs, R3_NS])]).replace(/^(link (brq|tap)\S+) \S+/gm, '$1 <mac>');

/** An `l3ctl: error:` line of stderr, the file's name and line taken off: `routers[0].name: …`. */
const problemLines = (r: CliResult, name: string) =>
  r.stderr.split('\n').filter((l) => l.startsWith('l3ctl: error: ')).map((l) => l.slice('l3ctl: error: '.length).replace(new RegExp(`^${name.replace(/\./g, '\\.')}:\\d+: `), ''));

/** Commands `-v` shows (argv only) that are not reads: what changed the kernel. */
const mutatingOf = (lines: string[]) => lines.filter((l) => l.startsWith('+ ')).map((l) => l.replace(/\s+\(.*\)$/, '')).filter((l) => !isReadLine(l));

/** The exported document as an object, to be changed by a test and written back as YAML. */
async function exported(): Promise<Record<string, any>> {
  return parseYaml((await l3ctlOk(['export'], opts)).stdout) as Record<string, any>;
}
const writeDoc = (name: string, o: unknown) => {
  writeFileSync(file(name), toYaml(o));
  return file(name);
};

/** l3ctl on a pseudo-terminal (util-linux script): stdout and stderr together. */
function onTty(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const { CI: _ci, NO_COLOR: _nc, ...rest } = process.env;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...rest, L3CTL_STORE: store.path, TERM: 'xterm', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out });
    });
    child.stdin.end();
  });
}

describe('export, diff, apply on a real kernel', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    if (e2eUnavailable()) return;
    for (const args of [
      ...baseCommands(hostNs),
      ['network', 'add', 'priv', '--cidr', '198.51.100.0/24'],
      ['network', 'add', 'n2', '--cidr', '192.0.2.0/25'],
      ['router', 'add', 'r1'],
      ['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10'],
      ['interface', 'add', 'r1', 'priv'],
      ['route', 'add', 'r1', '192.0.2.128/25', '198.51.100.254'],
      ['fip', 'associate', '203.0.113.20', '198.51.100.5'],
      ['router', 'add', 'r2'],
      ['gateway', 'set', 'r2', 'ext', '--ip', '203.0.113.11'],
      ['interface', 'add', 'r2', 'n2'],
      ['fip', 'associate', '203.0.113.21', '192.0.2.5'],
    ]) {
      await l3ctlOk([...args, '-q'], opts);
    }
    knownNs = routerNs();
  });

  after(async () => {
    for (const s of servers) s.stop();
    // Through l3ctl first, so that what it runs per router (a metadata proxy) stops with the router.
    let names: string[] = [];
    try {
      names = stored().routers.map((r) => r.name);
    } catch {
      // no readable store: the namespaces below are all there is to remove
    }
    if (names.length) await l3ctl(['router', 'delete', ...names, '--yes'], opts);
    removeTestKernel(store.path, [...knownNs, R3_NS, up, vm]);
    deleteNamespaces([hostNs]);
    store.cleanup();
  });

  it('diff right after export: nothing, exit 0 (YAML and JSON)', async (t) => {
    if (!requireE2E(t)) return;
    await l3ctlOk(['export', '-o', file('site.yaml')], opts);
    await l3ctlOk(['export', '-o', file('site.json')], opts);
    const json = JSON.parse((await l3ctlOk(['export', '-f', 'json'], opts)).stdout) as Record<string, unknown>;
    assert.equal(json.apiVersion, 'l3ctl/v1');
    assert.ok(!('host_namespace' in (json.config as object)), 'a per-node option is not exported');
    for (const f of ['site.yaml', 'site.json']) {
      const r = await l3ctl(['diff', file(f)], opts);
      assert.equal(r.code, 0, `${f}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });

  it('a second apply of the same file runs no mutating command; --dry-run prints only reads', async (t) => {
    if (!requireE2E(t)) return;
    const before = readStore(store.path);
    const r = await l3ctlOk(['-v', 'apply', file('site.yaml')], opts);
    const ran = r.stderr.split('\n');
    assert.ok(ran.filter((l) => l.startsWith('+ ')).length > 0, 'the routers were observed');
    assert.deepEqual(mutatingOf(ran), []);
    assert.match(r.stderr, /site\.yaml: no change; 2 routers checked in /);
    assert.equal(readStore(store.path), before);
    const dry = await l3ctlOk(['--dry-run', 'apply', file('site.json')], opts);
    const printed = dry.stdout.split('\n').filter(Boolean);
    assert.ok(printed.length > 0);
    assert.deepEqual(mutatingCommands(dry.stdout), [], dry.stdout);
    // From standard input too.
    const piped = await l3ctlOk(['apply', '-'], { ...opts, input: (await l3ctlOk(['export'], opts)).stdout });
    assert.match(piped.stderr, /<stdin>: no change/);
  });

  it('a document an older l3ctl wrote (store version 2: one cidr per network, one ip_address per port) is the same site: no change', async (t) => {
    if (!requireE2E(t)) return;
    const before = readStore(store.path);
    const o = await exported();
    o.storeVersion = 2;
    for (const n of o.networks) {
      const [sn] = n.subnets;
      delete n.subnets;
      Object.assign(n, { cidr: sn.cidr, gateway_ip: sn.gateway_ip });
    }
    const flat = (p: Record<string, any>) => {
      p.ip_address = p.fixed_ips[0].ip_address;
      delete p.fixed_ips;
    };
    for (const r of o.routers) {
      if (r.gateway) flat(r.gateway);
      r.interfaces.forEach(flat);
    }
    const path = writeDoc('old.yaml', o);
    const diff = await l3ctl(['diff', path], opts);
    assert.equal(diff.code, 0, diff.stdout + diff.stderr);
    const r = await l3ctlOk(['-v', 'apply', path], opts);
    assert.deepEqual(mutatingOf(r.stderr.split('\n')), []);
    assert.match(r.stderr, /old\.yaml: no change/);
    assert.equal(readStore(store.path), before);
  });

  it('round trip: wipe everything, apply the export: the same store and kernel, and traffic through it', async (t) => {
    if (!requireE2E(t)) return;
    const [storeBefore, kernelBefore] = [readStore(store.path), snapshot()];
    for (const args of [['fip', 'delete', '203.0.113.20', '--yes'], ['fip', 'delete', '203.0.113.21', '--yes'], ['router', 'delete', 'r1', 'r2', '--yes'], ['network', 'delete', 'priv', '--yes'], ['network', 'delete', 'n2', '--yes'], ['network', 'delete', 'ext', '--yes']]) {
      await l3ctlOk([...args, '-q'], opts);
    }
    assert.deepEqual(stored().routers, []);
    assert.ok(knownNs.every((ns) => !namespaces().includes(ns)), 'the router namespaces are gone');
    assert.notEqual(snapshot(), kernelBefore);

    const r = await l3ctlOk(['apply', file('site.yaml')], opts);
    assert.match(r.stderr, /^\+ router r1$/m);
    assert.match(r.stderr, /^\+ fip 203\.0\.113\.20 → 198\.51\.100\.5 \(router r1\)$/m);
    assert.match(r.stderr, /site\.yaml: 12 added, 0 changed, 0 removed; 2 routers converged in /);
    assert.equal(readStore(store.path), storeBefore, 'the same store: ids, MACs, addresses, order');
    assert.equal(snapshot(), kernelBefore, 'the same kernel');
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);

    // Traffic: a VM behind r1 reaches upstream as its floating IP, and is reached on it.
    const ext = stored().networks.find((n) => n.name === 'ext')!;
    const priv = stored().networks.find((n) => n.name === 'priv')!;
    addTestHost({ name: up, hostNs, bridge: `brq${ext.id.slice(0, 11)}`, cidr: '203.0.113.1/24' });
    addTestHost({ name: vm, hostNs, bridge: `brq${priv.id.slice(0, 11)}`, cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
    servers.push(await startServer(up, PORT), await startServer(vm, PORT));
    assert.equal(connectFrom(vm, '203.0.113.1', PORT), '203.0.113.20', 'the VM leaves as its floating IP');
    assert.equal(connectFrom(up, '203.0.113.20', PORT), '203.0.113.1', 'upstream reaches the VM on its floating IP');
  });

  it('an invalid document: exit 2, every problem with its path, store and kernel unchanged', async (t) => {
    if (!requireE2E(t)) return;
    const [storeBefore, kernelBefore] = [readStore(store.path), snapshot()];
    const expectRefused = async (name: string, o: unknown, want: (string | RegExp)[]) => {
      const path = typeof o === 'string' ? (writeFileSync(file(name), o), file(name)) : writeDoc(name, o);
      for (const verb of ['apply', 'diff']) {
        const r = await l3ctl([verb, path], opts);
        assert.equal(r.code, 2, `${verb} ${name}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        const got = problemLines(r, path);
        assert.equal(got.length, want.length, got.join('\n'));
        want.forEach((w, i) => (typeof w === 'string' ? assert.equal(got[i], w) : assert.match(got[i]!, w)));
        assert.match(r.stderr, /^hint: .*nothing was changed$/m);
      }
    };

    // Bad values, each of a kind a single command refuses: all reported at once.
    const values = await exported();
    values.networks[1].subnets[0].cidr = '198.51.100.0/33';
    values.routers[0].name = 'a b';
    values.routers[0].interfaces[0].mac_address = '01:16:3e:00:00:01';
    values.routers[0].routes[0].nexthop = 'banana';
    values.routers[1].id = 'not-a-uuid';
    values.floatingips[0].fixed_ip_address = '198.51.100.300';
    values.config.send_arp_for_ha = 'lots';
    await expectRefused('values.yaml', values, [
      "config.send_arp_for_ha: invalid value 'lots' for send_arp_for_ha: expected an integer from 0 to 100",
      /^networks\[1\]\.subnets\[0\]\.cidr: invalid CIDR '198\.51\.100\.0\/33' \(prefix length 33 is more than 32\)/,
      /^routers\[0\]\.name: invalid router name 'a b' \(' ' is not allowed\)/,
      /^routers\[0\]\.interfaces\[0\]\.mac_address: invalid MAC address '01:16:3e:00:00:01' \(a multicast address/,
      /^routers\[0\]\.routes\[0\]\.nexthop: invalid nexthop 'banana'/,
      /^routers\[1\]\.id: invalid id 'not-a-uuid': expected a UUID/,
      /^floatingips\[0\]\.fixed_ip_address: invalid fixed IP '198\.51\.100\.300'/,
    ]);

    // Whole-state rules: the issue's example among them.
    const rules = await exported();
    rules.routers[0].gateway.fixed_ips[0].ip_address = '192.0.2.10';
    rules.routers[0].routes[0].destination = '0.0.0.0/0';
    rules.routers[1].interfaces[0].network = 'ext';
    rules.floatingips[0].floating_ip_address = '203.0.113.11';
    await expectRefused('rules.yaml', rules, [
      "routers[0].gateway.fixed_ips[0].ip_address: gateway address 192.0.2.10 on external network 'ext' is outside 203.0.113.0/24: expected a host address from 203.0.113.1 to 203.0.113.254",
      "routers[0].routes[0].destination: route 0.0.0.0/0 via 198.51.100.254 of router 'r1': a /0 destination is the default route, which the gateway owns",
      "routers[1].interfaces[0].network: network 'ext' is external: expected an internal network for an interface; an external one can only be a gateway",
      "floatingips[0].floating_ip_address: floating IP 203.0.113.11 is already used by the gateway of router 'r2': expected a free address",
    ]);

    // Shape, syntax, version, references.
    const shape = await exported();
    shape.routers[0].gateway.fixed_ips[0].ip_adress = shape.routers[0].gateway.fixed_ips[0].ip_address;
    delete shape.networks[0].name;
    await expectRefused('shape.yaml', shape, ['networks[0].name: missing field', 'routers[0].gateway.fixed_ips[0].ip_adress: unknown field']);
    await expectRefused('syntax.yaml', 'apiVersion: l3ctl/v1\nkind: Site\nnetworks: [\n', [/^top level: /]);
    const newer = await exported();
    newer.storeVersion = STATE_VERSION + 1;
    await expectRefused('newer.yaml', newer, [new RegExp(`^storeVersion: ${STATE_VERSION + 1} is newer than this l3ctl knows \\(store version ${STATE_VERSION}\\)`)]);
    const refs = await exported();
    refs.routers[0].interfaces[0].network = 'prv';
    await expectRefused('refs.yaml', refs, ["routers[0].interfaces[0].network: unknown network 'prv': expected the name or id of a network in the file or the store"]);
    const missing = await l3ctl(['apply', file('no-such.yaml')], opts);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^l3ctl: error: cannot read .*no-such\.yaml: no such file$/m);

    assert.equal(readStore(store.path), storeBefore, 'store unchanged');
    assert.equal(snapshot(), kernelBefore, 'kernel unchanged');
  });

  it('a failure half-way through an apply: the kernel and the store as they were', async (t) => {
    if (!requireE2E(t)) return;
    const [storeBefore, kernelBefore] = [readStore(store.path), snapshot()];
    const o = await exported();
    // r1 gets a route, r2 a floating IP, r3 is new: three routers converged at once.
    o.routers[0].routes.push({ destination: '192.0.2.0/26', nexthop: '198.51.100.253' });
    o.floatingips.push({ floating_ip_address: '203.0.113.22', fixed_ip_address: '192.0.2.6' });
    o.networks.push({ name: 'n3', subnets: [{ cidr: '192.0.2.128/26' }] });
    o.routers.push({ name: 'r3', id: R3_ID, gateway: { network: 'ext', fixed_ips: [{ ip_address: '203.0.113.12' }] }, interfaces: [{ network: 'n3' }] });
    o.floatingips.push({ floating_ip_address: '203.0.113.30', fixed_ip_address: '192.0.2.130' });
    const path = writeDoc('grow.yaml', o);
    const r = await l3ctl(['-v', 'apply', path], { ...opts, env: { L3CTL_FAULT_INJECT: '203\\.0\\.113\\.30' } });
    assert.equal(r.code, 1, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => !l.startsWith('+ '));
    assert.match(errors[0]!, /^l3ctl: error: command failed \(exit 2\): .*qrouter-3d3d3d3d-1717-4717-8717-171717171717/);
    assert.ok(errors.includes('hint: the kernel was put back as it was before this command; the store is unchanged'), r.stderr);
    // The other routers really were changed before the failure, then put back.
    assert.ok(mutatingOf(r.stderr.split('\n')).some((l) => l.includes(knownNs[0]!)), 'r1 was changed, then put back');
    assert.equal(readStore(store.path), storeBefore, 'store unchanged');
    assert.equal(snapshot(), kernelBefore, 'kernel as before');
    assert.ok(!namespaces().includes(R3_NS));
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);
    assert.equal(connectFrom(vm, '203.0.113.1', PORT), '203.0.113.20', 'traffic as before');
  });

  it('on a terminal: progress while applying, a coloured diff; piped: neither', async (t) => {
    if (!requireE2E(t)) return;
    const tty = await onTty(['apply', file('site.yaml')]);
    assert.equal(tty.code, 0, tty.out);
    assert.match(tty.out, /l3ctl: apply: routers 1\/2/);
    assert.match(tty.out, /l3ctl: apply: routers 2\/2/);
    const piped = await l3ctlOk(['apply', file('site.yaml')], opts);
    assert.doesNotMatch(piped.stderr, /routers \d\/\d|\x1b\[/);

    const o = await exported();
    o.floatingips[0].fixed_ip_address = '198.51.100.6';
    const path = writeDoc('change.yaml', o);
    const coloured = await onTty(['diff', path]);
    assert.equal(coloured.code, 1, coloured.out);
    assert.match(coloured.out, /\x1b\[33m~ fip 203\.0\.113\.20: fixed 198\.51\.100\.5 → 198\.51\.100\.6\x1b\[39m/);
    const noColour = await onTty(['diff', path], { NO_COLOR: '1' });
    assert.doesNotMatch(noColour.out, /\x1b\[3\dm/);
    const plain = await l3ctl(['diff', path], opts);
    assert.equal(plain.code, 1);
    assert.equal(plain.stdout, '~ fip 203.0.113.20: fixed 198.51.100.5 → 198.51.100.6\n');
  });

  it('--prune removes exactly what the file lacks; without it nothing is removed', async (t) => {
    if (!requireE2E(t)) return;
    const o = await exported();
    o.routers = o.routers.filter((r: { name: string }) => r.name !== 'r2');
    o.networks = o.networks.filter((n: { name: string }) => n.name !== 'n2');
    o.floatingips = o.floatingips.filter((f: { floating_ip_address: string }) => f.floating_ip_address !== '203.0.113.21');
    const path = writeDoc('smaller.yaml', o);
    const storeBefore = readStore(store.path);
    const r1Before = kernelSnapshot([knownNs[0]!]);
    const n2Bridge = `brq${stored().networks.find((n) => n.name === 'n2')!.id.slice(0, 11)}`;

    assert.equal((await l3ctl(['diff', path], opts)).code, 0, 'without --prune: nothing to change');
    await l3ctlOk(['apply', path], opts);
    assert.equal(readStore(store.path), storeBefore, 'without --prune: everything kept');

    const diff = await l3ctl(['diff', '--prune', path], opts);
    assert.equal(diff.code, 1);
    assert.deepEqual(diff.stdout.trim().split('\n'), [
      '- router r2',
      '- gateway r2 ext 203.0.113.11',
      '- interface r2 n2 192.0.2.1',
      '- fip 203.0.113.21 → 192.0.2.5 (router r2)',
      '- network n2 192.0.2.0/25',
    ]);
    await l3ctlOk(['apply', '--prune', path], opts);
    const after = stored();
    assert.deepEqual(after.routers.map((r) => r.name), ['r1']);
    assert.deepEqual(after.networks.map((n) => n.name), ['ext', 'priv']);
    assert.deepEqual(after.floatingips.map((f) => f.floating_ip_address), ['203.0.113.20']);
    assert.ok(!namespaces().includes(knownNs[1]!), "r2's namespace is gone");
    assert.doesNotMatch(kernelSnapshot([hostNs]), new RegExp(`^link ${n2Bridge} `, 'm'), "n2's bridge is gone");
    assert.equal(kernelSnapshot([knownNs[0]!]), r1Before, 'r1 untouched');
    assert.equal(JSON.parse(readStore(store.path)).config.host_namespace, hostNs, "the node's own option kept");
    assert.equal((await l3ctl(['diff', '--prune', path], opts)).code, 0);
    assert.equal((await l3ctl(['agent', 'check'], opts)).code, 0);
  });
});
