// The benchmark's pure parts (bench/lib): generated stores are valid and
// shaped as the figures say, the converged-sync counter tells reads from
// writes, the floor script uses one batch per namespace, and a row's verdict
// follows its goal.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkState } from '../../src/model/validate.js';
import { growthShape, listStore, manyFipsShape, neutronShape, scaleShape } from '../../bench/lib/topology.js';
import { floorBuildScript, floorReadScript, isReadOnly, verboseCommands } from '../../bench/lib/floor.js';
import { missing, ratioGoal, ratioRow, renderSection, row } from '../../bench/lib/report.js';

describe('bench stores', () => {
  it('are accepted by checkState and have the sizes the figures name', () => {
    const list = listStore(500);
    assert.equal(list.routers.length, 500);
    const scale = scaleShape(200, {});
    assert.equal(scale.routers.length, 200);
    assert.equal(scale.floatingips.length, 50);
    const g = growthShape({});
    assert.equal(g.state.floatingips.filter((f) => f.router_id === g.state.routers[0]!.id).length, 200);
    assert.throws(() => manyFipsShape(251, {}), /at most 250 FIPs/);
    assert.equal(manyFipsShape(250, {}).floatingips.at(-1)!.floating_ip_address, '203.0.113.252');
    for (const s of [list, scale, g.state, manyFipsShape(250, {})]) checkState(s);
  });

  it('neutronShape hands out the anchor harness addresses (10 × 2 × 5)', () => {
    const { state, spare } = neutronShape(10, 2, 5, {});
    assert.equal(state.routers.length, 10);
    assert.equal(state.floatingips.length, 50);
    const r0 = state.routers[0]!;
    assert.equal(r0.gateway!.fixed_ips[0]!.ip_address, '203.0.113.2');
    assert.deepEqual(r0.interfaces.map((p) => p.fixed_ips[0]!.ip_address), ['198.51.100.1', '198.51.100.17']);
    // FIP j of router r: host 1 + j div I of subnet j mod I; gateways and FIPs in the harness's order.
    assert.deepEqual(state.floatingips.slice(0, 5).map((f) => [f.floating_ip_address, f.fixed_ip_address]), [
      ['203.0.113.3', '198.51.100.2'], ['203.0.113.4', '198.51.100.18'], ['203.0.113.5', '198.51.100.3'], ['203.0.113.6', '198.51.100.19'], ['203.0.113.7', '198.51.100.4'],
    ]);
    assert.equal(state.routers[9]!.gateway!.fixed_ips[0]!.ip_address, '203.0.113.56');
    assert.deepEqual(spare, { fip: '203.0.113.62', fixed: '198.51.100.20', router: 'r0' });
  });

  it('ids and MACs are fresh on every call (benchmarks never share kernel names)', () => {
    const [a, b] = [neutronShape(1, 1, 1, {}), neutronShape(1, 1, 1, {})];
    assert.notEqual(a.state.routers[0]!.id, b.state.routers[0]!.id);
    const macs = scaleShape(200, {}).routers.flatMap((r) => [r.gateway!, ...r.interfaces].map((p) => p.mac_address));
    assert.equal(new Set(macs).size, macs.length);
  });
});

describe('converged-sync command counter', () => {
  it('reads the -v lines and counts only reads as read-only', () => {
    const stderr = [
      '+ ip -n h -j addr show  (17.7 ms, exit 0)',
      '+ ip netns exec qrouter-x iptables-save  (20.2 ms, exit 0)',
      '+ ip netns exec qrouter-x sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.promote_secondaries  (15.8 ms, exit 0)',
      '+ ip -n qrouter-x -j route show table main  (21.5 ms, exit 0)',
      '+ ip -n qrouter-x -j -batch -  (12.5 ms, exit 0)',
      '+ ip netns exec qrouter-x iptables-restore -w --noflush  (92.2 ms, exit 0)',
      '+ ip -n qrouter-x -batch -  (47.0 ms, exit 0)',
      '+ ip netns exec qrouter-x sysctl -q -w net.ipv4.ip_forward=1  (5 ms, exit 0)',
      '+ conntrack -D -d 203.0.113.5  (5 ms, exit 1)',
      'synced 1 router(s), 0 changed',
    ].join('\n');
    const cmds = verboseCommands(stderr);
    assert.equal(cmds.length, 9);
    assert.equal(cmds[0], 'ip -n h -j addr show');
    assert.deepEqual(cmds.map(isReadOnly), [true, true, true, true, true, false, false, false, false]);
    assert.equal(isReadOnly('ip netns add qrouter-x'), false);
    assert.equal(isReadOnly('ip link set dev qg-x up'), false);
  });
});

describe('floor scripts', () => {
  it('one netns batch, one ip -batch per namespace, one iptables-restore and one sysctl per router', () => {
    const { state } = neutronShape(3, 2, 5, {});
    const rules = new Map(state.routers.map((r) => [`qrouter-${r.id}`, '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n']));
    const script = floorBuildScript(state, 'l3ctl-bench-x', rules);
    const count = (re: RegExp) => (script.match(re) ?? []).length;
    assert.equal(count(/^ip -batch -/gm), 1);
    assert.equal(count(/^ip -n \S+ -batch -/gm), 1 + 3);
    assert.equal(count(/iptables-restore <</gm), 3);
    assert.equal(count(/sysctl -q -w/gm), 3);
    assert.equal(count(/^addr add 203\.0\.113\.\d+\/32 /gm), 15);
    assert.match(script, /^route replace default via 203\.0\.113\.1 dev qg-/m);
    assert.equal((floorReadScript(state, 'l3ctl-bench-x').match(/qrouter-/g) ?? []).length, 3);
  });
});

describe('report rows', () => {
  it('a verdict follows the goal; n/a when not measured', () => {
    assert.equal(ratioRow('x', 300, 100, ratioGoal('<=', 2)).met, false);
    assert.equal(ratioRow('x', 150, 100, ratioGoal('<=', 2)).met, true);
    assert.equal(ratioRow('x', 150, 100, ratioGoal('>=', 2)).met, false);
    assert.equal(row('n', 0, { op: '==', limit: 0, unit: '' }).met, true);
    const out = renderSection({ title: 'T', rows: [ratioRow('slow', 300, 100, ratioGoal('<=', 2)), missing('apply', 'l3ctl apply not available', ratioGoal('>=', 10))], notes: [] });
    assert.match(out, /^slow +3\.00× \(300 ms \/ 100 ms\) +≤ 2× +NO$/m);
    assert.match(out, /^apply +n\/a \(l3ctl apply not available\) +≥ 10× +n\/a$/m);
  });
});
