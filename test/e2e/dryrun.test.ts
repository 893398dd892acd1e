// --dry-run on every mutating command: `+ argv` lines (stdin indented), exit 0,
// store byte-identical and kernel identical. Also `router exec` passing the
// exit status through and signals on to its command, and the old client's aliases.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { l3ctl, l3ctlOk, readStore, tempStore, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, kernelSnapshot, requireE2E } from '../helpers/e2e.js';
import { alive, signalRouterExec } from '../helpers/exec-signal.js';

const store = tempStore();
const hostNs = uniqueName('l3ctl-t-dry');
const opts = { store: store.path };
const routerNs: string[] = [];

const snapshot = () => kernelSnapshot([hostNs, ...routerNs]);

async function addRouter(name: string): Promise<void> {
  const r = JSON.parse((await l3ctlOk(['router', 'add', name, '-f', 'json'], opts)).stdout) as { id: string };
  routerNs.push(`qrouter-${r.id}`);
}

before(async () => {
  if (process.getuid?.() !== 0) return;
  const ok = (args: string[]) => l3ctlOk(args, opts);
  await ok(['config', 'set', 'host_namespace', hostNs]);
  await ok(['config', 'set', 'external_network_bridge', '']);
  await ok(['network', 'add', 'ext', '--cidr', '203.0.113.0/24', '--gateway-ip', '203.0.113.1', '--external']);
  await ok(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
  await ok(['network', 'add', 'priv2', '--cidr', '192.0.2.0/26']);
  await ok(['network', 'add', 'spare', '--cidr', '192.0.2.64/26']);
  await addRouter('r1');
  await addRouter('r2');
  await ok(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
  await ok(['gateway', 'set', 'r2', 'ext', '--ip', '203.0.113.11']);
  await ok(['interface', 'add', 'r1', 'priv']);
  await ok(['interface', 'add', 'r1', 'priv2']);
  await ok(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
  await ok(['fip', 'add', '203.0.113.21']);
  await ok(['route', 'add', 'r1', '192.0.2.128/25', '198.51.100.254']);
});

after(async () => {
  if (process.getuid?.() === 0) await l3ctl(['router', 'delete', 'r1', 'r2', '--yes'], opts);
  deleteNamespaces([hostNs, ...routerNs]);
  store.cleanup();
});

/** Every mutating command, in a form that would change something. */
const MUTATING: string[][] = [
  ['network', 'add', 'new', '--cidr', '192.0.2.192/26'],
  ['network', 'delete', 'spare'],
  ['router', 'add', 'r3'],
  ['router', 'delete', 'r1'],
  ['router', 'disable', 'r1'],
  ['router', 'enable', 'r1'],
  ['interface', 'add', 'r2', 'priv2', '--ip', '192.0.2.62'],
  ['interface', 'remove', 'r1', 'priv2'],
  ['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.12'],
  ['gateway', 'clear', 'r2'],
  ['fip', 'add', '203.0.113.30'],
  ['fip', 'delete', '203.0.113.20'],
  ['fip', 'associate', '203.0.113.21', '198.51.100.6'],
  ['fip', 'disassociate', '203.0.113.20'],
  ['route', 'add', 'r1', '192.0.2.128/25', '198.51.100.253'],
  ['route', 'delete', 'r1', '192.0.2.128/25'],
  ['config', 'set', 'send_arp_for_ha', '0'],
  ['config', 'set', 'enable_metadata_proxy', 'false'],
  ['config', 'set', 'metadata_port', '9698'],
  ['agent', 'sync'],
  ['router', 'exec', 'r1', '--', 'ip', 'link', 'set', 'lo', 'down'],
  ['router-gateway-clear', 'r2'],
];

/** What a plan line may look like: `+ argv`, or input of the line before, indented two spaces. */
function assertPlan(stdout: string, what: string): string[] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  for (const l of lines) assert.match(l, /^(\+ \S| {2})/, `${what}: not a plan line: ${l}`);
  assert.ok(!lines.length || lines[0]!.startsWith('+ '), `${what}: input before any command`);
  return lines.filter((l) => l.startsWith('+ '));
}

for (const args of MUTATING) {
  test(`--dry-run ${args.join(' ')}: prints the plan, changes nothing`, async (t) => {
    if (!requireE2E(t)) return;
    const [s0, k0] = [readStore(store.path), snapshot()];
    const r = await l3ctl(['--dry-run', ...args], opts);
    assert.equal(r.code, 0, r.stderr);
    const cmds = assertPlan(r.stdout, args.join(' '));
    // fip add only allocates in the store: nothing would run. Every other one runs something.
    if (args.join(' ') !== 'fip add 203.0.113.30') assert.ok(cmds.length > 0, 'at least one command printed');
    assert.equal(readStore(store.path), s0, 'store unchanged');
    assert.equal(snapshot(), k0, 'kernel unchanged');
  });
}

test('--dry-run shows the mutating commands a change needs, stdin indented', async (t) => {
  if (!requireE2E(t)) return;
  const r = await l3ctlOk(['fip', 'associate', '203.0.113.21', '198.51.100.6', '--dry-run'], opts);
  assert.match(r.stdout, /^\+ .*iptables-restore/m);
  assert.match(r.stdout, /^ {2}.*198\.51\.100\.6/m, 'the DNAT rule, as restore input');
  assert.match(r.stdout, /^\+ ip -n qrouter-\S+ -batch -\n {2}addr add 203\.0\.113\.21\/32 .*dev qg-/m, 'the address on qg-, as batch input');
});

test('--dry-run shows the metadata proxy: the config written and the start of a new one, the kill before a namespace goes', async (t) => {
  if (!requireE2E(t)) return;
  const ids = JSON.parse(readStore(store.path)).routers.map((r: { id: string }) => r.id) as string[];
  // r2 has no internal port yet, so no proxy: its first one brings it.
  const add = (await l3ctlOk(['interface', 'add', 'r2', 'priv2', '--ip', '192.0.2.62', '--dry-run'], opts)).stdout;
  const dir2 = `${store.path}.d/routers/${ids[1]}`;
  assert.match(add, new RegExp(`^\\+ write ${dir2}/haproxy\\.conf\\n(  .*\\n)*  listen metadata\\n      bind 0\\.0\\.0\\.0:9697$`, 'm'));
  assert.ok(add.split('\n').includes(`+ ip netns exec qrouter-${ids[1]} haproxy -f ${dir2}/haproxy.conf -p ${dir2}/haproxy.pid -D`), add);
  const pid = readFileSync(`${store.path}.d/routers/${ids[0]}/haproxy.pid`, 'utf8').trim();
  const del = (await l3ctlOk(['router', 'delete', 'r1', '--dry-run', '--yes'], opts)).stdout.split('\n');
  const kill = del.indexOf(`+ kill -TERM ${pid}`);
  assert.ok(kill >= 0 && kill < del.indexOf(`+ ip netns del qrouter-${ids[0]}`), del.join('\n'));
});

test('--dry-run on a converged host shows only reads', async (t) => {
  if (!requireE2E(t)) return;
  const r = await l3ctlOk(['agent', 'sync', '--dry-run'], opts);
  for (const l of assertPlan(r.stdout, 'agent sync')) {
    // `ip -j -batch -` is the read of links and routes; a batch that changes something has no -j.
    assert.doesNotMatch(l, /iptables-restore|(?<!-j )-batch|arping| add | del |sysctl -w|conntrack -D|link set|addr flush/, l);
  }
});

test('router exec passes the exit status through', async (t) => {
  if (!requireE2E(t)) return;
  const r = await l3ctl(['router', 'exec', 'r1', '--', 'sh', '-c', 'exit 7'], opts);
  assert.equal(r.code, 7);
  const ok = await l3ctl(['router', 'exec', 'r1', '--', 'ip', '-o', 'addr', 'show'], opts);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /qr-\S+ +inet 198\.51\.100\.1\/24/);
  const ping = await l3ctl(['router', 'exec', 'r1', '--', 'ping', '-c', '1', '-W', '1', '192.0.2.99'], opts);
  assert.equal(ping.code, 1, 'ping with no answer exits 1 and so does l3ctl');
});

test("router exec: SIGTERM, SIGHUP or SIGINT to l3ctl's pid alone ends the command in the namespace too, and l3ctl exits with its status", async (t) => {
  if (!requireE2E(t)) return;
  const ns = routerNs[0]!;
  let n = 0;
  for (const [signal, status] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as const) {
    const r = await signalRouterExec(store, 'r1', signal, n++);
    assert.equal(r.netnsInode, statSync(`/run/netns/${ns}`).ino, `the command ran in ${ns}`);
    assert.equal(alive(r.command), false, `${signal}: command ${r.command} still runs in ${ns}`);
    assert.deepEqual([r.code, r.signal], [status, null], signal);
  }
});

test('old client verbs: the new form on stderr, then run', async (t) => {
  if (!requireE2E(t)) return;
  const c = await l3ctl(['router-create', 'r9', '-f', 'value', '-c', 'name'], opts);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stderr.split('\n')[0], "l3ctl: 'router-create' is now 'router add': l3ctl router add r9 -f value -c name");
  assert.equal(c.stdout, 'r9\n');
  const id = (await l3ctlOk(['router', 'show', 'r9', '-f', 'json'], opts)).stdout;
  routerNs.push(`qrouter-${(JSON.parse(id) as { id: string }).id}`);
  const i = await l3ctl(['router-interface-add', 'r9', 'spare'], opts);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stderr, /is now 'interface add'/);
  const d = await l3ctl(['router-interface-delete', 'r9', 'spare'], opts);
  assert.equal(d.code, 0, d.stderr);
  const del = await l3ctl(['router-delete', 'r9'], opts);
  assert.equal(del.code, 0, del.stderr);
  assert.equal((await l3ctlOk(['router', 'list', '-f', 'value', '-c', 'name'], opts)).stdout, 'r1\nr2\n');
  const bad = await l3ctl(['floatingip-associate', '203.0.113.21'], opts);
  assert.equal(bad.code, 2, 'a missing argument is the new command\'s usage error');
  assert.match(bad.stderr, /^l3ctl: error: missing required argument 'fixed-ip'/m);
});
