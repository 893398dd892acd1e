// The agent on a real kernel: hand-made damage named by `agent check` and
// repaired by one `agent sync`; the filters making routers appear and
// disappear; re-plumbing under the same port id; one router's failure not
// stopping the others; the state report; the run loop; scoped cleanup.
import { mutatingCommands } from '../helpers/dryrun.js';
import { fakeLock, liveOwner } from '../helpers/lock-owner.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { BIN, l3ctl, l3ctlOk, nsExec, sh, shOk, tempStore, uniqueName, type CliResult } from '../helpers/cli.js';
import { baseCommands, deleteNamespaces, e2eUnavailable, kernelSnapshot, namespaces, requireE2E } from '../helpers/e2e.js';

const store = tempStore();
const tag = uniqueName('l3ctl-t-agent');
const hostNs = `${tag}-h`;
const opts = { store: store.path };
const run = (args: string[]) => l3ctlOk(args, opts);
const cli = (args: string[]) => l3ctl(args, opts);

interface StoredState {
  config: Record<string, string>;
  networks: { id: string; name: string }[];
  routers: { id: string; name: string; admin_state_up: boolean; gateway: { id: string; fixed_ips: { ip_address: string }[]; mac_address: string } | null; interfaces: { id: string }[] }[];
  floatingips: { router_id: string | null; fixed_ip_address: string | null }[];
}
const stored = (): StoredState => JSON.parse(readFileSync(store.path, 'utf8')) as StoredState;

let r1 = '';
let r2 = '';
let ns1 = '';
let ns2 = '';
let qr1 = '';
let qr2 = '';
let qg1 = '';
const extra: string[] = []; // namespaces made by hand, removed in after()

const links = (n: string) => JSON.parse(sh(['ip', '-n', n, '-j', 'addr', 'show']).stdout || '[]') as {
  ifname: string; address: string; master?: string; addr_info: { family: string; local: string; prefixlen: number }[];
}[];
const addrsOf = (n: string, dev: string) => (links(n).find((l) => l.ifname === dev)?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`).sort();
const kernelOf = () => kernelSnapshot([ns1, ns2, hostNs]);
const natSave = (n: string) => nsExec(n, ['iptables-save', '-t', 'nat']).stdout;

/** Commands of a --dry-run that are not reads. */
const mutating = mutatingCommands;

interface Finding { router: string; router_id: string; kind: string; object: string; expected: string | null; live: string | null }
async function check(...refs: string[]): Promise<{ code: number; findings: Finding[]; r: CliResult }> {
  const r = await cli(['agent', 'check', ...refs, '-f', 'json']);
  return { code: r.code, findings: r.stdout.trim() ? (JSON.parse(r.stdout) as Finding[]) : [], r };
}

/** check clean, and a dry-run sync plans no mutating command. */
async function assertConverged(what: string): Promise<void> {
  const c = await check();
  assert.equal(c.code, 0, `${what}: check after sync: ${JSON.stringify(c.findings)} ${c.r.stderr}`);
  assert.deepEqual(c.findings, []);
  const dry = await run(['agent', 'sync', '--dry-run']);
  assert.deepEqual(mutating(dry.stdout), [], `${what}: second sync would change something`);
  assert.match(dry.stdout, /^\+ ip netns exec qrouter-\S+ \/bin\/sh -c .*iptables-save -c/m, 'the dry run reads the kernel');
}

/** Damage, then: check names it (exit 3), one sync repairs it, check is clean, a second sync changes nothing. */
async function damageAndRepair(what: string, damage: () => void, expect: (f: Finding) => boolean): Promise<void> {
  damage();
  const c = await check();
  assert.equal(c.code, 3, `${what}: check exit`);
  assert.ok(c.findings.some(expect), `${what}: no finding names it: ${JSON.stringify(c.findings)}`);
  assert.ok(c.findings.every((f) => f.router === 'r1' && f.router_id === r1), `${what}: only r1 drifted: ${JSON.stringify(c.findings)}`);
  assert.match(c.r.stderr, /drift in 1 router\(s\) \(r1\)/);
  await run(['agent', 'sync']);
  await assertConverged(what);
}

describe('agent', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  before(async () => {
    for (const args of baseCommands(hostNs)) await run(args);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/25']);
    await run(['network', 'add', 'priv2', '--cidr', '198.51.100.128/25']);
    await run(['router', 'add', 'r1']);
    await run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
    await run(['interface', 'add', 'r1', 'priv']);
    await run(['fip', 'associate', '203.0.113.20', '198.51.100.5']);
    await run(['route', 'add', 'r1', '192.0.2.128/25', '198.51.100.126']);
    await run(['router', 'add', 'r2']);
    await run(['interface', 'add', 'r2', 'priv2']);
    const s = stored();
    [r1, r2] = [s.routers[0]!.id, s.routers[1]!.id];
    [ns1, ns2] = [`qrouter-${r1}`, `qrouter-${r2}`];
    qr1 = `qr-${s.routers[0]!.interfaces[0]!.id.slice(0, 11)}`;
    qr2 = `qr-${s.routers[1]!.interfaces[0]!.id.slice(0, 11)}`;
    qg1 = `qg-${s.routers[0]!.gateway!.id.slice(0, 11)}`;
  });

  after(async () => {
    await l3ctl(['router', 'delete', 'r1', 'r2', '--yes'], opts);
    deleteNamespaces([ns1, ns2, hostNs, ...extra].filter(Boolean));
    store.cleanup();
  });

  it('a converged host: check exits 0, sync --dry-run prints only reads', async (t) => {
    if (!requireE2E(t)) return;
    await assertConverged('fresh');
    const table = await cli(['agent', 'check']);
    assert.equal(table.code, 0);
    assert.equal(table.stdout, '');
    assert.match(table.stderr, /no drift: 2 router\(s\) match the store/);
  });

  it('a deleted qr- device is named and re-plugged', async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('qr- deleted', () => shOk(['ip', '-n', ns1, 'link', 'del', qr1]), (f) => f.kind === 'missing-device' && f.object === qr1);
    assert.deepEqual(addrsOf(ns1, qr1), ['198.51.100.1/25']);
  });

  it('a flushed l3ctl-float-snat is named and rewritten', async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair(
      'float-snat flushed',
      () => shOk(['ip', 'netns', 'exec', ns1, 'iptables', '-t', 'nat', '-F', 'l3ctl-float-snat']),
      (f) => f.kind === 'missing-nat-rule' && f.object === '-t nat -A l3ctl-float-snat -s 198.51.100.5/32 -j SNAT --to-source 203.0.113.20 --random-fully',
    );
    assert.match(natSave(ns1), /-A l3ctl-float-snat -s 198.51.100.5\/32 -j SNAT --to-source 203.0.113.20/);
  });

  it('a deleted extra route is named and put back', async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('route deleted', () => shOk(['ip', '-n', ns1, 'route', 'del', '192.0.2.128/25']), (f) => f.kind === 'missing-route' && f.object === '192.0.2.128/25');
    assert.match(sh(['ip', '-n', ns1, 'route', 'show']).stdout, /192\.0\.2\.128\/25 via 198\.51\.100\.126/);
  });

  it('a deleted floating IP /32 is named and re-added', async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('FIP deleted', () => shOk(['ip', '-n', ns1, 'addr', 'del', '203.0.113.20/32', 'dev', qg1]), (f) => f.kind === 'missing-address' && f.object === `203.0.113.20/32 on ${qg1}`);
    assert.deepEqual(addrsOf(ns1, qg1), ['203.0.113.10/24', '203.0.113.20/32']);
  });

  it("a killed metadata proxy is named and started again", async (t) => {
    if (!requireE2E(t)) return;
    const pidFile = `${store.path}.d/routers/${r1}/haproxy.pid`;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await damageAndRepair('proxy killed', () => process.kill(pid, 'SIGKILL'), (f) => f.kind === 'daemon-dead' && f.object === 'haproxy');
    assert.notEqual(Number(readFileSync(pidFile, 'utf8')), pid);
  });

  it('a deleted router namespace is named and rebuilt whole', async (t) => {
    if (!requireE2E(t)) return;
    await damageAndRepair('namespace deleted', () => shOk(['ip', 'netns', 'del', ns1]), (f) => f.kind === 'missing-namespace' && f.object === ns1);
    assert.deepEqual(addrsOf(ns1, qg1), ['203.0.113.10/24', '203.0.113.20/32']);
    assert.deepEqual(addrsOf(ns1, qr1), ['198.51.100.1/25']);
    assert.equal(nsExec(ns1, ['sysctl', '-n', 'net.ipv4.ip_forward']).stdout.trim(), '1');
  });

  it('agent status counts the handled routers as the store has them', async (t) => {
    if (!requireE2E(t)) return;
    const j = JSON.parse((await run(['agent', 'status', '-f', 'json'])).stdout);
    assert.equal(j.binary, 'l3ctl');
    assert.equal(j.topic, 'l3_agent');
    assert.equal(j.agent_type, 'L3 agent');
    assert.ok(!('start_flag' in j));
    assert.ok(Math.abs(Date.parse(j.time) - Date.now()) < 60_000 && j.time.endsWith('Z'));
    assert.deepEqual(j.configurations, {
      use_namespaces: true, router_id: null, handle_internal_only_routers: true, gateway_external_network_id: null,
      interface_driver: 'linuxbridge', routers: 2, ex_gw_ports: 1, interfaces: 2, floating_ips: 1,
    });
    const v = (await run(['agent', 'status', '-f', 'value', '-c', 'routers', '-c', 'interfaces'])).stdout.trim();
    assert.equal(v, '2\t2');
  });

  it('router disable tears r2 down and keeps it; a namespace put back by hand is unwanted; enable rebuilds', async (t) => {
    if (!requireE2E(t)) return;
    await run(['router', 'disable', 'r2', '--yes']);
    assert.ok(!namespaces().includes(ns2), 'r2 namespace gone');
    assert.equal(stored().routers[1]!.admin_state_up, false);
    assert.equal(JSON.parse((await run(['agent', 'status', '-f', 'json'])).stdout).configurations.routers, 1);
    await assertConverged('r2 disabled');

    shOk(['ip', 'netns', 'add', ns2]);
    const c = await check('r2');
    assert.equal(c.code, 3);
    assert.deepEqual(c.findings.map((f) => [f.kind, f.object]), [['unwanted-namespace', ns2]]);
    await run(['agent', 'sync']);
    assert.ok(!namespaces().includes(ns2), 'sync removed the disabled router namespace');

    await run(['router', 'enable', 'r2']);
    assert.deepEqual(addrsOf(ns2, qr2), ['198.51.100.129/25']);
    await assertConverged('r2 enabled');
  });

  it('handle_internal_only_routers false: the internal-only router disappears, and comes back', async (t) => {
    if (!requireE2E(t)) return;
    await run(['config', 'set', 'handle_internal_only_routers', 'false']);
    assert.ok(!namespaces().includes(ns2), 'r2 (no gateway) torn down');
    assert.ok(namespaces().includes(ns1), 'r1 (gateway) kept');
    await assertConverged('internal-only off');
    await run(['config', 'set', 'handle_internal_only_routers', 'true']);
    assert.deepEqual(addrsOf(ns2, qr2), ['198.51.100.129/25']);
    await assertConverged('internal-only on');
  });

  it('gateway_external_network_id: a router on another external network disappears; several networks and none set is the agent error', async (t) => {
    if (!requireE2E(t)) return;
    const extId = stored().networks.find((n) => n.name === 'ext')!.id;
    await run(['config', 'set', 'gateway_external_network_id', extId]);
    await run(['network', 'add', 'ext2', '--cidr', '192.0.2.0/26', '--external']);
    const ext2Id = stored().networks.find((n) => n.name === 'ext2')!.id;
    try {
      await run(['config', 'set', 'gateway_external_network_id', ext2Id]);
      assert.ok(!namespaces().includes(ns1), 'r1 (gateway on ext) torn down');
      assert.ok(namespaces().includes(ns2), 'r2 (internal only) kept');
      await assertConverged('other external network');

      const before = readFileSync(store.path, 'utf8');
      const r = await cli(['config', 'unset', 'gateway_external_network_id']);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.split('\n')[0], "l3ctl: error: The 'gateway_external_network_id' option must be configured for this agent as l3ctl has more than one external network.");
      assert.equal(readFileSync(store.path, 'utf8'), before, 'store untouched');

      await run(['config', 'set', 'gateway_external_network_id', extId]);
      assert.deepEqual(addrsOf(ns1, qg1), ['203.0.113.10/24', '203.0.113.20/32']);
      await assertConverged('back on ext');
    } finally {
      await l3ctl(['config', 'set', 'gateway_external_network_id', extId], opts);
      await l3ctl(['network', 'delete', 'ext2', '--yes'], opts);
      await l3ctl(['config', 'unset', 'gateway_external_network_id'], opts);
    }
    assert.equal(stored().networks.length, 3);
  });

  it("several external networks and none configured: sync and check fail with the agent's message, nothing changed", async (t) => {
    if (!requireE2E(t)) return;
    // Adding a network re-runs no router, so the store can get into this state.
    await run(['network', 'add', 'ext3', '--cidr', '192.0.2.64/26', '--external']);
    try {
      const msg = "l3ctl: error: The 'gateway_external_network_id' option must be configured for this agent as l3ctl has more than one external network.";
      const before = kernelOf();
      const dry = await cli(['agent', 'sync', '--dry-run']);
      assert.equal(dry.code, 2);
      assert.equal(dry.stderr.split('\n')[0], msg);
      assert.equal(dry.stdout, '', 'fails before reading or planning anything');
      const r = await cli(['agent', 'sync']);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.split('\n')[0], msg);
      assert.match(r.stderr, /hint: l3ctl config set gateway_external_network_id/);
      assert.equal(kernelOf(), before);
      assert.equal((await cli(['agent', 'check'])).code, 2);
      // Internal-only routers do not need the external network.
      assert.equal((await cli(['agent', 'sync', 'r2'])).code, 0);
    } finally {
      await l3ctl(['network', 'delete', 'ext3', '--yes'], opts);
    }
    await assertConverged('ext3 removed');
  });

  it('sync takes the store lock (exit 4 while another holds it); --dry-run and check do not', async (t) => {
    if (!requireE2E(t)) return;
    const lockDir = `${store.path}.lock`;
    // A fresh lock held by a process that lives: this test's own.
    fakeLock(store.path, liveOwner());
    try {
      const env = { L3CTL_LOCK_TIMEOUT: '1' };
      const r = await l3ctl(['agent', 'sync'], { ...opts, env });
      assert.equal(r.code, 4, r.stderr);
      assert.equal((await l3ctl(['agent', 'sync', '--dry-run'], { ...opts, env })).code, 0);
      assert.equal((await l3ctl(['agent', 'check'], { ...opts, env })).code, 0);
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
    }
    assert.equal((await cli(['agent', 'run', '--interval', '0'])).code, 2);
    assert.equal((await cli(['agent', 'run', '--interval', 'soon'])).code, 2);
  });

  it('a gateway changed under the same port id is re-plumbed: new address, new MAC', async (t) => {
    if (!requireE2E(t)) return;
    const portId = stored().routers[0]!.gateway!.id;
    try {
      await run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.11']);
      assert.equal(stored().routers[0]!.gateway!.id, portId, 'same port id');
      assert.deepEqual(addrsOf(ns1, qg1), ['203.0.113.11/24', '203.0.113.20/32']);
      assert.match(natSave(ns1), /-A l3ctl-snat -s 198\.51\.100\.0\/25 -j SNAT --to-source 203\.0\.113\.11/);
      assert.doesNotMatch(natSave(ns1), /203\.0\.113\.10\b/);
      await run(['gateway', 'set', 'r1', 'ext', '--mac', 'fa:16:3e:12:34:56']);
      assert.equal(stored().routers[0]!.gateway!.id, portId, 'same port id');
      assert.equal(links(ns1).find((l) => l.ifname === qg1)!.address, 'fa:16:3e:12:34:56');
      await assertConverged('re-plumbed');
    } finally {
      await l3ctl(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10'], opts);
    }
    assert.deepEqual(addrsOf(ns1, qg1), ['203.0.113.10/24', '203.0.113.20/32']);
  });

  it("one router's failure (missing operator bridge) is reported, the others still converge, exit 1", async (t) => {
    if (!requireE2E(t)) return;
    const good = readFileSync(store.path, 'utf8');
    const s = JSON.parse(good) as StoredState;
    // Set by hand: `config set` would refuse it (rolled back) as r1 cannot be built with it.
    s.config.external_network_bridge = 'l3ctl-t-nobr';
    try {
      writeFileSync(store.path, JSON.stringify(s, null, 2));
      shOk(['ip', '-n', ns1, 'link', 'del', qr1]);
      shOk(['ip', '-n', ns2, 'link', 'del', qr2]);
      const r = await cli(['agent', 'sync']);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.split('\n');
      assert.match(lines[0]!, /^l3ctl: error: router r1: external network bridge 'l3ctl-t-nobr' does not exist/);
      assert.ok(!r.stderr.includes('router r2:'), r.stderr);
      assert.match(r.stderr, /l3ctl: error: 1 router\(s\) failed to converge: r1/);
      assert.deepEqual(addrsOf(ns2, qr2), ['198.51.100.129/25'], 'r2 repaired');
      assert.equal((await check('r2')).code, 0);
      const c1 = await check('r1');
      assert.equal(c1.code, 3);
      assert.ok(c1.findings.some((f) => f.kind === 'missing-bridge' && f.object === 'l3ctl-t-nobr'));
    } finally {
      writeFileSync(store.path, good);
    }
    await run(['agent', 'sync']);
    await assertConverged('after the failure');
  });

  it('a router whose namespace cannot be entered is reported by sync and check; the others converge and are checked', async (t) => {
    if (!requireE2E(t)) return;
    await run(['router', 'add', 'r3']);
    const r3 = stored().routers.find((r) => r.name === 'r3')!.id;
    const ns3 = `qrouter-${r3}`;
    extra.push(ns3);
    try {
      // Unmounted, the name stays in /run/netns but no longer refers to a namespace.
      shOk(['umount', `/run/netns/${ns3}`]);
      shOk(['ip', '-n', ns1, 'link', 'del', qr1]);
      const r = await cli(['agent', 'sync']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^l3ctl: error: router r3: command failed .*${ns3}`, 'm'));
      assert.match(r.stderr, /1 router\(s\) failed to converge: r3/);
      assert.deepEqual(addrsOf(ns1, qr1), ['198.51.100.1/25'], 'r1 repaired');
      const c = await cli(['agent', 'check', '-f', 'json']);
      assert.equal(c.code, 1);
      assert.deepEqual(JSON.parse(c.stdout), [], 'r1 and r2 checked: no drift');
      assert.match(c.stderr, /l3ctl: error: router r3: /);
    } finally {
      rmSync(`/run/netns/${ns3}`, { force: true });
    }
    await run(['router', 'delete', 'r3']);
    await assertConverged('r3 gone');
  });

  it('agent run --log-format json: one object per pass with the state report (start_flag only first), repairs between passes, SIGTERM ends it with 0', async (t) => {
    if (!requireE2E(t)) return;
    const child = spawn(process.execPath, [BIN, 'agent', 'run', '--interval', '1', '--log-format', 'json'], { env: { ...process.env, L3CTL_STORE: store.path }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const lines = (): string[] => out.split('\n').filter(Boolean);
    const waitLines = (n: number) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${n} reports; stdout ${out} stderr ${err}`)), 20_000);
      const onData = (d: Buffer) => {
        out += d;
        if (lines().length >= n) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve();
        }
      };
      child.stdout.on('data', onData);
    });
    try {
      await waitLines(1);
      shOk(['ip', '-n', ns1, 'addr', 'del', '203.0.113.20/32', 'dev', qg1]);
      await waitLines(3); // the pass after the damage has surely run by then
      const passes = lines().map((l) => JSON.parse(l));
      assert.deepEqual(passes.map((p) => p.pass), passes.map((_, i) => i + 1), 'one line per pass');
      assert.ok(passes.every((p) => p.level === 'info' && p.routers === 2 && p.failed.length === 0), out);
      assert.deepEqual(passes[0].changed, [], 'converged before the loop started');
      assert.ok(passes.slice(1).some((p) => p.changed.includes('r1')), `the repair is logged: ${out}`);
      assert.equal(passes[0].report.start_flag, true);
      assert.ok(passes.slice(1).every((r: { report: Record<string, unknown> }) => !('start_flag' in r.report)));
      assert.equal(passes[1].report.configurations.routers, 2);
      assert.deepEqual(addrsOf(ns1, qg1), ['203.0.113.10/24', '203.0.113.20/32'], 'repaired by the loop');
      const code = await new Promise<number | null>((resolve) => {
        child.on('close', (c) => resolve(c));
        child.kill('SIGTERM');
      });
      assert.equal(code, 0, err);
      assert.equal(err, '');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('agent cleanup (scoped by router_id): an unknown namespace with a device is kept; --force asks, dry-runs, removes it; managed ones stay', async (t) => {
    if (!requireE2E(t)) return;
    const stale = randomUUID();
    const sns = `qrouter-${stale}`;
    const dev = `qr-${stale.slice(0, 11)}`;
    const tap = `tap${stale.slice(0, 11)}`;
    extra.push(sns);
    shOk(['ip', 'netns', 'add', sns]);
    shOk(['ip', '-n', hostNs, 'link', 'add', tap, 'type', 'veth', 'peer', 'name', dev, 'netns', sns]);
    // use_namespaces is true, so router_id does not filter routers: it only scopes the cleanup.
    await run(['config', 'set', 'router_id', stale]);
    try {
      // No store on this host owns it, and it still holds a device: listed, kept.
      const kept = await run(['agent', 'cleanup']);
      assert.match(kept.stderr, new RegExp(`keeping 1 router namespace\\(s\\) no store on this host owns, still in use \\(--force removes them\\):\\n  ${sns} \\(devices ${dev}\\)\\n`));
      assert.match(kept.stderr, /no stale router namespaces/);
      assert.ok(namespaces().includes(sns));

      const noTty = await cli(['agent', 'cleanup', '--force']);
      assert.equal(noTty.code, 6);
      assert.match(noTty.stderr, new RegExp(`will remove 1 stale router namespace\\(s\\):\\n  ${sns} \\(devices ${dev}\\)`));
      assert.match(noTty.stderr, /l3ctl: error: confirmation needed/);
      assert.ok(namespaces().includes(sns));

      const dry = await run(['agent', 'cleanup', '--force', '--dry-run']);
      assert.deepEqual(mutating(dry.stdout).filter((l) => !l.startsWith('+ ip netns pids ')), [`+ ip -n ${sns} -force -batch -`, `  link del ${dev}`, `+ ip netns del ${sns}`]);
      assert.ok(namespaces().includes(sns));

      const r = await run(['agent', 'cleanup', '--force', '--yes']);
      assert.match(r.stderr, new RegExp(`removed ${sns}`));
      assert.ok(!namespaces().includes(sns), 'stale namespace gone');
      assert.ok(!links(hostNs).some((l) => l.ifname === tap), 'its host end went with it');
      assert.ok(namespaces().includes(ns1) && namespaces().includes(ns2), 'managed namespaces kept');

      // Scoped to a managed router: nothing to do.
      await run(['config', 'set', 'router_id', r1]);
      const none = await run(['agent', 'cleanup']);
      assert.match(none.stderr, /no stale router namespaces/);
      assert.ok(namespaces().includes(ns1));
    } finally {
      await l3ctl(['config', 'unset', 'router_id'], opts);
    }
    await assertConverged('after cleanup');
  });
});

describe('agent: use_namespaces false', { skip: !!e2eUnavailable() && !process.env.CI }, () => {
  const st = tempStore();
  const h = `${uniqueName('l3ctl-t-agns')}-h`;
  const o = { store: st.path };
  const ids: string[] = [];

  after(() => {
    deleteNamespaces([...ids.map((i) => `qrouter-${i}`), h]);
    st.cleanup();
  });

  it('needs router_id (clear error, exit 2); then only that router is handled, and the others come back with namespaces on', async (t) => {
    if (!requireE2E(t)) return;
    await l3ctlOk(['config', 'set', 'host_namespace', h], o);
    await l3ctlOk(['router', 'add', 'ra'], o);
    await l3ctlOk(['router', 'add', 'rb'], o);
    const s = JSON.parse(readFileSync(st.path, 'utf8')) as StoredState;
    ids.push(s.routers[0]!.id, s.routers[1]!.id);
    const [na, nb] = ids.map((i) => `qrouter-${i}`);
    assert.ok(namespaces().includes(na!) && namespaces().includes(nb!));

    const bad = await l3ctl(['config', 'set', 'use_namespaces', 'false'], o);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr.split('\n')[0]!, /^l3ctl: error: router_id is required when use_namespaces is false/);

    await l3ctlOk(['config', 'set', 'router_id', ids[0]!], o);
    const set = await l3ctlOk(['config', 'set', 'use_namespaces', 'false'], o);
    assert.ok(!namespaces().includes(nb!), 'rb (not router_id) torn down');
    assert.equal(JSON.parse((await l3ctlOk(['agent', 'status', '-f', 'json'], o)).stdout).configurations.routers, 1);
    assert.equal((await l3ctl(['agent', 'check'], o)).code, 0);
    void set;

    await l3ctlOk(['config', 'set', 'use_namespaces', 'true'], o);
    assert.ok(namespaces().includes(nb!), 'rb back');
    await l3ctlOk(['router', 'delete', 'ra', 'rb'], o);
  });
});
