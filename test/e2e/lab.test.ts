// `lab up | check | down` as an operator runs it: from nothing to a lab
// whose check passes, idempotent, a hand-made break caught by the check and
// repaired by `lab up`, and nothing left after `lab down`. A prefix of its own
// (L3CTL_LAB_PREFIX) and a temp default store (L3CTL_LAB_DEFAULT_STORE) keep
// it away from a real lab. All along, the operator's own store is exported in
// L3CTL_STORE, as on a network node: the lab must never use it.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { l3ctl, readStore, sh, shOk, tempStore, uniqueName } from '../helpers/cli.js';
import { deleteNamespaces, e2eUnavailable, kernelSnapshot, namespaces, requireE2E } from '../helpers/e2e.js';

const prefix = uniqueName('l3ctl-t-lab');
const store = tempStore();
const operator = tempStore();
// The operator's store: a network and a router the lab did not make (never applied here).
const OPERATOR_STORE = JSON.stringify({
  version: 1,
  config: { send_arp_for_ha: '0' },
  networks: [{ id: 'e0000000-0000-4000-8000-0000000000e1', name: 'op-net', cidr: '192.0.2.0/24', gateway_ip: '192.0.2.1', external: true, bridge: null }],
  routers: [{ id: 'e0000000-0000-4000-8000-0000000000f1', name: 'op-r1', admin_state_up: true, gateway: null, interfaces: [], routes: [] }],
  floatingips: [],
}, null, 2) + '\n';
writeFileSync(operator.path, OPERATOR_STORE);
const operatorMtime = statSync(operator.path).mtimeMs;
const opts = { env: { L3CTL_LAB_PREFIX: prefix, L3CTL_STORE: operator.path, L3CTL_LAB_DEFAULT_STORE: store.path } };
const registered = () => (existsSync(process.env.L3CTL_REGISTRY!) ? (JSON.parse(readFileSync(process.env.L3CTL_REGISTRY!, 'utf8')) as { stores: { path: string }[] }).stores.map((e) => e.path) : []);
const operatorUntouched = (what: string) => {
  assert.equal(readStore(operator.path), OPERATOR_STORE, `${what}: the operator's store is byte-identical`);
  assert.equal(statSync(operator.path).mtimeMs, operatorMtime, `${what}: and not rewritten`);
  assert.ok(!existsSync(`${operator.path}.bak`), `${what}: no backup of it was made`);
};
const lab = (args: string[]) => l3ctl(['lab', ...args], opts);
const ours = () => namespaces().filter((n) => n.startsWith(`${prefix}-`));
const hostNs = `${prefix}-host`;
const upstream = `${prefix}-up`;
const testHosts = [upstream, `${prefix}-vm1`, `${prefix}-vm2`];

let routerNs = '';

interface Row {
  check: string;
  expected: string;
  seen: string;
  result: string;
}
const rowsOf = (stdout: string) => JSON.parse(stdout) as Row[];
const FIP_ROWS = ['vm1 -> upstream tcp: source seen (floating IP)', 'upstream -> floating IP ping', 'upstream -> floating IP tcp: vm1 sees'];
const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

describe('lab up | check | down', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  after(async () => {
    await lab(['down']);
    deleteNamespaces([...ours(), routerNs].filter(Boolean));
    store.cleanup();
    operator.cleanup();
  });

  it('lab up --dry-run from nothing lists the commands and changes nothing', async (t) => {
    if (!requireE2E(t)) return;
    const r = await lab(['up', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(lines.includes(`+ l3ctl --store ${store.path} config set host_namespace ${hostNs}`), r.stdout);
    assert.ok(lines.includes(`+ l3ctl --store ${store.path} fip associate 203.0.113.20 198.51.100.5 --router lab-r1`), r.stdout);
    for (const h of testHosts) assert.ok(lines.includes(`+ ip netns add ${h}`), `creates ${h}`);
    assert.deepEqual(ours(), [], 'no namespace made');
    assert.ok(!existsSync(store.path), 'no store written');
    assert.match(r.stderr, new RegExp(`L3CTL_STORE \\(${operator.path}\\) is not used by the lab; its store is ${store.path}`));
    operatorUntouched('lab up --dry-run');
  });

  it('lab up builds the lab from nothing', async (t) => {
    if (!requireE2E(t)) return;
    const t0 = performance.now();
    const r = await lab(['up']);
    t.diagnostic(`lab up from nothing: ${ms(t0)}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'progress goes to stderr');
    assert.match(r.stderr, new RegExp(`^lab: store ${store.path}, `, 'm'), 'says where its store is');
    assert.doesNotMatch(r.stderr, /\(unchanged\)/, 'from nothing, every step changes something');
    operatorUntouched('lab up');
    assert.ok(registered().includes(store.path), `the lab's store is registered: ${registered()}`);
    assert.ok(!registered().includes(operator.path), 'the operator store was not written, so not registered by the lab');
    assert.match(r.stderr, new RegExp(`l3ctl --store ${store.path} router show lab-r1`), 'says how to inspect it');
    const state = JSON.parse(readStore(store.path));
    assert.equal(state.config.host_namespace, hostNs);
    assert.equal(state.config.external_network_bridge, '');
    const router = state.routers.find((x: { name: string }) => x.name === 'lab-r1');
    assert.ok(router, 'router lab-r1 in the lab store');
    routerNs = `qrouter-${router.id}`;
    assert.deepEqual(router.routes, [{ destination: '192.0.2.0/24', nexthop: '198.51.100.254' }]);
    assert.deepEqual(ours().sort(), [hostNs, ...testHosts].sort());
    assert.ok(namespaces().includes(routerNs), 'router namespace built');
    // The test hosts sit on the bridges l3ctl made for the networks.
    const brq = (name: string) => `brq${state.networks.find((n: { name: string }) => n.name === name).id.slice(0, 11)}`;
    const masters = JSON.parse(shOk(['ip', '-n', hostNs, '-j', 'link', 'show'])) as { ifname: string; master?: string }[];
    assert.equal(masters.find((l) => l.ifname === 'veth-up')?.master, brq('lab-ext'));
    assert.equal(masters.find((l) => l.ifname === 'veth-vm1')?.master, brq('lab-priv'));
  });

  it("an unknown 'lab-r1' on the operator's store hints at the lab's store", async (t) => {
    if (!requireE2E(t)) return;
    const r = await l3ctl(['router', 'show', 'lab-r1'], { store: operator.path });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^l3ctl: error: unknown router 'lab-r1'/m);
    assert.ok(r.stderr.includes(`hint: router 'lab-r1' is in store ${store.path}: l3ctl --store ${store.path} router show lab-r1`), r.stderr);
  });

  it('lab --store refuses a store that is not its own, up and down: exit 2, the file untouched', async (t) => {
    if (!requireE2E(t)) return;
    for (const verb of ['up', 'down', 'check']) {
      const r = await l3ctl(['lab', '--store', operator.path, verb], opts);
      assert.equal(r.code, 2, `${verb}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^l3ctl: error: store ${operator.path} is not a lab store: it holds network 'op-net', router 'op-r1', which the lab did not make$`, 'm'));
    }
    operatorUntouched('lab --store OPERATOR up/down/check');
    // An empty store someone else made (no host_namespace of the lab's): not the lab's either.
    const other = tempStore();
    try {
      const empty = JSON.stringify({ version: 1, config: {}, networks: [], routers: [], floatingips: [] }) + '\n';
      writeFileSync(other.path, empty);
      const r = await l3ctl(['lab', '--store', other.path, 'down'], opts);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is not a lab store: the lab did not make it/);
      assert.equal(readStore(other.path), empty);
    } finally {
      other.cleanup();
    }
  });

  it('lab check passes with real traffic', async (t) => {
    if (!requireE2E(t)) return;
    const t0 = performance.now();
    const r = await lab(['check', '-f', 'json']);
    t.diagnostic(`lab check: ${ms(t0)}`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const rows = rowsOf(r.stdout);
    assert.ok(rows.length >= 5);
    for (const row of rows) assert.equal(row.result, 'pass', JSON.stringify(row));
    const seen = Object.fromEntries(rows.map((x) => [x.check, x.seen]));
    assert.equal(seen['vm2 -> upstream tcp: source seen (SNAT to gateway)'], '203.0.113.10');
    assert.equal(seen['vm1 -> upstream tcp: source seen (floating IP)'], '203.0.113.20');
    assert.equal(seen['upstream -> floating IP tcp: vm1 sees'], '203.0.113.1');
    assert.equal(seen['vm2 -> upstream ping'], 'reply');
    // The dual-stack VM: IPv6 from radvd, routed without NAT.
    assert.equal(seen['vm2 IPv6 default route (radvd)'], 'via fe80::… proto ra');
    assert.equal(seen['vm2 -> upstream ping -6'], 'reply');
    assert.equal(seen['vm2 -> upstream tcp over IPv6: source seen (no NAT)'], "vm2's own address in 2001:db8:1::/64");
    // The table is the default output, one line per check plus the header.
    const table = await lab(['check']);
    assert.equal(table.code, 0);
    assert.equal(table.stdout.trim().split('\n').length, rows.length + 1);
    assert.match(table.stdout.split('\n')[0]!, /^check\s+expected\s+seen\s+result$/);
  });

  it('lab up again exits 0 and changes nothing', async (t) => {
    if (!requireE2E(t)) return;
    const nss = [hostNs, ...testHosts, routerNs];
    const before = kernelSnapshot(nss);
    const storeBefore = readStore(store.path);
    const r = await lab(['up']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(kernelSnapshot(nss), before);
    assert.equal(readStore(store.path), storeBefore);
    for (const h of testHosts) assert.match(r.stderr, new RegExp(`test host ${h}: .*\\(in place\\)`));
    // Every l3ctl step of the lab says it had nothing to do.
    const steps = r.stderr.split('\n').filter((l) => l.startsWith('lab: l3ctl '));
    assert.ok(steps.length >= 5, r.stderr);
    for (const l of steps) assert.match(l, / \(unchanged\)$/, l);
    // A converged lab plans no ip command of its own.
    const dry = await lab(['up', '--dry-run']);
    assert.equal(dry.code, 0);
    assert.deepEqual(dry.stdout.split('\n').filter((l) => l.startsWith('+ ip ') && !/ -j (addr|route) show| sysctl -[ne] /.test(l)), []);
  });

  it('a floating IP removed by hand fails the check (exit 1, FIP rows fail)', async (t) => {
    if (!requireE2E(t)) return;
    const links = JSON.parse(shOk(['ip', '-n', routerNs, '-j', 'link', 'show'])) as { ifname: string }[];
    const qg = links.find((l) => l.ifname.startsWith('qg-'))!.ifname;
    shOk(['ip', '-n', routerNs, 'addr', 'del', '203.0.113.20/32', 'dev', qg]);
    // Forget the router's MAC for the FIP, as the upstream would once its entry expires.
    shOk(['ip', '-n', upstream, 'neigh', 'flush', 'all']);
    const r = await l3ctl(['lab', 'check', '-f', 'json'], opts);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    // Progress lines come first on stderr; the error line follows them.
    assert.match(r.stderr, /^l3ctl: error: lab check: 3 of \d+ checks failed$/m);
    const rows = rowsOf(r.stdout);
    for (const row of rows) {
      assert.equal(row.result, FIP_ROWS.includes(row.check) ? 'fail' : 'pass', JSON.stringify(row));
    }
  });

  it('lab up repairs the lab', async (t) => {
    if (!requireE2E(t)) return;
    assert.equal((await lab(['up'])).code, 0);
    const r = await lab(['check', '-f', 'json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(rowsOf(r.stdout).every((x) => x.result === 'pass'));
  });

  it('lab down removes everything; twice is fine', async (t) => {
    if (!requireE2E(t)) return;
    const r = await lab(['down']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ours(), [], 'no namespace with the lab prefix');
    assert.ok(!namespaces().includes(routerNs), 'router namespace gone');
    assert.ok(!existsSync(store.path), 'store gone');
    assert.ok(!existsSync(`${store.path}.bak`), 'store backup gone');
    assert.ok(!existsSync(`${store.path}.checked`), 'its digest gone');
    // radvd's and the proxy's files lived there (the lab has an IPv6 subnet): nothing of it is left.
    assert.ok(!existsSync(`${store.path}.d`), "the daemons' directory gone");
    const again = await lab(['down']);
    assert.equal(again.code, 0, again.stderr);
    const check = await lab(['check']);
    assert.equal(check.code, 1, 'check of a lab that is down fails');
    assert.match(check.stderr, /^l3ctl: error: the lab is not up/m);
    assert.ok(!registered().includes(store.path), 'the deleted store left the registry');
    operatorUntouched('lab down');
  });

  it('lab down copes with a lab half gone', async (t) => {
    if (!requireE2E(t)) return;
    assert.equal((await lab(['up'])).code, 0);
    // Half of it removed by hand: one test host, the host namespace, the router namespace.
    for (const ns of [`${prefix}-vm2`, hostNs, routerNs]) sh(['ip', 'netns', 'del', ns]);
    const r = await lab(['down']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ours(), []);
    assert.ok(!namespaces().includes(routerNs));
    assert.ok(!existsSync(store.path));
    operatorUntouched('lab up, then down with half of it gone');
  });
});
