// Kernel state that looks right by name but is not, on a real kernel: a
// wanted address held with another scope or broadcast, and a qr- device
// whose host end is missing (plugged into no bridge). `agent check` names it
// (exit 3), one `agent sync` replaces it (the routes the replacement drops
// written again in the same batch), check is clean after, a second sync
// would change nothing, and traffic through the router flows again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { l3ctl, l3ctlOk, nsExec, readStore, sh, shOk, tempStore, uniqueName, type CliResult } from '../helpers/cli.js';
import { addTestHost, baseCommands, deleteNamespaces, e2eUnavailable, requireE2E } from '../helpers/e2e.js';
import { mutatingCommands } from '../helpers/dryrun.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-repl');
const hostNs = `${tag}-h`;
const up = `${tag}-up`;
const vm = `${tag}-vm`;
const hop = `${tag}-hop`;
const opts = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);

let ns = '';
let qr = '';
let qg = '';
let tap = '';
let bridge = '';

interface Finding { kind: string; object: string; expected: string | null; live: string | null }
async function check(): Promise<{ code: number; findings: Finding[]; r: CliResult }> {
  const r = await l3ctl(['agent', 'check', '-f', 'json'], opts);
  return { code: r.code, findings: r.stdout.trim() ? (JSON.parse(r.stdout) as Finding[]) : [], r };
}

interface AddrJson { family: string; local: string; prefixlen: number; broadcast?: string; scope: string }
const inet = (dev: string) =>
  ((JSON.parse(sh(['ip', '-n', ns, '-j', 'addr', 'show', 'dev', dev]).stdout || '[]') as { addr_info: AddrJson[] }[])[0]?.addr_info ?? [])
    .filter((a) => a.family === 'inet')
    .map((a) => `${a.local}/${a.prefixlen} brd ${a.broadcast ?? '-'} scope ${a.scope}`)
    .sort();
const routes = () => sh(['ip', '-n', ns, 'route', 'show']).stdout;
const ping = (from: string, to: string) => nsExec(from, ['ping', '-c', '1', '-W', '2', to]).code === 0;
const ip = (...args: string[]) => shOk(['ip', '-n', ns, ...args]);

/** What a user checks: the router's addresses as l3ctl adds them, its routes, and packets through it both ways. */
function assertWorking(what: string): void {
  assert.deepEqual(inet(qr), ['198.51.100.1/24 brd 198.51.100.255 scope global'], what);
  assert.deepEqual(inet(qg), ['203.0.113.10/24 brd 203.0.113.255 scope global', '203.0.113.20/32 brd 203.0.113.20 scope global'], what);
  const r = routes();
  assert.match(r, new RegExp(`^default via 203\\.0\\.113\\.1 dev ${qg}`, 'm'), `${what}: default route\n${r}`);
  assert.match(r, new RegExp(`^192\\.0\\.2\\.128/25 via 198\\.51\\.100\\.126 dev ${qr}`, 'm'), `${what}: extra route\n${r}`);
  assert.ok(ping(vm, '203.0.113.1'), `${what}: instance -> upstream (SNAT, default route)`);
  assert.ok(ping(up, '203.0.113.20'), `${what}: upstream -> floating IP`);
  assert.ok(ping(vm, '192.0.2.130'), `${what}: instance -> behind the extra route`);
}

/** check names it (exit 3), one sync repairs it, check is clean, a dry-run sync would change nothing, traffic flows. */
async function damageAndRepair(what: string, damage: () => void, expected: [string, string][]): Promise<void> {
  damage();
  const c = await check();
  assert.equal(c.code, 3, `${what}: check exit: ${c.r.stderr}`);
  assert.deepEqual(c.findings.map((f) => [f.kind, f.object]), expected, what);
  const s = await l3ctl(['agent', 'sync'], opts);
  assert.equal(s.code, 0, `${what}: sync: ${s.stderr}`);
  const after = await check();
  assert.equal(after.code, 0, `${what}: check after sync: ${JSON.stringify(after.findings)} ${after.r.stderr}`);
  const dry = await run(['agent', 'sync', '--dry-run']);
  assert.deepEqual(mutatingCommands(dry.stdout), [], `${what}: a second sync would change something`);
  assertWorking(what);
}

describe('addresses in another form, ports without their host end: named and repaired', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    for (const args of baseCommands(hostNs)) await run(args);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    await run(['router', 'add', 'r1']);
    await run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
    await run(['interface', 'add', 'r1', 'priv']);
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
    await run(['route', 'add', 'r1', '192.0.2.128/25', '198.51.100.126']);
    const s = JSON.parse(readStore(store.path)) as { networks: { name: string; id: string }[]; routers: { id: string; gateway: { id: string }; interfaces: { id: string }[] }[] };
    const r = s.routers[0]!;
    ns = `qrouter-${r.id}`;
    qr = `qr-${r.interfaces[0]!.id.slice(0, 11)}`;
    tap = `tap${r.interfaces[0]!.id.slice(0, 11)}`;
    qg = `qg-${r.gateway.id.slice(0, 11)}`;
    const br = (n: string) => `brq${s.networks.find((x) => x.name === n)!.id.slice(0, 11)}`;
    bridge = br('priv');
    addTestHost({ name: up, hostNs, bridge: br('ext'), cidr: '203.0.113.1/24' });
    addTestHost({ name: vm, hostNs, bridge, cidr: '198.51.100.5/24', gateway: '198.51.100.1' });
    // The next hop of the extra route, with an address behind it.
    addTestHost({ name: hop, hostNs, bridge, cidr: '198.51.100.126/24', gateway: '198.51.100.1' });
    shOk(['ip', '-n', hop, 'addr', 'add', '192.0.2.130/32', 'dev', 'lo']);
    shOk(['ip', 'netns', 'exec', hop, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  });

  after(async () => {
    await l3ctl(['router', 'delete', 'r1', '--yes'], opts);
    deleteNamespaces([ns, up, vm, hop, hostNs].filter(Boolean));
    store.cleanup();
  });

  it('converged: addresses as l3ctl adds them, routes, traffic', async (t) => {
    if (!requireE2E(t)) return;
    const c = await check();
    assert.equal(c.code, 0, JSON.stringify(c.findings));
    assertWorking('fresh');
  });

  it('a floating IP re-added with scope host: wrong-scope, replaced', async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('FIP scope host', () => {
      ip('addr', 'del', '203.0.113.20/32', 'dev', qg);
      ip('addr', 'add', '203.0.113.20/32', 'scope', 'host', 'dev', qg);
    }, [['wrong-scope', `203.0.113.20/32 on ${qg}`], ['wrong-broadcast', `203.0.113.20/32 on ${qg}`]]);
  });

  it("the port's address re-added with scope host: replaced, and the extra route its deletion drops written again", async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('qr- scope host', () => {
      ip('addr', 'del', '198.51.100.1/24', 'dev', qr);
      ip('addr', 'add', '198.51.100.1/24', 'brd', '198.51.100.255', 'scope', 'host', 'dev', qr);
      ip('route', 'replace', '192.0.2.128/25', 'via', '198.51.100.126');
    }, [['wrong-scope', `198.51.100.1/24 on ${qr}`]]);
  });

  it("the port's address re-added with another broadcast: wrong-broadcast, replaced", async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('qr- brd', () => {
      ip('addr', 'del', '198.51.100.1/24', 'dev', qr);
      ip('addr', 'add', '198.51.100.1/24', 'brd', '198.51.100.100', 'dev', qr);
      ip('route', 'replace', '192.0.2.128/25', 'via', '198.51.100.126');
    }, [['wrong-broadcast', `198.51.100.1/24 on ${qr}`]]);
  });

  it("the gateway's address re-added without broadcast: replaced, the default route kept", async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('qg- no brd', () => {
      ip('addr', 'del', '203.0.113.10/24', 'dev', qg);
      ip('addr', 'add', '203.0.113.10/24', 'dev', qg);
      ip('route', 'replace', 'default', 'via', '203.0.113.1', 'dev', qg);
    }, [['wrong-broadcast', `203.0.113.10/24 on ${qg}`]]);
  });

  it("another address of the port's subnet with scope host, the port's own gone: deleted first (no global address can be added beside it)", async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('qr- blocked', () => {
      ip('addr', 'del', '198.51.100.1/24', 'dev', qr);
      ip('addr', 'add', '198.51.100.9/24', 'scope', 'host', 'dev', qr);
      ip('route', 'replace', '192.0.2.128/25', 'via', '198.51.100.126');
    }, [['extra-address', `198.51.100.9/24 on ${qr}`], ['missing-address', `198.51.100.1/24 on ${qr}`]]);
  });

  it('a qr- device with no host end on the bridge: named, plugged again', async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('qr- without tap', () => {
      ip('link', 'del', qr);
      ip('link', 'add', qr, 'type', 'veth', 'peer', 'name', 'l3ctl-t-zz');
      ip('link', 'set', qr, 'up');
      ip('addr', 'add', '198.51.100.1/24', 'brd', '198.51.100.255', 'dev', qr);
      ip('route', 'replace', '192.0.2.128/25', 'via', '198.51.100.126');
    }, [['missing-device', tap], ['missing-route', '192.0.2.128/25']]);
    const hostEnd = (JSON.parse(sh(['ip', '-n', hostNs, '-j', 'link', 'show', 'dev', tap]).stdout || '[]') as { master?: string }[])[0];
    assert.equal(hostEnd?.master, bridge);
    assert.equal(sh(['ip', '-n', ns, 'link', 'show', 'l3ctl-t-zz']).code === 0, false, 'the stray peer went with the stray device');
  });

  it('network_device_mtu: set on both ends of every port by config set; an end changed by hand is wrong-mtu, set again; unset leaves them', async (t) => {
    if (!requireE2E(t)) return;
    const mtuOf = (where: string, dev: string) => (JSON.parse(sh(['ip', '-n', where, '-j', 'link', 'show', 'dev', dev]).stdout || '[]') as { mtu: number }[])[0]?.mtu;
    const tapG = `tap${qg.slice(3)}`;
    assert.deepEqual([mtuOf(ns, qr), mtuOf(ns, qg), mtuOf(hostNs, tap), mtuOf(hostNs, tapG)], [1500, 1500, 1500, 1500]);
    await run(['config', 'set', 'network_device_mtu', '1400']);
    assert.deepEqual([mtuOf(ns, qr), mtuOf(ns, qg), mtuOf(hostNs, tap), mtuOf(hostNs, tapG)], [1400, 1400, 1400, 1400]);
    // A packet that fits 1400 crosses the router unfragmented; one that does not, with DF set, is refused by the instance's own MTU path.
    assert.equal(nsExec(vm, ['ping', '-c', '1', '-W', '2', '-M', 'do', '-s', '1300', '203.0.113.1']).code, 0, 'a 1328-byte packet through a 1400 port');
    await damageAndRepair('an MTU changed by hand', () => ip('link', 'set', qr, 'mtu', '1500'), [['wrong-mtu', qr]]);
    assert.equal(mtuOf(ns, qr), 1400);
    await run(['config', 'unset', 'network_device_mtu']);
    assert.equal(mtuOf(ns, qr), 1400, 'unset: left as it is, as the agent does');
    assert.equal((await check()).code, 0);
  });

  it("a device named like a new port's tap that is not l3ctl's: interface add fails (exit 1), that device, its peer's address and the store untouched", async (t) => {
    if (!requireE2E(t)) return;
    const id = 'aaaabbbb-cccc-4ddd-8eee-000000000001';
    const foreign = `tap${id.slice(0, 11)}`;
    await run(['network', 'add', 'n4', '--cidr', '192.0.2.0/26']);
    shOk(['ip', '-n', hostNs, 'link', 'add', foreign, 'type', 'veth', 'peer', 'name', 'l3tkz']);
    shOk(['ip', '-n', hostNs, 'addr', 'add', '192.0.2.77/32', 'dev', 'l3tkz']);
    const before = readStore(store.path);
    const r = await l3ctl(['interface', 'add', 'r1', 'n4', '--id', id], opts);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`device ${foreign} in namespace ${hostNs} is not l3ctl's \\(a veth whose other end, l3tkz, is beside it\\)`));
    assert.equal(readStore(store.path), before);
    assert.match(sh(['ip', '-n', hostNs, 'addr', 'show', 'dev', 'l3tkz']).stdout, /inet 192\.0\.2\.77\/32/);
    // Gone, the port plugs.
    shOk(['ip', '-n', hostNs, 'link', 'del', foreign]);
    await run(['interface', 'add', 'r1', 'n4', '--id', id]);
    assert.equal((await check()).code, 0);
    await run(['interface', 'remove', 'r1', 'n4', '--yes']);
    await run(['network', 'delete', 'n4', '--yes']);
  });
});
