// The site document (src/agent/document.ts): store -> document -> text ->
// document -> store gives the same store; every problem of syntax, header,
// shape and value is reported, each with its path and line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import {
  API_VERSION,
  duplicateJsonKey,
  InvalidDocument,
  migrateDocument,
  readDocument,
  renderDocument,
  toDocument,
  type DocProblem,
} from '../../src/agent/document.js';
import { planDocument } from '../../src/agent/declarative.js';
import { STATE_VERSION, type State } from '../../src/model/types.js';
import { siteState, NODE_CONFIG } from '../helpers/site.js';

/** The problems of reading `text`, as `line: path: message` strings. */
function problemsOf(text: string): string[] {
  try {
    readDocument(text, 'site.yaml');
  } catch (err) {
    assert.ok(err instanceof InvalidDocument, String(err));
    assert.equal(err.exitCode, 2);
    return err.lines();
  }
  assert.fail('expected the document to be refused');
}

/** The site document of siteState() as an object, to be broken in tests. */
const docObject = () => parseYaml(renderDocument(toDocument(siteState()), 'yaml')) as Record<string, any>;
const yamlOf = (o: unknown) => renderDocument(o as never, 'yaml');

describe('round trip', () => {
  for (const format of ['yaml', 'json'] as const) {
    it(`store -> ${format} -> store: the same ids, MACs, addresses and order`, () => {
      const s = siteState();
      const text = renderDocument(toDocument(s), format);
      const read = readDocument(text, `site.${format}`);
      assert.deepEqual(read.warnings, []);
      // An empty store of another node: only its own config.
      const node: State = { version: 3, config: { ...NODE_CONFIG }, networks: [], routers: [], floatingips: [] };
      const plan = planDocument(node, read, { newId: () => assert.fail('no new id'), newMac: () => assert.fail('no new MAC') });
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(plan.next, s);
    });
  }

  it('the header, and no per-node option in the document', () => {
    const d = toDocument(siteState());
    assert.equal(d.apiVersion, 'l3ctl/v1');
    assert.equal(d.kind, 'Site');
    assert.equal(d.storeVersion, STATE_VERSION);
    assert.ok(!('host_namespace' in d.config!) && !('router_id' in d.config!), JSON.stringify(d.config));
    assert.equal(d.config!.send_arp_for_ha, '0');
  });

  it('references by name; YAML that a YAML 1.1 reader (Ansible) reads the same: a MAC like 52:54:00:… is quoted', () => {
    const s = siteState();
    s.routers[0]!.gateway!.mac_address = '52:54:00:12:34:56';
    const text = renderDocument(toDocument(s), 'yaml');
    assert.match(text, /^ {6}mac_address: "52:54:00:12:34:56"$/m);
    assert.match(text, /^ {6}network: ext$/m);
    assert.match(text, /^ {4}router: r1$/m);
    assert.equal(parseYaml(text, { version: '1.1' }).routers[0].gateway.mac_address, '52:54:00:12:34:56');
  });

  it('a per-node option in a hand-written document is a warning: the local value is kept', () => {
    const o = docObject();
    o.config.host_namespace = 'elsewhere';
    const read = readDocument(yamlOf(o), 'site.yaml');
    assert.deepEqual(read.warnings, ["config.host_namespace: belongs to one node: apply keeps this node's value"]);
    const plan = planDocument(siteState(), read);
    assert.equal(plan.next.config.host_namespace, NODE_CONFIG.host_namespace);
  });

  it('config values may be YAML numbers and booleans; values come back canonical', () => {
    const o = docObject();
    o.config = { send_arp_for_ha: 0, use_random_fully: 'no' };
    o.routers[0].interfaces[0].mac_address = 'FA:16:3E:00:00:01';
    const read = readDocument(yamlOf(o), 'site.yaml');
    assert.deepEqual(read.doc.config, { send_arp_for_ha: '0', use_random_fully: 'false' });
    assert.equal(read.doc.routers![0]!.interfaces![0]!.mac_address, 'fa:16:3e:00:00:01');
  });
});

describe('syntax and header', () => {
  it('a YAML syntax error: its line', () => {
    const [first] = problemsOf('apiVersion: l3ctl/v1\nkind: Site\nnetworks: [1,\nrouters: 2\n');
    assert.match(first!, /^site\.yaml:\d+: top level: /);
  });

  it('a key twice: refused, not the last one silently winning', () => {
    assert.match(problemsOf(`apiVersion: ${API_VERSION}\nkind: Site\nkind: Site\nstoreVersion: 1\n`)[0]!, /unique/i);
  });

  it('empty, two documents, a list: each refused with what is expected', () => {
    assert.match(problemsOf('')[0]!, /top level: the document is empty: expected apiVersion/);
    assert.match(problemsOf(`apiVersion: ${API_VERSION}\n---\nkind: Site\n`)[0]!, /^site\.yaml:2: top level: 2 YAML documents: expected one/);
    assert.match(problemsOf('- a\n- b\n')[0]!, /expected a mapping with apiVersion, kind and storeVersion, got a list/);
  });

  it('not our file: apiVersion and kind named, both reported', () => {
    assert.deepEqual(problemsOf('apiVersion: v1\nkind: Pod\nstoreVersion: 1\n'), [
      "site.yaml:1: apiVersion: 'v1' is not a version this l3ctl reads: expected l3ctl/v1",
      "site.yaml:2: kind: 'Pod': expected Site",
    ]);
  });

  it('a store version from a newer l3ctl is refused with what to do; one older than any is refused too', () => {
    const o = docObject();
    o.storeVersion = STATE_VERSION + 1;
    assert.deepEqual(problemsOf(yamlOf(o)), [
      `site.yaml:3: storeVersion: ${STATE_VERSION + 1} is newer than this l3ctl knows (store version ${STATE_VERSION}): the document was written by a newer l3ctl; upgrade l3ctl on this node, or export from a node with the same version`,
    ]);
    o.storeVersion = 0;
    assert.deepEqual(problemsOf(yamlOf(o)), [`site.yaml:3: storeVersion: 0 is older than any store version this l3ctl reads (1 to ${STATE_VERSION})`]);
    delete o.storeVersion;
    assert.match(problemsOf(yamlOf(o))[0]!, new RegExp(`storeVersion: missing field: expected the store version the document follows \\(${STATE_VERSION}\\)`));
  });

  it('a version-1 document (before HA routers) still reads: its routers come out legacy', () => {
    const o = docObject();
    o.storeVersion = 1;
    for (const r of o.routers) { delete r.ha; delete r.ha_vr_id; }
    const read = readDocument(yamlOf(o), 'site.yaml');
    assert.ok(read.doc.routers!.length > 0);
    assert.ok(read.doc.routers!.every((r: any) => !r.ha), JSON.stringify(read.doc.routers));
  });

  for (const version of [1, 2]) {
    it(`a version-${version} document in the IPv4-only shape (cidr, gateway_ip, ip_address) reads as the current one: the same store`, () => {
      const o = docObject();
      o.storeVersion = version;
      for (const n of o.networks) {
        const [sn] = n.subnets;
        delete n.subnets;
        Object.assign(n, { cidr: sn.cidr, ...('gateway_ip' in sn ? { gateway_ip: sn.gateway_ip } : {}) });
      }
      const flat = (p: any) => {
        p.ip_address = p.fixed_ips[0].ip_address;
        delete p.fixed_ips;
      };
      for (const r of o.routers) {
        if (r.gateway) flat(r.gateway);
        r.interfaces.forEach(flat);
        if (version === 1) { delete r.ha; delete r.ha_vr_id; }
      }
      const node: State = { version: STATE_VERSION, config: { ...NODE_CONFIG }, networks: [], routers: [], floatingips: [] };
      const plan = planDocument(node, readDocument(yamlOf(o), 'site.yaml'), { newId: () => assert.fail('no new id'), newMac: () => assert.fail('no new MAC') });
      assert.deepEqual(plan.problems, []);
      assert.deepEqual(plan.next, siteState(), 'the subnet ids the store migration gives');
      // A store whose subnets got ids of their own (made by version 3's commands): they keep them, nothing changes.
      const own = siteState();
      own.networks.forEach((n, i) => (n.subnets[0]!.id = `5b000000-0000-4000-8000-00000000000${i}`));
      for (const r of own.routers) for (const p of [...(r.gateway ? [r.gateway] : []), ...r.interfaces]) for (const f of p.fixed_ips) f.subnet_id = own.networks.find((n) => n.id === p.network_id)!.subnets[0]!.id;
      const again = planDocument({ ...own, config: { ...own.config } }, readDocument(yamlOf(o), 'site.yaml'), { newId: () => assert.fail('no new id'), newMac: () => assert.fail('no new MAC') });
      assert.deepEqual(again.problems, []);
      assert.deepEqual(again.next, own, 'the stored subnet ids stay');
    });
  }

  it('migration: an older store version goes through each step to the current one', () => {
    // A made-up version 2 that renamed floatingips to floating_ips.
    const table = {
      current: 2,
      oldest: 1,
      steps: {
        1: (d: Record<string, unknown>) => {
          const { floatingips, ...rest } = d;
          return { ...rest, floating_ips: floatingips };
        },
      },
    };
    const r = migrateDocument({ apiVersion: API_VERSION, kind: 'Site', storeVersion: 1, floatingips: [{ floating_ip_address: '203.0.113.20' }] }, table);
    assert.ok('doc' in r);
    assert.deepEqual(r.doc, { apiVersion: API_VERSION, kind: 'Site', storeVersion: 2, floating_ips: [{ floating_ip_address: '203.0.113.20' }] });
    const unchanged = migrateDocument({ storeVersion: 2, x: 1 }, table);
    assert.ok('doc' in unchanged && unchanged.doc.x === 1);
    const gap = migrateDocument({ storeVersion: 1 }, { current: 3, oldest: 1, steps: table.steps });
    assert.ok('problem' in gap);
    assert.equal(gap.problem.message, 'no migration from store version 2 to 3');
  });
});

describe('JSON', () => {
  it('read without a YAML parser; a problem still gets its line', () => {
    const o = docObject();
    o.routers[0].gateway.mac_address = 'zz';
    const text = renderDocument(o as never, 'json');
    const line = text.split('\n').findIndex((l) => l.includes('"zz"')) + 1;
    assert.deepEqual(problemsOf(text), [`site.yaml:${line}: routers[0].gateway.mac_address: invalid MAC address 'zz': expected a unicast address of six hex pairs such as fa:16:3e:12:34:56`]);
  });

  it('a key twice in one object: refused as in YAML, at the line of the second (not the last one silently winning)', () => {
    const text = renderDocument(toDocument(siteState()), 'json');
    const at = text.split('\n').findIndex((l) => l.includes('"admin_state_up": true')) + 1;
    // On the same line (the review's case), and on a line of its own.
    const same = text.replace('"admin_state_up": true,', '"admin_state_up": true, "admin_state_up": false,');
    assert.deepEqual(problemsOf(same), [`site.yaml:${at}: top level: Map keys must be unique`]);
    const below = text.replace('"admin_state_up": true,', '"admin_state_up": true,\n      "admin_state_up": false,');
    assert.deepEqual(problemsOf(below), [`site.yaml:${at + 1}: top level: Map keys must be unique`]);
    // The YAML document says it with the same words.
    const yaml = renderDocument(toDocument(siteState()), 'yaml').replace(/^( +admin_state_up: true)$/m, '$1\n    admin_state_up: false');
    assert.deepEqual(problemsOf(yaml), [`site.yaml:${yaml.split('\n').indexOf('    admin_state_up: false') + 1}: top level: Map keys must be unique`]);
    // A key written with an escape is the same key.
    assert.deepEqual(problemsOf(text.replace('"kind": "Site",', '"kind": "Site", "\\u006bind": "Site",')), [`site.yaml:3: top level: Map keys must be unique`]);
  });

  it('duplicateJsonKey: braces, quotes and colons inside strings, and the same key in other objects, are no duplicates', () => {
    const tricky = '{"a": "x\\"}{\\\\", "b": {"a": "\\":"}, "c": [{"a": 1}, {"a": 2}], "d": {}}';
    assert.deepEqual(Object.keys(JSON.parse(tricky)), ['a', 'b', 'c', 'd']);
    assert.equal(duplicateJsonKey(tricky), null);
    const nested = '{"a": 1, "b": {"c": 1, "d": [], "c": 2}}';
    assert.equal(duplicateJsonKey(nested), nested.lastIndexOf('"c"'));
    // A value ending in an escaped quote does not hide the next key.
    const escaped = '{"a": "\\"", "a": 1}';
    assert.equal(duplicateJsonKey(escaped), escaped.lastIndexOf('"a"'));
    // After a nested object closes, its parent's keys count again.
    const after = '{"a": {"b": 1}, "a": 2}';
    assert.equal(duplicateJsonKey(after), after.lastIndexOf('"a"'));
  });

  it('broken JSON: the YAML parser says where', () => {
    assert.deepEqual(problemsOf('{"apiVersion": "l3ctl/v1",\n "kind": "Site" "x"\n}\n'), ['site.yaml:2: top level: Unexpected double-quoted-scalar at node end']);
  });
});

describe('shape: every problem, with its path', () => {
  it('a misspelt field, a missing one, a wrong type: all three, in file order, with lines', () => {
    const o = docObject();
    o.routers[0].interfaces[0].ip_adress = o.routers[0].interfaces[0].fixed_ips[0].ip_address;
    delete o.networks[1].subnets[0].cidr;
    o.routers[0].name = 7;
    const lines = problemsOf(yamlOf(o));
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[0]!, /^site\.yaml:\d+: networks\[1\]\.subnets\[0\]\.cidr: missing field$/);
    assert.match(lines[1]!, /^site\.yaml:\d+: routers\[0\]\.name: expected string, got 7 \(quote it: '7'\)$/);
    assert.match(lines[2]!, /^site\.yaml:\d+: routers\[0\]\.interfaces\[0\]\.ip_adress: unknown field$/);
    const n = (l: string) => Number(l.split(':')[1]);
    assert.ok(n(lines[0]!) < n(lines[1]!) && n(lines[1]!) < n(lines[2]!), 'file order');
  });

  it('the line is the line of the bad value', () => {
    const o = docObject();
    o.floatingips[0].fixed_ip_address = 5;
    const text = yamlOf(o);
    const line = text.split('\n').findIndex((l) => /fixed_ip_address: 5$/.test(l)) + 1;
    assert.deepEqual(problemsOf(text), [`site.yaml:${line}: floatingips[0].fixed_ip_address: expected string, got 5 (quote it: '5')`]);
  });
});

describe('values: each bad value a single command refuses, at its path', () => {
  const cases: [string, (o: Record<string, any>) => void, RegExp][] = [
    ['network name', (o) => (o.networks[1].name = 'a b'), /^networks\[1\]\.name: invalid network name 'a b' \(' ' is not allowed\)/],
    ['router name', (o) => (o.routers[0].name = 'r'.repeat(65)), /^routers\[0\]\.name: invalid router name 'r{65}' \(it is 65 characters long\)/],
    ['CIDR', (o) => (o.networks[1].subnets[0].cidr = '198.51.100.0/33'), /^networks\[1\]\.subnets\[0\]\.cidr: invalid CIDR '198\.51\.100\.0\/33' \(prefix length 33 is more than 32\)/],
    ['CIDR with host bits', (o) => (o.networks[1].subnets[0].cidr = '198.51.100.7/24'), /^networks\[1\]\.subnets\[0\]\.cidr: 198\.51\.100\.7\/24 has host bits set: expected 198\.51\.100\.0\/24/],
    ['gateway IP', (o) => (o.networks[0].subnets[0].gateway_ip = '203.0.113.300'), /^networks\[0\]\.subnets\[0\]\.gateway_ip: invalid gateway IP '203\.0\.113\.300'/],
    ['bridge name', (o) => (o.networks[0].bridge = 'br ex'), /^networks\[0\]\.bridge: invalid bridge name 'br ex'/],
    ['network id', (o) => (o.networks[0].id = 'not-a-uuid'), /^networks\[0\]\.id: invalid id 'not-a-uuid': expected a UUID/],
    ['port id', (o) => (o.routers[0].interfaces[0].id = 'xyz'), /^routers\[0\]\.interfaces\[0\]\.id: invalid id 'xyz'/],
    ['MAC', (o) => (o.routers[0].interfaces[0].mac_address = 'zz:16:3e:00:00:01'), /^routers\[0\]\.interfaces\[0\]\.mac_address: invalid MAC address 'zz:16:3e:00:00:01'/],
    ['multicast MAC', (o) => (o.routers[0].gateway.mac_address = '01:16:3e:00:00:01'), /^routers\[0\]\.gateway\.mac_address: invalid MAC address '01:16:3e:00:00:01' \(a multicast address/],
    ['interface IP', (o) => (o.routers[0].interfaces[0].fixed_ips[0].ip_address = '198.51.100.300'), /^routers\[0\]\.interfaces\[0\]\.fixed_ips\[0\]\.ip_address: invalid interface IP '198\.51\.100\.300'/],
    ['gateway address', (o) => (o.routers[0].gateway.fixed_ips[0].ip_address = 'banana'), /^routers\[0\]\.gateway\.fixed_ips\[0\]\.ip_address: invalid gateway IP 'banana'/],
    ['route destination', (o) => (o.routers[0].routes[0].destination = '192.0.2.300/24'), /^routers\[0\]\.routes\[0\]\.destination: invalid destination '192\.0\.2\.300\/24'/],
    ['route nexthop', (o) => (o.routers[0].routes[0].nexthop = 'banana'), /^routers\[0\]\.routes\[0\]\.nexthop: invalid nexthop 'banana'/],
    ['floating IP', (o) => (o.floatingips[0].floating_ip_address = '203.0.113.256'), /^floatingips\[0\]\.floating_ip_address: invalid floating IP '203\.0\.113\.256'/],
    ['fixed IP', (o) => (o.floatingips[0].fixed_ip_address = '198.51.100.300'), /^floatingips\[0\]\.fixed_ip_address: invalid fixed IP '198\.51\.100\.300'/],
    ['router without fixed IP', (o) => (o.floatingips[0].fixed_ip_address = null), /^floatingips\[0\]\.router: a router without a fixed_ip_address/],
    ['unknown config key', (o) => (o.config.send_arp_for_hb = '1'), /^config\.send_arp_for_hb: unknown config key 'send_arp_for_hb'/],
    ['config value', (o) => (o.config.metadata_port = 70000), /^config\.metadata_port: invalid value '70000' for metadata_port/],
    ['config value (boolean)', (o) => (o.config.use_namespaces = 'maybe'), /^config\.use_namespaces: invalid value 'maybe' for use_namespaces: expected true or false/],
    ['two networks of one name', (o) => (o.networks[1].name = 'ext'), /^networks\[1\]\.name: 'ext' is also the name of networks\[0\]: expected a new name/],
    ['two routers of one name', (o) => o.routers.push({ name: 'r1' }), /^routers\[1\]\.name: 'r1' is also the name of routers\[0\]/],
    ['one id twice', (o) => (o.routers[0].id = o.networks[0].id), /^routers\[0\]\.id: id \S+ is also the id of networks\[0\]: expected a new UUID/],
    ['one floating IP twice', (o) => o.floatingips.push({ floating_ip_address: '203.0.113.20' }), /^floatingips\[1\]\.floating_ip_address: floating IP 203\.0\.113\.20 is already floatingips\[0\]/],
    ['two routes to one destination', (o) => o.routers[0].routes.push({ destination: '192.0.2.128/25', nexthop: '198.51.100.253' }), /^routers\[0\]\.routes\[1\]\.destination: a route to 192\.0\.2\.128\/25 is already routes\[0\]/],
    ['two ports of a router on one network', (o) => o.routers[0].interfaces.push({ network: 'priv', fixed_ips: [{ ip_address: '198.51.100.9' }] }), /^routers\[0\]\.interfaces\[1\]\.network: router 'r1' has a port on 'priv' already \(interfaces\[0\]\)/],
  ];
  for (const [what, breakIt, re] of cases) {
    it(what, () => {
      const o = docObject();
      breakIt(o);
      const lines = problemsOf(yamlOf(o)).map((l) => l.replace(/^site\.yaml:\d+: /, ''));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, re);
    });
  }

  it('all of them at once: every one reported', () => {
    const o = docObject();
    // Those before 'two networks of one name' that break a field no other one breaks.
    const apart = cases.slice(0, cases.findIndex((c) => c[0] === 'two networks of one name')).filter(([what]) => what !== 'CIDR' && what !== 'fixed IP');
    for (const [, breakIt] of apart) breakIt(o);
    const lines = problemsOf(yamlOf(o));
    assert.equal(lines.length, apart.length, lines.join('\n'));
    assert.equal(apart.length, 18);
  });

  it('the error: the first problem as message, the count as hint, exit 2', () => {
    const o = docObject();
    o.networks[1].name = 'a b';
    o.routers[0].name = 'c d';
    try {
      readDocument(yamlOf(o), 'x.yaml');
      assert.fail('refused');
    } catch (err) {
      assert.ok(err instanceof InvalidDocument);
      assert.match(err.message, /^x\.yaml:\d+: networks\[1\]\.name: invalid network name/);
      assert.equal(err.hint, '2 problems in x.yaml; nothing was changed');
      assert.equal(err.problems.length, 2);
      const p: DocProblem = err.problems[1]!;
      assert.deepEqual(p.path, ['routers', 0, 'name']);
    }
  });
});
