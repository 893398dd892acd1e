// Output for people and for programs (issue 15, "Output that fits"): lists
// show a short set of columns with names and readable values, --long the
// rest; json, yaml, value and csv keep every API field; -c takes headings
// too; empty lists print their header; tables fit 80 and 120 columns with
// their borders intact, in-process and on a real pseudo-terminal.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { BIN, tempStore } from '../helpers/cli.js';
import { l3ctlIn } from '../helpers/inproc.js';
import { requireProgram } from '../helpers/tools.js';
import { columnWidths, outputWidth, wrapText } from '../../src/cli/fit.js';
import { emptyState, type State } from '../../src/model/types.js';
import { net, port } from '../helpers/one-subnet.js';
import { legacySubnetId } from '../../src/store/migrate.js';

const EXT = 'e0000001-0000-4000-8000-000000000001';
const R1 = 'e0000004-0000-4000-8000-000000000004';
const R2 = 'e0000004-0000-4000-8000-000000000005';
/** Ids that differ in their first characters (kernel names are made of those). */
const id = (n: number) => `${(0xa0000000 + n).toString(16)}-00aa-4000-8000-${String(n).padStart(12, '0')}`;
const LONG_ROUTER = 'edge-router-of-the-tenant-with-the-rather-long-name';

/** A store whose rows are long: long names, many ports, floating IPs. */
function wideState(): State {
  const s = emptyState();
  s.config = { host_namespace: 'l3ctl-t-unit-never-created', enable_metadata_proxy: 'false' };
  s.networks.push(net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }));
  for (let i = 0; i < 6; i++) {
    s.networks.push(net({ id: id(i), name: `tenant-network-number-${i}-with-a-long-name`, cidr: `10.${i}.0.0/16`, gateway_ip: `10.${i}.0.1`, external: false, bridge: null }));
  }
  s.routers.push({
    id: R1,
    name: LONG_ROUTER,
    admin_state_up: true,
    gateway: port({ id: id(100), network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:01:00', admin_state_up: true }),
    interfaces: [0, 1, 2, 3, 4, 5].map((i) => port({ id: id(200 + i), network_id: id(i), ip_address: `10.${i}.0.1`, mac_address: `fa:16:3e:00:02:0${i}`, admin_state_up: true })),
    routes: [{ destination: '192.0.2.0/24', nexthop: '10.0.0.254' }],
    ha: false,
    ha_vr_id: null,
  });
  s.routers.push({ id: R2, name: 'r2', admin_state_up: false, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null });
  for (let i = 0; i < 4; i++) {
    s.floatingips.push({ id: id(300 + i), floating_ip_address: `203.0.113.${20 + i}`, floating_network_id: EXT, fixed_ip_address: i < 3 ? `10.${i}.0.5` : null, router_id: i < 3 ? R1 : null });
  }
  return s;
}

const store = tempStore();
writeFileSync(store.path, JSON.stringify(wideState()));
process.on('exit', () => store.cleanup());
const empty = tempStore();
writeFileSync(empty.path, JSON.stringify(emptyState()));
process.on('exit', () => empty.cleanup());

const run = (args: string[], o: { tty?: boolean; env?: Record<string, string>; columns?: number; path?: string } = {}) =>
  l3ctlIn(args, { store: o.path ?? store.path, tty: o.tty, env: o.env, columns: o.columns });

const LISTS = [['router', 'list'], ['network', 'list'], ['fip', 'list'], ['interface', 'list'], ['route', 'list'], ['config', 'list']];
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** Every line at most `width` wide; a box's separators stand in the same columns on every line. */
function assertBox(out: string, width: number, what: string): void {
  const lines = plain(out).split('\n').filter((l) => l !== '');
  for (const l of lines) assert.ok([...l].length <= width, `${what}: ${[...l].length} > ${width}: ${l}`);
  const at = (l: string, chars: RegExp) => [...l].flatMap((c, i) => (chars.test(c) ? [i] : []));
  const top = lines[0]!;
  assert.match(top, /^┌─.*┐$/, `${what}: top border`);
  const cols = at(top, /[┌┬┐]/);
  for (const l of lines.slice(1)) {
    assert.match(l, /^[│├└].*[│┤┘]$/, `${what}: ${l}`);
    assert.deepEqual(at(l, /[│├┼┤└┴┘]/), cols, `${what}: separators of ${l}`);
  }
}

describe('lists for people', () => {
  test('router list: names and readable values, no ids, no JSON', async () => {
    const r = await run(['router', 'list']);
    assert.equal(r.code, 0, r.stderr);
    const [head, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(head!, /^Name +State +Gateway +Interfaces +Routes +FIPs$/);
    assert.match(rows.join('\n'), new RegExp(`^${LONG_ROUTER} +UP +ext 203\\.0\\.113\\.10 +tenant-network-number-0-with-a-long-name, tenant-network-number-1`, 'm'));
    assert.match(rows.join('\n'), /^r2 +DOWN +0 +0$/m);
    assert.doesNotMatch(r.stdout, /[{}"]|e0000004-/, 'no JSON, no ids');
  });

  test('fip, interface, route, network lists: router and network names where the API has ids', async () => {
    const fip = (await run(['fip', 'list'])).stdout;
    assert.match(fip, /^Floating IP +Fixed IP +Router +Network$/m);
    assert.match(fip, new RegExp(`^203\\.0\\.113\\.20 +10\\.0\\.0\\.5 +${LONG_ROUTER} +ext$`, 'm'));
    assert.match(fip, /^203\.0\.113\.23 +ext$/m, 'an unassociated FIP: no fixed IP, no router');
    const ports = (await run(['interface', 'list'])).stdout;
    assert.match(ports, new RegExp(`^Router +Network +IP Address +Device\\n${LONG_ROUTER} +tenant-network-number-0-with-a-long-name +10\\.0\\.0\\.1 +qr-a00000c8-00$`, 'm'));
    assert.match((await run(['route', 'list'])).stdout, new RegExp(`^Router +Destination +Nexthop\\n${LONG_ROUTER} +192\\.0\\.2\\.0/24 +10\\.0\\.0\\.254$`, 'm'));
    assert.match((await run(['network', 'list'])).stdout, new RegExp(`^ext +203\\.0\\.113\\.0/24 +203\\.0\\.113\\.1 +yes +${LONG_ROUTER}$`, 'm'));
    for (const args of [['fip', 'list'], ['interface', 'list'], ['route', 'list'], ['network', 'list']]) {
      assert.doesNotMatch((await run(args)).stdout, /e0000|a00000..-00aa/, `${args.join(' ')}: no ids by default`);
    }
  });

  test('--long adds ids and the other fields (a MAC, a bridge) to the table', async () => {
    const ports = (await run(['interface', 'list', '--long'])).stdout;
    assert.match(ports.split('\n')[0]!, /^Router +Network +IP Address +Device +ID +MAC Address +Router ID +Network ID$/);
    assert.match(ports, /fa:16:3e:00:02:00/);
    const nets = (await run(['network', 'list', '--long'])).stdout;
    assert.match(nets.split('\n')[0]!, /^Name +CIDR +Gateway IP +External +Routers +ID +Bridge$/);
    assert.match(nets, /brqe0000001-00/);
  });

  test('json, yaml, value and csv print every API field, as they did, whatever the table shows', async () => {
    const json = JSON.parse((await run(['router', 'list', '-f', 'json'])).stdout) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(json[0]!), ['id', 'name', 'admin_state_up', 'external_gateway_info', 'interfaces', 'routes', 'floating_ips', 'ha', 'ha_state']);
    assert.deepEqual(json[0]!.external_gateway_info, { network_id: EXT, external_fixed_ips: [{ subnet_id: legacySubnetId(EXT), ip_address: '203.0.113.10' }] });
    assert.deepEqual(parseYaml((await run(['router', 'list', '-f', 'yaml'])).stdout), json);
    const value = (await run(['router', 'list', '-f', 'value'])).stdout.split('\n')[0]!.split('\t');
    assert.deepEqual(value.slice(0, 3), [R1, LONG_ROUTER, 'true']);
    assert.equal(value[3], JSON.stringify(json[0]!.external_gateway_info));
    const csv = (await run(['router', 'list', '-f', 'csv'])).stdout.split('\n');
    assert.equal(csv[0], 'id,name,admin_state_up,external_gateway_info,interfaces,routes,floating_ips,ha,ha_state');
    assert.equal(csv[1], `${R1},${LONG_ROUTER},true,"{""network_id"":""${EXT}"",""external_fixed_ips"":[{""subnet_id"":""${legacySubnetId(EXT)}"",""ip_address"":""203.0.113.10""}]}",6,1,3,false,`);
    // A show, too.
    const show = await run(['network', 'show', 'ext', '-f', 'yaml']);
    assert.deepEqual(parseYaml(show.stdout), JSON.parse((await run(['network', 'show', 'ext', '-f', 'json'])).stdout));
  });

  test('-c takes a table heading (any case, spaces or underscores) as well as an API field name', async () => {
    const t = (await run(['fip', 'list', '-c', 'floating ip', '-c', 'Router'])).stdout.split('\n');
    assert.match(t[0]!, /^Floating IP +Router$/);
    assert.match(t[1]!, new RegExp(`^203\\.0\\.113\\.20 +${LONG_ROUTER}$`));
    assert.deepEqual(JSON.parse((await run(['router', 'list', '-c', 'gateway', '-c', 'id', '-f', 'json'])).stdout)[0], { Gateway: 'ext 203.0.113.10', id: R1 });
    assert.equal((await run(['fip', 'list', '-c', 'fixed_ip', '-c', 'router_id', '-f', 'value'])).stdout.split('\n')[0], `10.0.0.5\t${R1}`);
    const bad = await run(['router', 'list', '-c', 'nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^hint: columns: id, name, admin_state_up, .*Name, State, Gateway, Interfaces, Routes, FIPs, HA, ID, Status$/m);
  });

  test('dual-stack: subnets for people (network, CIDR, gateway, IPv6 modes), both addresses of a port, a network show that lists its subnets', async () => {
    const s = emptyState();
    s.config = { host_namespace: 'l3ctl-t-unit-never-created', enable_metadata_proxy: 'false' };
    const priv = net({ id: id(700), name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null });
    priv.subnets.push({ id: id(701), cidr: '2001:db8:1::/64', gateway_ip: '2001:db8:1::1', ip_version: 6, ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' });
    s.networks.push(priv);
    const p = port({ id: id(702), network_id: priv.id, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:07:02', admin_state_up: true });
    p.fixed_ips.push({ subnet_id: id(701), ip_address: '2001:db8:1::1' });
    s.routers.push({ id: R1, name: 'r1', admin_state_up: false, gateway: null, interfaces: [p], routes: [], ha: false, ha_vr_id: null });
    const ds = tempStore();
    writeFileSync(ds.path, JSON.stringify(s));
    try {
      const subnets = (await run(['subnet', 'list'], { path: ds.path })).stdout;
      assert.match(subnets, /^Network +CIDR +Gateway IP +IPv6 modes\npriv +198\.51\.100\.0\/24 +198\.51\.100\.1 *\npriv +2001:db8:1::\/64 +2001:db8:1::1 +slaac\/slaac\n$/);
      assert.match((await run(['interface', 'list'], { path: ds.path })).stdout, /^r1 +priv +198\.51\.100\.1, 2001:db8:1::1 +qr-/m);
      assert.match((await run(['network', 'show', 'priv'], { path: ds.path })).stdout, /^subnets +198\.51\.100\.0\/24 gw 198\.51\.100\.1, 2001:db8:1::\/64 gw 2001:db8:1::1 slaac\/slaac$/m);
      const json = JSON.parse((await run(['subnet', 'list', '-f', 'json'], { path: ds.path })).stdout) as Record<string, unknown>[];
      assert.deepEqual(Object.keys(json[1]!), ['id', 'network_id', 'cidr', 'ip_version', 'gateway_ip', 'ipv6_ra_mode', 'ipv6_address_mode']);
    } finally {
      ds.cleanup();
    }
  });

  test('HA routers: an HA column by default once a router is HA (keepalived\'s word on this node), ha and ha_state as fields', async () => {
    const s = emptyState();
    s.config = { host_namespace: 'l3ctl-t-unit-never-created', enable_metadata_proxy: 'false', ha_network: 'ha', ha_node_address: '169.254.192.1' };
    s.networks.push(net({ id: id(900), name: 'ha', cidr: '169.254.192.0/18', gateway_ip: null, external: false, bridge: null }));
    s.routers.push({ id: R1, name: 'r1', admin_state_up: false, gateway: null, interfaces: [], routes: [], ha: true, ha_vr_id: 1 });
    s.routers.push({ id: R2, name: 'r2', admin_state_up: false, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null });
    const ha = tempStore();
    writeFileSync(ha.path, JSON.stringify(s));
    try {
      const table = await run(['router', 'list'], { path: ha.path });
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^Name +State +Gateway +Interfaces +Routes +FIPs +HA$/m);
      // No keepalived runs for r1 here: it says so, rather than an HA state from the store.
      assert.match(table.stdout, /^r1 +DOWN +0 +0 +stopped$/m);
      assert.match(table.stdout, /^r2 +DOWN +0 +0 +no$/m);
      const json = JSON.parse((await run(['router', 'list', '-f', 'json'], { path: ha.path })).stdout) as Record<string, unknown>[];
      assert.deepEqual(json.map((r) => [r.name, r.ha, r.ha_state]), [['r1', true, 'stopped'], ['r2', false, null]]);
      assert.deepEqual(parseYaml((await run(['router', 'list', '-f', 'yaml'], { path: ha.path })).stdout), json);
      assert.equal((await run(['router', 'list', '-f', 'csv', '-c', 'name', '-c', 'HA'], { path: ha.path })).stdout, 'name,HA\nr1,stopped\nr2,no\n');
      // Without an HA router the column waits for --long.
      assert.doesNotMatch((await run(['router', 'list'])).stdout.split('\n')[0]!, /HA/);
      assert.match((await run(['router', 'list', '-c', 'Name', '-c', 'HA'])).stdout, new RegExp(`^${LONG_ROUTER} +no$`, 'm'));
    } finally {
      ha.cleanup();
    }
  });

  test('the installed command (the bundle) prints yaml too: a list, a show, agent status', () => {
    const bin = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, L3CTL_STORE: store.path, L3CTL_UNBUNDLED: '0' } });
    for (const [args, json] of [[['router', 'list'], ['router', 'list', '-f', 'json']], [['network', 'show', 'ext'], ['network', 'show', 'ext', '-f', 'json']]] as const) {
      const y = bin([...args, '-f', 'yaml']);
      assert.equal(y.status, 0, y.stderr);
      assert.deepEqual(parseYaml(y.stdout), JSON.parse(bin([...json]).stdout), args.join(' '));
    }
    const status = bin(['agent', 'status', '-f', 'yaml']);
    assert.equal(status.status, 0, status.stderr);
    assert.equal((parseYaml(status.stdout) as Record<string, unknown>).agent_type, 'L3 agent');
  });

  test('an empty list prints its header (table, csv) or [] (json, yaml); value prints nothing', async () => {
    for (const tty of [false, true]) {
      const r = await run(['router', 'list'], { path: empty.path, tty, env: { NO_COLOR: '1' } });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Name +(│ )?State/, `header (tty ${tty})`);
    }
    assert.equal((await run(['fip', 'list', '-f', 'json'], { path: empty.path })).stdout, '[]\n');
    assert.equal((await run(['fip', 'list', '-f', 'yaml'], { path: empty.path })).stdout, '[]\n');
    assert.equal((await run(['fip', 'list', '-f', 'csv'], { path: empty.path })).stdout, 'id,floating_ip_address,fixed_ip_address,router_id,status,floating_network_id\n');
    assert.equal((await run(['fip', 'list', '-f', 'value'], { path: empty.path })).stdout, '');
    assert.match((await run(['route', 'list'], { path: empty.path })).stdout, /^Router +Destination +Nexthop\n$/);
  });
});

describe('tables fit the terminal', () => {
  for (const width of [80, 120]) {
    test(`COLUMNS=${width} on a terminal: every list (and --long) in a box no wider, borders intact`, async () => {
      for (const args of [...LISTS, ...LISTS.slice(0, 5).map((l) => [...l, '--long'])]) {
        if (args.includes('--long') && (args[0] === 'router' || args[0] === 'fip')) continue; // those observe the kernel (status tests)
        const r = await run(args, { tty: true, env: { COLUMNS: String(width) } });
        assert.equal(r.code, 0, r.stderr);
        assertBox(r.stdout, width, `${args.join(' ')} at ${width}`);
      }
    });

    test(`the terminal's own width ${width} (no COLUMNS): shows fit too, and a plain table when piped with COLUMNS`, async () => {
      for (const args of [['network', 'show', 'tenant-network-number-0-with-a-long-name'], ['agent', 'status', '-c', 'host', '-c', 'host_settings']]) {
        const r = await run(args, { tty: true, columns: width });
        assert.equal(r.code, 0, r.stderr);
        assertBox(r.stdout, width, args.join(' '));
      }
      const piped = await run(['interface', 'list', '--long'], { env: { COLUMNS: String(width) } });
      for (const l of piped.stdout.split('\n')) assert.ok(l.length <= width, `${l.length}: ${l}`);
      assert.doesNotMatch(piped.stdout, /[┌│]/);
    });

    test(`router show at ${width} columns: every line fits, default and --all`, async () => {
      for (const args of [['router', 'show', LONG_ROUTER], ['router', 'show', LONG_ROUTER, '--all']]) {
        const r = await run(args, { tty: true, env: { COLUMNS: String(width), NO_COLOR: '1' } });
        assert.equal(r.code, 0, r.stderr);
        for (const l of r.stdout.split('\n')) assert.ok(l.length <= width, `${args.join(' ')}: ${l.length}: ${l}`);
      }
    });
  }

  test('piped without COLUMNS: lines are left whole for programs', async () => {
    const r = await run(['interface', 'list', '--long']);
    assert.ok(r.stdout.split('\n').some((l) => l.length > 120), 'nothing wrapped');
  });

  test('wrapping: at spaces, a word longer than its column cut; narrowing: the widest column first, none below its floor', () => {
    assert.deepEqual(wrapText('ext 203.0.113.10', 8), ['ext', '203.0.11', '3.10']);
    assert.deepEqual(wrapText('priv, n3, n4', 9), ['priv, n3,', 'n4']);
    assert.deepEqual(columnWidths([['a', 'bbbbbbbbbbbbbbbbbbbb'], ['x', 'y']], 20, false), [1, 17]);
    assert.deepEqual(columnWidths([['aaaaaaaaaa', 'bbbbbbbbbb'], ['x', 'y']], 10, true), [6, 6], 'no room: as narrow as it gets');
    assert.equal(outputWidth({ COLUMNS: '100' }, { isTTY: false }), 100);
    assert.equal(outputWidth({}, { isTTY: false }), null);
    assert.equal(outputWidth({}, { isTTY: true, columns: 132 }), 132);
    assert.equal(outputWidth({ COLUMNS: 'x' }, { isTTY: true }), 80);
  });
});

/** l3ctl on a pseudo-terminal `cols` wide (stty inside util-linux script); what the terminal showed. */
function onTty(args: string[], cols: number, env: Record<string, string> = {}): { code: number; out: string } {
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  // Set on l3ctl's own command line: the shell script runs may reset COLUMNS after stty (bash's checkwinsize).
  const vars = Object.entries(env).map(([k, v]) => `${k}=${q(v)}`);
  const cmd = `stty cols ${cols} rows 40; ${[...vars, ...[process.execPath, BIN, ...args].map(q)].join(' ')}`;
  const e: Record<string, string> = { ...(process.env as Record<string, string>), TERM: 'xterm-256color', L3CTL_STORE: store.path };
  delete e.COLUMNS;
  delete e.NO_COLOR;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: e, input: '' });
  return { code: r.status ?? 1, out: r.stdout.replace(/\r/g, '') };
}

describe('on a pseudo-terminal', () => {
  for (const cols of [80, 120]) {
    test(`a ${cols}-column terminal: lists, --long and router show fit, borders intact, colour on`, (t) => {
      if (!requireProgram(t, 'script', 'util-linux')) return;
      for (const args of [['router', 'list'], ['interface', 'list', '--long'], ['network', 'list', '--long'], ['route', 'list', '--long']]) {
        const r = onTty(args, cols);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /\x1b\[1m/, 'bold headings: a real terminal');
        assertBox(r.out, cols, `${args.join(' ')} on a ${cols}-column tty`);
        // Wrapped, never cut: each heading's words are all there, nothing truncated.
        assert.doesNotMatch(plain(r.out), /…/);
        const head = plain(r.out).split('\n').slice(1, 4).join(' ');
        for (const w of args[0] === 'interface' ? ['Router', 'Network', 'IP', 'Address', 'Device', 'MAC'] : args[0] === 'router' ? ['Name', 'State', 'Gateway'] : ['ID']) {
          assert.match(head, new RegExp(`\\b${w}\\b`), `${w} in ${head}`);
        }
      }
      const show = onTty(['router', 'show', LONG_ROUTER, '--all'], cols);
      assert.equal(show.code, 0, show.out);
      for (const l of plain(show.out).split('\n')) assert.ok(l.length <= cols, `${l.length}: ${l}`);
    });
  }

  test('COLUMNS wins over the terminal', (t) => {
    if (!requireProgram(t, 'script', 'util-linux')) return;
    assertBox(onTty(['interface', 'list', '--long'], 200, { COLUMNS: '80' }).out, 80, 'COLUMNS=80 on a 200-column tty');
  });
});
