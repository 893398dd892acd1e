// The simulated-node harness with l3ctl itself: in a node, l3ctl runs with
// its own store and no host_namespace, plugs its ports into the node's
// bridges (which the fabric joins), and its router namespace exists in that
// node only. This is how HA tests will run the same router on two nodes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { e2eUnavailable, requireE2E } from '../helpers/e2e.js';
import { startNodes, BRIDGES, UPSTREAM, VM, type Node, type Nodes } from '../helpers/nodes.js';
import { connectFrom, startServer, type Server } from '../helpers/peer.js';

const PORT = 7011;

describe('l3ctl inside a simulated node (no host_namespace)', { skip: !!e2eUnavailable() && !process.env.CI, timeout: 60_000 }, () => {
  let env: Nodes | null = null;
  let a: Node;
  let b: Node;
  let routerNs = '';
  const servers: Server[] = [];

  before(async () => {
    if (e2eUnavailable()) return;
    env = await startNodes(['a', 'b']);
    a = env.node('a');
    b = env.node('b');
    const run = async (args: string[]) => {
      const r = await a.l3ctl(args);
      if (r.code !== 0) throw new Error(`l3ctl ${args.join(' ')} in node a exited ${r.code}: ${r.stderr}`);
      return r;
    };
    await run(['config', 'set', 'send_arp_for_ha', '0']);
    // external_network_bridge keeps its default, br-ex: the node's own bridge.
    await run(['network', 'add', 'ext', '--cidr', '203.0.113.0/24', '--gateway-ip', UPSTREAM.ip, '--external', '--bridge', BRIDGES.external]);
    await run(['network', 'add', 'priv', '--cidr', '198.51.100.0/24', '--bridge', BRIDGES.internal]);
    await run(['router', 'add', 'r1']);
    await run(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
    await run(['interface', 'add', 'r1', 'priv']);
    await run(['fip', 'associate', '203.0.113.20', VM.ip]);
    routerNs = `qrouter-${JSON.parse((await run(['router', 'show', 'r1', '-f', 'json'])).stdout).id}`;
    servers.push(await startServer(env.fabric.upstream, PORT), await startServer(env.fabric.vm, PORT));
  });

  after(async () => {
    for (const s of servers) s.stop();
    env?.stop();
  });

  it('the router namespace is in node a only; its ports hang on the node bridges', (t) => {
    if (!requireE2E(t)) return;
    assert.deepEqual(a.namespaces(), [routerNs]);
    assert.deepEqual(b.namespaces(), []);
    const host = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!host.includes(routerNs), 'not in the host /run/netns');
    const bridged = JSON.parse(a.exec(['ip', '-j', 'link', 'show', 'type', 'veth'])) as { ifname: string; master?: string }[];
    const masters = bridged.filter((l) => l.ifname.startsWith('tap')).map((l) => l.master).sort();
    assert.deepEqual(masters, [BRIDGES.external, BRIDGES.internal]);
  });

  it('traffic crosses the fabric: SNAT by the FIP, upstream reaches the VM through it; agent check is clean', async (t) => {
    if (!requireE2E(t)) return;
    assert.equal(connectFrom(env!.fabric.vm, UPSTREAM.ip, PORT), '203.0.113.20');
    assert.equal(connectFrom(env!.fabric.upstream, '203.0.113.20', PORT), UPSTREAM.ip);
    assert.equal((await a.l3ctl(['agent', 'check'])).code, 0);
  });

  it('router delete leaves node a without router namespaces', async (t) => {
    if (!requireE2E(t)) return;
    assert.equal((await a.l3ctl(['router', 'delete', 'r1', '--yes'])).code, 0);
    assert.deepEqual(a.namespaces(), []);
  });
});
