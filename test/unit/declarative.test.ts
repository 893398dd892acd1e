// A document applied to a store (src/agent/declarative.ts): identity and
// defaults, every whole-state problem at its path in the file, the diff
// lines, prune, and the apply as one transaction (bounded, rolled back) with
// a recording runner: no root. The real kernel: test/e2e/declarative.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { applyDocument, diffLine, diffStates, planDocument, type DocumentPlan } from '../../src/agent/declarative.js';
import { InvalidDocument, problemLine, readDocument, renderDocument, toDocument } from '../../src/agent/document.js';
import type { TxDeps } from '../../src/agent/transaction.js';
import { CommandError, type RunOptions, type RunResult, type Runner } from '../../src/linux/runner.js';
import type { State } from '../../src/model/types.js';
import { tempStore } from '../helpers/cli.js';
import { IDS, NODE_CONFIG, siteState } from '../helpers/site.js';
import { emptyRead } from '../helpers/empty-reads.js';

/** A document network or port as version 1 wrote it (one cidr, one ip_address), in version 2's shape. */
const N = ({ cidr, gateway_ip, ...rest }: { name: string; cidr: string; gateway_ip?: string | null; [k: string]: unknown }) => ({ ...rest, subnets: [{ cidr, ...(gateway_ip === undefined ? {} : { gateway_ip }) }] });
const P = ({ ip_address, ...rest }: { network: string; ip_address?: string; [k: string]: unknown }) => (ip_address === undefined ? rest : { ...rest, fixed_ips: [{ ip_address }] });
const docObject = (s: State = siteState()) => parseYaml(renderDocument(toDocument(s), 'yaml')) as Record<string, any>;
const read = (o: unknown) => readDocument(renderDocument(o as never, 'yaml'), 'site.yaml');
const empty = (): State => ({ version: 3, config: { ...NODE_CONFIG }, networks: [], routers: [], floatingips: [] });
let seq = 0;
const ids = { newId: () => `${(++seq).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, newMac: () => `fa:16:3e:aa:00:${(++seq % 256).toString(16).padStart(2, '0')}` };
const plan = (current: State, o: unknown, prune = false): DocumentPlan => planDocument(current, read(o), { ...ids, prune });
/** Problems without the file's line numbers. */
const problems = (p: DocumentPlan) => p.problems.map((x) => problemLine('site.yaml', { ...x, line: undefined }).replace(/^site\.yaml: /, ''));
const lines = (p: DocumentPlan) => p.changes.map(diffLine);

describe('identity and defaults', () => {
  it('the same document again: no change, the router it names still converged (its drift repaired)', () => {
    const p = plan(siteState(), docObject());
    assert.deepEqual(problems(p), []);
    assert.deepEqual(lines(p), []);
    assert.deepEqual(p.next, siteState());
    assert.deepEqual(p.routers, [IDS.r1]);
  });

  it('without ids and MACs: objects found by name (ports by router and network, FIPs by address); ids and MACs kept', () => {
    const o = docObject();
    for (const n of o.networks) delete n.id;
    delete o.routers[0].id;
    for (const p of [o.routers[0].gateway, ...o.routers[0].interfaces]) {
      delete p.id;
      delete p.mac_address;
    }
    delete o.floatingips[0].id;
    const p = plan(siteState(), o);
    assert.deepEqual(problems(p), []);
    assert.deepEqual(p.next, siteState());
  });

  it('a hand-written document: defaults as the single commands have them, inferences as fip associate makes them', () => {
    const o = {
      apiVersion: 'l3ctl/v1',
      kind: 'Site',
      storeVersion: 1,
      networks: [
        { name: 'ext', cidr: '203.0.113.0/24', external: true },
        { name: 'priv', cidr: '198.51.100.0/24' },
      ],
      routers: [{ name: 'r1', gateway: { network: 'ext' }, interfaces: [{ network: 'priv' }] }],
      floatingips: [{ floating_ip_address: '203.0.113.20', fixed_ip_address: '198.51.100.5' }, { floating_ip_address: '203.0.113.21' }],
    };
    const p = plan(empty(), o);
    assert.deepEqual(problems(p), []);
    const [ext, priv] = p.next.networks;
    assert.equal(ext!.subnets[0]!.gateway_ip, '203.0.113.1', 'first host, as network add');
    const r = p.next.routers[0]!;
    assert.equal(r.admin_state_up, true);
    assert.deepEqual(r.gateway!.fixed_ips.map((f) => f.ip_address), ['203.0.113.2'], 'first free, as gateway set');
    assert.deepEqual(r.interfaces[0]!.fixed_ips.map((f) => f.ip_address), ['198.51.100.1'], "the subnet's gateway IP, as interface add");
    assert.match(r.interfaces[0]!.mac_address, /^fa:16:3e:/);
    assert.deepEqual(p.next.floatingips.map((f) => [f.floating_ip_address, f.floating_network_id, f.fixed_ip_address, f.router_id]), [
      ['203.0.113.20', ext!.id, '198.51.100.5', r.id],
      ['203.0.113.21', ext!.id, null, null],
    ]);
    assert.equal(priv!.external, false);
    // Applied, then applied again: the generated ids, MACs and gateway address stay.
    const again = plan(p.next, o);
    assert.deepEqual(lines(again), []);
    assert.deepEqual(again.next, p.next);
  });

  it('what cannot be inferred is a problem at its path', () => {
    const s = siteState();
    // A second router behind the same fixed IP space (tenants reuse addresses).
    const o = docObject(s);
    o.networks.push(N({ name: 'priv2', cidr: '198.51.100.0/24' }));
    o.routers.push({ name: 'r2', gateway: P({ network: 'ext', ip_address: '203.0.113.11' }), interfaces: [{ network: 'priv2' }] });
    o.floatingips.push({ floating_ip_address: '203.0.113.21', fixed_ip_address: '198.51.100.6' });
    o.floatingips.push({ floating_ip_address: '192.0.2.9', fixed_ip_address: '198.51.100.7', router: 'r1' });
    o.networks.push(N({ name: 'nogw', cidr: '192.0.2.0/25', gateway_ip: null }));
    o.routers[0].interfaces.push({ network: 'nogw' });
    assert.deepEqual(problems(plan(s, o)), [
      "routers[0].interfaces[1].fixed_ips: network 'nogw' has no gateway IP: expected the interface's addresses",
      'floatingips[1].router: fixed IP 198.51.100.6 is on subnets of several routers: r1, r2: expected the router',
      "floatingips[2].network: floating IP 192.0.2.9 is on no external network: expected an address in an external network's subnet",
    ]);
  });

  it('unknown references: named at their path', () => {
    const o = docObject();
    o.routers[0].interfaces[0].network = 'prv';
    o.floatingips[0].router = 'r9';
    assert.deepEqual(problems(plan(siteState(), o)), [
      "routers[0].interfaces[0].network: unknown network 'prv': expected the name or id of a network in the file or the store",
      "floatingips[0].router: unknown router 'r9': expected the name or id of a router in the file or the store",
    ]);
  });
});

describe('whole-state rules: each at its path in the file', () => {
  // What the single commands refuse (test/helpers/error-cases.ts), said by the file.
  const cases: [string, (o: Record<string, any>) => void, string][] = [
    ['gateway address outside the external subnet', (o) => (o.routers[0].gateway.fixed_ips[0].ip_address = '192.0.2.10'), "routers[0].gateway.fixed_ips[0].ip_address: gateway address 192.0.2.10 on external network 'ext' is outside 203.0.113.0/24: expected a host address from 203.0.113.1 to 203.0.113.254"],
    ['gateway address the upstream gateway', (o) => (o.routers[0].gateway.fixed_ips[0].ip_address = '203.0.113.1'), "routers[0].gateway.fixed_ips[0].ip_address: gateway address 203.0.113.1 is already used by the gateway IP of network 'ext': expected a free address"],
    ["network's gateway IP outside its subnet", (o) => (o.networks[1].subnets[0].gateway_ip = '192.0.2.5'), "networks[1].subnets[0].gateway_ip: gateway IP 192.0.2.5 of network 'priv' is outside 198.51.100.0/24: expected a host address from 198.51.100.1 to 198.51.100.254"],
    ['interface IP the broadcast address', (o) => (o.routers[0].interfaces[0].fixed_ips[0].ip_address = '198.51.100.255'), "routers[0].interfaces[0].fixed_ips[0].ip_address: interface IP 198.51.100.255 on network 'priv' is the broadcast address of 198.51.100.0/24: expected a host address from 198.51.100.1 to 198.51.100.254"],
    ['external network as an interface', (o) => (o.routers[0].interfaces[0].network = 'ext'), "routers[0].interfaces[0].network: network 'ext' is external: expected an internal network for an interface; an external one can only be a gateway"],
    ['internal network as the gateway', (o) => (o.routers[0].gateway.network = 'priv'), "routers[0].gateway.network: network 'priv' is not external: expected an external network for a gateway"],
    ["one router's subnets overlapping", (o) => { o.networks.push(N({ name: 'over', cidr: '198.51.100.0/25' })); o.routers[0].interfaces.push(P({ network: 'over', ip_address: '198.51.100.2' })); }, "routers[0].interfaces[1].network: 198.51.100.0/25 of network 'over' overlaps 198.51.100.0/24 of network 'priv' on router 'r1': expected subnets that overlap no other subnet of the router"],
    ['a bridge name another network has', (o) => o.networks.push(N({ name: 'n9', cidr: '192.0.2.0/25', id: `${IDS.priv.slice(0, 11)}ff-4fff-8fff-ffffffffffff` })), `networks[2].id: bridge brq${IDS.priv.slice(0, 11)} of network 'n9' is already the kernel name of network 'priv': expected an id whose first 11 characters are new`],
    ['a MAC twice', (o) => (o.routers[0].gateway.mac_address = o.routers[0].interfaces[0].mac_address), "routers[0].gateway.mac_address: MAC address fa:16:3e:00:00:01 for the gateway of router 'r1' is already used by router 'r1' port e5000000"],
    ['FIP the broadcast address', (o) => (o.floatingips[0].floating_ip_address = '203.0.113.255'), "floatingips[0].floating_ip_address: floating IP 203.0.113.255 on external network 'ext' is the broadcast address of 203.0.113.0/24: expected a host address from 203.0.113.1 to 203.0.113.254"],
    ['FIP the router gateway address', (o) => (o.floatingips[0].floating_ip_address = '203.0.113.10'), "floatingips[0].floating_ip_address: floating IP 203.0.113.10 is already used by the gateway of router 'r1': expected a free address"],
    ['a fixed IP with two FIPs', (o) => o.floatingips.push({ floating_ip_address: '203.0.113.21', fixed_ip_address: '198.51.100.5', router: 'r1' }), 'floatingips[1].fixed_ip_address: fixed IP 198.51.100.5 already has floating IP 203.0.113.20: expected one floating IP per fixed IP'],
    ["fixed IP the router's own address", (o) => (o.floatingips[0].fixed_ip_address = '198.51.100.1'), "floatingips[0].fixed_ip_address: fixed IP 198.51.100.1 is the router's own interface address: expected the address of a machine behind it"],
    ['FIP on a router without a gateway', (o) => (o.routers[0].gateway = null), "floatingips[0].router: router 'r1' has no gateway on network 'ext': floating IP 203.0.113.20 cannot reach it"],
    ['route to 0.0.0.0/0', (o) => (o.routers[0].routes[0].destination = '0.0.0.0/0'), "routers[0].routes[0].destination: route 0.0.0.0/0 via 198.51.100.254 of router 'r1': a /0 destination is the default route, which the gateway owns"],
    ['route onto a subnet of the router', (o) => (o.routers[0].routes[0].destination = '198.51.100.0/25'), "routers[0].routes[0].destination: route 198.51.100.0/25 via 198.51.100.254 of router 'r1': 198.51.100.0/25 overlaps 198.51.100.0/24 of network 'priv', a subnet of the router (its connected route must stay): expected a destination off the router's subnets"],
    ["route via the router's own address", (o) => (o.routers[0].routes[0].nexthop = '198.51.100.1'), "routers[0].routes[0].nexthop: nexthop 198.51.100.1 of route 192.0.2.128/25 is the router's own address on network 'priv': expected another host on that subnet"],
    ['route nexthop on no subnet', (o) => (o.routers[0].routes[0].nexthop = '192.0.2.9'), "routers[0].routes[0].nexthop: nexthop 192.0.2.9 of route 192.0.2.128/25 is on none of the subnets of router 'r1': expected an address in 198.51.100.0/24 or 203.0.113.0/24"],
  ];
  for (const [what, breakIt, want] of cases) {
    it(what, () => {
      const o = docObject();
      breakIt(o);
      assert.deepEqual(problems(plan(siteState(), o)), [want]);
      // Against an empty store too: the file alone is wrong.
      assert.deepEqual(problems(plan(empty(), o)), [want]);
    });
  }

  it('several at once: every one, in file order, with its line', () => {
    const o = docObject();
    cases[0]![1](o);
    cases[14]![1](o);
    cases[12]![1](o);
    const p = plan(siteState(), o);
    assert.deepEqual(problems(p), [cases[0]![2], cases[14]![2], cases[12]![2]]);
    const text = renderDocument(o as never, 'yaml').split('\n');
    assert.equal(text[p.problems[0]!.line! - 1], '        - ip_address: 192.0.2.10');
  });

  it('a name the store has for another object: the file is wrong at its path', () => {
    const o = docObject();
    // Another router (another id), also named r1, with its own port on priv.
    o.routers[0] = { name: 'r1', id: 'ff000000-0000-4000-8000-0000000000ff', interfaces: [P({ network: 'priv', ip_address: '198.51.100.2' })] };
    o.floatingips = [];
    assert.deepEqual(problems(plan(siteState(), o)), ["routers[0].name: a router named 'r1' already exists: expected a new name"]);
  });

  it('the file changes an address onto one kept from the store: the line the file changed is named, not the kept object', () => {
    const o = docObject();
    o.floatingips = []; // kept: 203.0.113.20
    o.routers[0].gateway.fixed_ips[0].ip_address = '203.0.113.20';
    assert.deepEqual(problems(plan(siteState(), o)), [
      'routers[0].gateway.fixed_ips[0].ip_address: gateway address 203.0.113.20 is already used by floating IP 203.0.113.20: expected a free address',
    ]);
  });

  it('changing where devices live under existing ports is refused, as config set refuses it', () => {
    const o = docObject();
    o.config.use_namespaces = 'false';
    o.config.router_id = IDS.r1;
    assert.deepEqual(problems(plan(siteState(), o)), ["config.use_namespaces: cannot change use_namespaces while routers have ports: expected it unset (remove the routers or their ports first, or apply to an empty store)"]);
  });

  it("the agent's own refusals: two external networks and no gateway_external_network_id", () => {
    const o = docObject();
    o.networks.push(N({ name: 'ext2', cidr: '192.0.2.0/24', external: true }));
    const p = plan(siteState(), o);
    assert.equal(problems(p).length, 1);
    assert.match(problems(p)[0]!, /^routers\[0\]\.gateway: The 'gateway_external_network_id' option must be configured/);
  });
});

describe('diff, object by object', () => {
  it('added, changed and removed objects in the store\'s terms', () => {
    const s = siteState();
    const o = docObject(s);
    o.config.send_arp_for_ha = '3';
    o.routers.push({ name: 'r2' });
    o.floatingips[0].fixed_ip_address = '198.51.100.6';
    o.routers[0].routes = [{ destination: '192.0.2.0/26', nexthop: '198.51.100.254' }];
    o.routers[0].interfaces[0].fixed_ips[0].ip_address = '198.51.100.2';
    o.networks[1].subnets[0].gateway_ip = '198.51.100.254';
    o.routers[0].routes[0].nexthop = '198.51.100.253';
    const p = plan(s, o);
    assert.deepEqual(problems(p), []);
    assert.deepEqual(lines(p), [
      '~ config send_arp_for_ha: value 0 → 3',
      '~ network priv: gateway_ip 198.51.100.1 → 198.51.100.254',
      '~ interface r1 priv: ip 198.51.100.1 → 198.51.100.2',
      '+ route r1 192.0.2.0/26 via 198.51.100.253',
      '- route r1 192.0.2.128/25 via 198.51.100.254',
      '+ router r2',
      '~ fip 203.0.113.20: fixed 198.51.100.5 → 198.51.100.6',
    ]);
  });

  it('a removed router lists its parts; networks are removed last', () => {
    const s = siteState();
    const lines2 = diffStates(s, empty()).map(diffLine);
    assert.deepEqual(lines2, [
      '- config external_network_bridge ""',
      '- config send_arp_for_ha 0',
      '- router r1',
      '- gateway r1 ext 203.0.113.10',
      '- interface r1 priv 198.51.100.1',
      '- route r1 192.0.2.128/25 via 198.51.100.254',
      '- fip 203.0.113.20 → 198.51.100.5 (router r1)',
      '- network ext 203.0.113.0/24',
      '- network priv 198.51.100.0/24',
    ]);
  });
});

describe('HA routers: ha and ha_vr_id', () => {
  /** siteState with r1 an HA router of VRRP id 1 (its gateway, interface and FIP stay). */
  const haSite = (): State => {
    const s = siteState();
    Object.assign(s.routers[0]!, { ha: true, ha_vr_id: 1 });
    return s;
  };
  /** A router r2 without ports. */
  const withBare = (s: State, ha: boolean): State => {
    s.routers.push({ id: 'a2000000-0000-4000-8000-0000000000a2', name: 'r2', admin_state_up: true, ha, ha_vr_id: ha ? 2 : null, gateway: null, interfaces: [], routes: [] });
    return s;
  };
  const lineOf = (o: unknown, p: DocumentPlan) => renderDocument(o as never, 'yaml').split('\n')[p.problems[0]!.line! - 1];

  it("export on one node, apply on another (README's HA recipe): the same ids and VRRP id; again: no change", () => {
    const o = docObject(haSite());
    const p = plan(empty(), o);
    assert.deepEqual(problems(p), []);
    assert.deepEqual(p.next.routers, haSite().routers);
    const again = plan(p.next, o);
    assert.deepEqual(lines(again), []);
    assert.deepEqual(again.next, p.next);
  });

  it('another ha_vr_id: a change diff and apply list, with what it means', () => {
    const o = docObject(haSite());
    o.routers[0].ha_vr_id = 9;
    const p = plan(haSite(), o);
    assert.deepEqual(problems(p), []);
    assert.deepEqual(lines(p), ['~ router r1: ha_vr_id 1 → 9 (another VRRP group: every node must give it the same id)']);
    assert.equal(p.next.routers[0]!.ha_vr_id, 9);
    assert.deepEqual(p.routers, [IDS.r1]);
  });

  it('ha flipped on a router with ports: refused at its line, as router set --ha/--no-ha refuses it', () => {
    const off = docObject(haSite());
    off.routers[0].ha = false;
    delete off.routers[0].ha_vr_id;
    const p = plan(haSite(), off);
    assert.deepEqual(problems(p), [
      "routers[0].ha: cannot make router 'r1' a legacy (non-HA) router while it has ports: expected ha: true (change ha while the router has no gateway and no interfaces: apply it without them first, then with them)",
    ]);
    assert.equal(lineOf(off, p), '    ha: false');
    const on = docObject(siteState());
    on.routers[0].ha = true;
    assert.match(problems(plan(siteState(), on))[0]!, /^routers\[0\]\.ha: cannot make router 'r1' an HA router while it has ports: expected ha: false /);
    // Its ports removed in the same file: the stored router still has them.
    on.routers[0].gateway = null;
    on.routers[0].interfaces = [];
    on.floatingips = [];
    assert.match(problems(plan(siteState(), on))[0]!, /^routers\[0\]\.ha: cannot make router 'r1' an HA router while it has ports: /);
  });

  it('ha flipped on a router without ports that the file gives ports: refused', () => {
    const o = docObject(withBare(siteState(), false));
    o.networks.push(N({ name: 'n2', cidr: '192.0.2.0/25' }));
    Object.assign(o.routers[1], { ha: true, interfaces: [{ network: 'n2' }] });
    assert.deepEqual(problems(plan(withBare(siteState(), false), o)), [
      "routers[1].ha: cannot make router 'r2' an HA router while it has ports (the file gives it some): expected ha: false (change ha while the router has no gateway and no interfaces: apply it without them first, then with them)",
    ]);
  });

  it('ha flipped on a router without ports: allowed, listed with its VRRP id', () => {
    const o = docObject(withBare(siteState(), false));
    o.routers[1].ha = true;
    const p = plan(withBare(siteState(), false), o);
    assert.deepEqual(problems(p), []);
    assert.deepEqual(lines(p), ['~ router r2: ha false → true, ha_vr_id none → 1']);
    const back = docObject(withBare(siteState(), true));
    back.routers[1].ha = false;
    delete back.routers[1].ha_vr_id;
    assert.deepEqual(lines(plan(withBare(siteState(), true), back)), ['~ router r2: ha true → false, ha_vr_id 2 → none']);
  });
});

describe('prune', () => {
  /** The site with a second router r2 (on its own network n2) and a spare FIP. */
  const bigger = () => {
    const o = docObject();
    o.networks.push(N({ name: 'n2', cidr: '192.0.2.0/25', id: 'a1000000-0000-4000-8000-0000000000a1' }));
    o.routers.push({ name: 'r2', id: 'a2000000-0000-4000-8000-0000000000a2', interfaces: [{ network: 'n2', id: 'a3000000-0000-4000-8000-0000000000a3', mac_address: 'fa:16:3e:00:00:a3' }] });
    o.floatingips.push({ floating_ip_address: '203.0.113.30', id: 'a4000000-0000-4000-8000-0000000000a4' });
    o.config.metadata_port = '9698';
    return plan(siteState(), o).next;
  };

  it('without --prune what the file lacks is kept; with it exactly that goes, the node\'s own options stay', () => {
    const s = bigger();
    const o = docObject(); // the site without r2, n2, the spare FIP and metadata_port
    const kept = plan(s, o);
    assert.deepEqual(lines(kept), []);
    assert.deepEqual(kept.next, s);
    const pruned = plan(s, o, true);
    assert.deepEqual(problems(pruned), []);
    assert.deepEqual(lines(pruned), [
      '- config metadata_port 9698',
      '- router r2',
      '- interface r2 n2 192.0.2.1',
      '- fip 203.0.113.30',
      '- network n2 192.0.2.0/25',
    ]);
    assert.deepEqual(pruned.next, siteState());
    assert.deepEqual(pruned.removedNetworks.map((n) => n.name), ['n2']);
    // r2 goes (torn down), r1 is named by the file.
    assert.deepEqual([...pruned.routers].sort(), [IDS.r1, 'a2000000-0000-4000-8000-0000000000a2'].sort());
  });

  it('pruning a network something kept uses is impossible: with --prune nothing is kept, so the file is wrong', () => {
    const o = docObject();
    o.networks = o.networks.filter((n: { name: string }) => n.name !== 'priv');
    const p = plan(siteState(), o, true);
    assert.deepEqual(problems(p), ["routers[0].interfaces[0].network: unknown network 'priv': expected the name or id of a network in the file"]);
  });

  it('a router the file does not name is converged only when the change touches it', () => {
    const s = bigger();
    const o = docObject(); // no r2
    o.floatingips.push({ floating_ip_address: '203.0.113.30', fixed_ip_address: '198.51.100.9', router: 'r1' });
    assert.deepEqual(plan(s, o).routers, [IDS.r1]);
    // Moving the spare FIP to r2 touches r2 although the file does not describe it.
    const o2 = docObject();
    o2.routers.push({ name: 'r2', gateway: P({ network: 'ext', ip_address: '203.0.113.12' }), interfaces: [{ network: 'n2', id: 'a3000000-0000-4000-8000-0000000000a3', mac_address: 'fa:16:3e:00:00:a3' }] });
    const withGw = plan(s, o2).next;
    const o3 = docObject();
    o3.floatingips.push({ floating_ip_address: '203.0.113.30', fixed_ip_address: '192.0.2.5', router: 'r2' });
    assert.deepEqual(plan(withGw, o3).routers, [IDS.r1, 'a2000000-0000-4000-8000-0000000000a2']);
  });
});

// ---------------------------------------------------------------- the transaction

/**
 * Answers every read with nothing (the host namespace does not exist, so no
 * router has anything yet) and counts how many router namespaces have a
 * command running at once. `failOn` makes the first matching command fail.
 */
class SlowRunner implements Runner {
  inFlight = new Set<string>();
  maxInFlight = 0;
  started: string[] = [];
  mutating: string[] = [];
  private readonly netns = new Set<string>();
  constructor(private failOn?: RegExp) {}
  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const ns = argv.find((a) => a.startsWith('qrouter-'));
    const line = argv.join(' ') + (opts.input ? `\n${opts.input}` : '');
    if (!opts.read) this.mutating.push(line);
    if (ns) {
      if (!this.started.includes(ns) && !opts.read) this.started.push(ns);
      this.inFlight.add(ns);
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
    }
    await new Promise((r) => setTimeout(r, 5));
    if (ns) this.inFlight.delete(ns);
    if (this.failOn && !opts.read && this.failOn.test(line)) {
      this.failOn = undefined;
      throw new CommandError(argv, { stdout: '', stderr: 'RTNETLINK answers: injected\n', exitCode: 2 }, opts.input);
    }
    // The namespaces that exist, for the next observation (the rollback's).
    for (const m of line.matchAll(/netns (add|del) (\S+)/g)) {
      if (m[1] === 'add') this.netns.add(m[2]!);
      else this.netns.delete(m[2]!);
    }
    return { stdout: opts.read ? emptyRead(argv) : '', stderr: '', exitCode: 0 };
  }
  background(): void {}
  async namespaces(): Promise<Set<string>> {
    return new Set(this.netns);
  }
  async interactive(): Promise<number> {
    return 0;
  }
}

/** Six routers, each with an interface on its own network. */
function sixRouters(): Record<string, any> {
  const o = docObject(empty());
  o.config = { external_network_bridge: '', send_arp_for_ha: '0', enable_metadata_proxy: 'false' };
  o.networks = Array.from({ length: 6 }, (_, i) => N({ name: `n${i}`, cidr: `198.51.100.${i * 16}/28` }));
  o.routers = Array.from({ length: 6 }, (_, i) => ({ name: `r${i}`, interfaces: [{ network: `n${i}` }] }));
  return o;
}

describe('apply: one transaction', () => {
  const stores: { cleanup(): void }[] = [];
  after(() => stores.forEach((s) => s.cleanup()));
  const setup = (runner: Runner) => {
    const t = tempStore();
    stores.push(t);
    writeFileSync(t.path, JSON.stringify({ ...empty(), config: { host_namespace: 'l3ctl-t-unit-absent-ns' } }, null, 2) + '\n');
    // `files` (daemon config and pid files, for the metadata proxy) is in
    // TxDeps once that lands: none here, the proxy is off (sixRouters).
    const files = { live: false, read: async () => null, identity: async () => null, write: async () => {}, remove: async () => {}, removeDir: async () => {} };
    const deps = { storePath: t.path, dryRun: false, runner, files, warn() {}, interrupts: { trap: () => ({ interrupted: () => false, release() {} }) } } as TxDeps;
    return { deps, path: t.path, text: readFileSync(t.path, 'utf8') };
  };

  it('every router converged, at most `concurrency` at a time, progress as each is done; saved once', async () => {
    const runner = new SlowRunner();
    const { deps, path } = setup(runner);
    const progress: string[] = [];
    const r = await applyDocument(deps, read(sixRouters()), { concurrency: 2, onProgress: (d, t) => progress.push(`${d}/${t}`) });
    assert.equal(r.routers, 6);
    assert.equal(runner.started.length, 6);
    assert.equal(runner.maxInFlight, 2, 'bounded');
    assert.deepEqual(progress, ['1/6', '2/6', '3/6', '4/6', '5/6', '6/6']);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as State;
    assert.deepEqual(saved.routers.map((x) => x.name), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    assert.equal(saved.config.host_namespace, 'l3ctl-t-unit-absent-ns', "the node's own option kept");
  });

  it('a failure half-way: no router started after it, every one built put back, the store unchanged, exit 1', async () => {
    const runner = new SlowRunner(/addr add 198\.51\.100\.33\/28/); // r2's interface
    const { deps, path, text } = setup(runner);
    await assert.rejects(applyDocument(deps, read(sixRouters()), { concurrency: 1 }), (err: unknown) => {
      assert.equal((err as { exitCode?: number }).exitCode, 1, String(err));
      assert.match((err as { hint?: string }).hint ?? '', /the kernel was put back as it was before this command; the store is unchanged/);
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), text, 'store unchanged');
    // One at a time: r0 and r1 built, r2 failed, r3..r5 never started.
    assert.equal(runner.started.length, 3, runner.started.join(' '));
    for (const ns of runner.started) assert.ok(runner.mutating.includes(`ip netns del ${ns}`), `${ns} torn down again`);
    assert.doesNotMatch(runner.mutating.join('\n'), /198\.51\.100\.(49|65|81)\/28/, 'no router after the failing one was built');
  });

  it('an invalid document: InvalidDocument (exit 2), no program run, store unchanged', async () => {
    const runner = new SlowRunner();
    const { deps, path, text } = setup(runner);
    const o = sixRouters();
    o.routers[1].interfaces[0].fixed_ips = [{ ip_address: '198.51.100.99' }];
    o.routers[3].interfaces[0].fixed_ips = [{ ip_address: '198.51.100.99' }];
    await assert.rejects(applyDocument(deps, read(o)), (err: unknown) => {
      assert.ok(err instanceof InvalidDocument);
      assert.equal(err.exitCode, 2);
      assert.deepEqual(err.lines().map((l) => l.replace(/^site\.yaml:\d+: /, '')), [
        "routers[1].interfaces[0].fixed_ips[0].ip_address: interface IP 198.51.100.99 on network 'n1' is outside 198.51.100.16/28: expected a host address from 198.51.100.17 to 198.51.100.30",
        "routers[3].interfaces[0].fixed_ips[0].ip_address: interface IP 198.51.100.99 on network 'n3' is outside 198.51.100.48/28: expected a host address from 198.51.100.49 to 198.51.100.62",
      ]);
      return true;
    });
    assert.deepEqual(runner.mutating, []);
    assert.equal(readFileSync(path, 'utf8'), text);
  });
});
