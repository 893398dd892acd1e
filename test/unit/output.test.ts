// -f table|json|value and -c on the list commands, against a store written
// here (reads need no kernel), in-process; -q prints nothing; colours only on
// a TTY and never with --no-color or NO_COLOR, through the real binary.
import { CONFIG_KEYS } from '../../src/model/config.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { BIN, l3ctl, tempStore } from '../helpers/cli.js';
import { l3ctlIn } from '../helpers/inproc.js';
import { requireProgram } from '../helpers/tools.js';
import type { State } from '../../src/model/types.js';
import { net, port } from '../helpers/one-subnet.js';

const R1 = '11111111-aaaa-4aaa-8aaa-000000000001';
const EXT = '33333333-cccc-4ccc-8ccc-000000000003';
const PRIV = '44444444-dddd-4ddd-8ddd-000000000004';
const state: State = {
  version: 3,
  config: { host_namespace: 'l3ctl-t-output' },
  networks: [
    net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
    net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: 'br-priv' }),
  ],
  routers: [
    {
      id: R1,
      name: 'r1',
      admin_state_up: true,
      gateway: port({ id: '77777777-0000-4000-8000-000000000007', network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true }),
      interfaces: [port({ id: '66666666-ffff-4fff-8fff-000000000006', network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:02', admin_state_up: true })],
      routes: [{ destination: '192.0.2.0/24', nexthop: '198.51.100.254' }],
      ha: false,
      ha_vr_id: null,
    },
  ],
  floatingips: [
    { id: '88888888-0000-4000-8000-000000000008', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R1 },
  ],
};

const store = tempStore();
writeFileSync(store.path, JSON.stringify(state));
process.on('exit', () => store.cleanup());
const opts = { store: store.path };

/** Documented fields (cli.md, "Fields") of each list's JSON objects. */
const LISTS: [string[], string[], number][] = [
  [['network', 'list'], ['id', 'name', 'cidr', 'gateway_ip', 'router:external', 'bridge'], 2],
  [['router', 'list'], ['id', 'name', 'admin_state_up', 'external_gateway_info'], 1],
  [['interface', 'list'], ['id', 'router_id', 'network_id', 'ip_address', 'mac_address', 'device'], 1],
  [['fip', 'list'], ['id', 'floating_ip_address', 'fixed_ip_address', 'router_id', 'status'], 1],
  [['route', 'list'], ['router_id', 'destination', 'nexthop'], 1],
  [['config', 'list'], ['key', 'value', 'default', 'source'], CONFIG_KEYS.length],
];

for (const [cmd, fields, n] of LISTS) {
  test(`${cmd.join(' ')} -f json: an array of objects with the documented fields`, async () => {
    const r = await l3ctlIn([...cmd, '-f', 'json'], opts);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.ok(Array.isArray(rows));
    assert.equal(rows.length, n);
    for (const row of rows) for (const f of fields) assert.ok(f in row, `${f} in ${JSON.stringify(row)}`);
    assert.equal(r.stderr, '');
  });

  test(`${cmd.join(' ')} -c selects and orders, in json, value and table`, async () => {
    const pick = [fields[1]!, fields[0]!];
    const j = JSON.parse((await l3ctlIn([...cmd, '-f', 'json', '-c', pick[0]!, '-c', pick[1]!], opts)).stdout) as Record<string, unknown>[];
    assert.deepEqual(Object.keys(j[0]!), pick);
    const v = (await l3ctlIn([...cmd, '-f', 'value', '-c', pick[0]!, '-c', pick[1]!], opts)).stdout;
    const lines = v.trimEnd().split('\n');
    assert.equal(lines.length, n);
    assert.deepEqual(lines[0]!.split('\t'), [j[0]![pick[0]!], j[0]![pick[1]!]].map((x) => (x === null ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x))));
    const t = (await l3ctlIn([...cmd, '-c', pick[0]!, '-c', pick[1]!], opts)).stdout;
    assert.match(t.split('\n')[0]!, new RegExp(`^${pick[0]!.replace(/[:]/g, '.')}\\s+${pick[1]}$`));
  });
}

test('value: bare values, tab-separated, one object per line', async () => {
  const r = await l3ctlIn(['network', 'list', '-f', 'value'], opts);
  assert.deepEqual(r.stdout.trimEnd().split('\n').map((l) => l.split('\t')), [
    [EXT, 'ext', '203.0.113.0/24', '203.0.113.1', 'true', 'brq33333333-cc'],
    [PRIV, 'priv', '198.51.100.0/24', '198.51.100.1', 'false', 'br-priv'],
  ]);
});

test('table when piped: plain aligned text, no box drawing', async () => {
  const r = await l3ctlIn(['network', 'list'], opts);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.doesNotMatch(r.stdout, /[┌│─+|]/);
  // Every column starts at the same offset on every line.
  const col = lines[0]!.indexOf('CIDR');
  assert.ok(col > 0);
  for (const l of lines.slice(1)) assert.match(l.slice(col), /^\d+\.\d+\.\d+\.\d+\/\d+ /);
});

test('an unknown column: exit 2, the valid ones in the hint', async () => {
  const r = await l3ctlIn(['router', 'list', '-c', 'nope'], opts);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split('\n')[0], "l3ctl: error: unknown column 'nope'");
  assert.match(r.stderr, /hint: columns: id, name/);
});

test('-q prints nothing on success', async () => {
  const r = await l3ctlIn(['router', 'list', '-q'], opts);
  assert.equal(r.code, 0);
  assert.equal(r.stdout + r.stderr, '');
});

const ESC = /\x1b\[/;

/** Runs l3ctl on a pseudo-terminal (util-linux script); returns what the terminal showed. */
function onTty(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const e: Record<string, string> = { ...(process.env as Record<string, string>), TERM: 'xterm-256color', L3CTL_STORE: store.path, ...env };
  delete e.NO_COLOR;
  delete e.FORCE_COLOR;
  Object.assign(e, env);
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: e, input: '' });
  return { code: r.status ?? 1, out: r.stdout };
}


test('table on a TTY: cli-table3 box, coloured header', (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  const r = onTty(['network', 'list']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /┌/);
  assert.match(r.out, ESC, 'colour on a TTY (this makes the no-colour tests below meaningful)');
});

for (const [name, args, env] of [
  ['NO_COLOR', ['network', 'list'], { NO_COLOR: '1' }],
  ['--no-color', ['network', 'list', '--no-color'], {}],
  ['--no-color before the command', ['--no-color', 'router', 'list'], {}],
] as const) {
  test(`no escape codes on a TTY with ${name}`, (t) => {
    if (!requireProgram(t, 'script', 'util-linux')) return;
    const r = onTty([...args], { ...env });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /┌/, 'still a table');
    assert.doesNotMatch(r.out, ESC);
  });
}

test('no escape codes when piped, output and errors alike', async () => {
  for (const args of [['network', 'list'], ['router', 'list', '-f', 'json'], ['router', 'show', 'nope'], ['nope']]) {
    const r = await l3ctl(args, { ...opts, env: { TERM: 'xterm-256color' } });
    assert.doesNotMatch(r.stdout + r.stderr, ESC, args.join(' '));
  }
});
