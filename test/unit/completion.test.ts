// Tab completion through the real shell scripts: bash runs completions/l3ctl.bash
// with COMP_WORDS/COMP_CWORD set as bash would, against a store written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, l3ctl, tempStore } from '../helpers/cli.js';
import { requireProgram } from '../helpers/tools.js';
import { SHIPPED } from '../../src/cli/completion.js';
import { SHELLS } from '../../src/cli/commands.js';
import { FILES, cmdTree, complete } from '../../src/cli/complete.js';
import { keySpecs, specOf } from '../../src/cli/spec.js';
import type { State } from '../../src/model/types.js';
import { net, port } from '../helpers/one-subnet.js';

const R1 = '11111111-aaaa-4aaa-8aaa-000000000001';
const R2 = '22222222-bbbb-4bbb-8bbb-000000000002';
const EXT = '33333333-cccc-4ccc-8ccc-000000000003';
const PRIV = '44444444-dddd-4ddd-8ddd-000000000004';
const PRIV2 = '55555555-eeee-4eee-8eee-000000000005';
const PORT = '66666666-ffff-4fff-8fff-000000000006';

const state: State = {
  version: 3,
  config: {},
  networks: [
    net({ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }),
    net({ id: PRIV, name: 'priv', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }),
    net({ id: PRIV2, name: 'priv2', cidr: '192.0.2.0/25', gateway_ip: '192.0.2.1', external: false, bridge: null }),
  ],
  routers: [
    {
      id: R1,
      name: 'r1',
      admin_state_up: true,
      gateway: port({ id: '77777777-0000-4000-8000-000000000007', network_id: EXT, ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true }),
      interfaces: [port({ id: PORT, network_id: PRIV, ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:02', admin_state_up: true })],
      routes: [{ destination: '192.0.2.128/25', nexthop: '198.51.100.254' }],
      ha: false,
      ha_vr_id: null,
    },
    { id: R2, name: 'r2', admin_state_up: true, gateway: null, interfaces: [], routes: [], ha: false, ha_vr_id: null },
  ],
  floatingips: [
    { id: '88888888-0000-4000-8000-000000000008', floating_ip_address: '203.0.113.20', floating_network_id: EXT, fixed_ip_address: '198.51.100.5', router_id: R1 },
    { id: '99999999-0000-4000-8000-000000000009', floating_ip_address: '203.0.113.21', floating_network_id: EXT, fixed_ip_address: null, router_id: null },
  ],
};

const store = tempStore();
writeFileSync(store.path, JSON.stringify(state, null, 2));
process.on('exit', () => store.cleanup());

/** COMPREPLY of the bash script for the words after `l3ctl` (the last one is being typed). */
function bashComplete(words: string[], env: Record<string, string> = { L3CTL_STORE: store.path }): string[] {
  const script = [
    `source ${JSON.stringify(join(ROOT, SHIPPED.bash))}`,
    'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))',
    '_l3ctl_complete',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  // Bash splits at ':' and '=' (COMP_WORDBREAKS); tests pass words split the same way.
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script, 'bash', BIN, ...words], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

const CASES: [string, string[], string[]][] = [
  ['nouns', [''], ['network', 'subnet', 'router', 'interface', 'gateway', 'fip', 'route', 'config', 'agent', 'diagnose', 'lab', 'export', 'diff', 'apply', 'completion']],
  ['noun prefix', ['ro'], ['router', 'route']],
  ['verbs', ['router', ''], ['add', 'delete', 'list', 'show', 'enable', 'disable', 'exec', 'set', 'standby']],
  ['router names', ['router', 'show', ''], ['r1', 'r2']],
  ['router id prefix', ['router', 'show', '2222'], [R2]],
  ['router names, global option before', ['--dry-run', 'router', 'delete', 'r1', ''], ['r1', 'r2']],
  ['only external networks after gateway set ROUTER', ['gateway', 'set', 'r2', ''], ['ext']],
  ['only internal networks after interface add ROUTER', ['interface', 'add', 'r1', ''], ['priv', 'priv2']],
  ["a router's ports after interface remove ROUTER", ['interface', 'remove', 'r1', ''], ['priv']],
  ["a router's ports by port id", ['interface', 'remove', 'r1', '6666'], [PORT]],
  ['no ports for a router without any', ['interface', 'remove', 'r2', ''], []],
  ['floating IPs', ['fip', 'associate', ''], ['203.0.113.20', '203.0.113.21']],
  ['associated floating IPs for disassociate', ['fip', 'disassociate', ''], ['203.0.113.20']],
  ['--router value', ['fip', 'list', '--router', ''], ['r1', 'r2']],
  ['fip associate FIP FIXED --router: only routers holding FIXED', ['fip', 'associate', '203.0.113.21', '198.51.100.5', '--router', ''], ['r1']],
  ['fip associate --router before FIXED: every router', ['fip', 'associate', '--router', ''], ['r1', 'r2']],
  ['external networks for fip add --network', ['fip', 'add', '--network', ''], ['ext']],
  ["a router's routes for route delete", ['route', 'delete', 'r1', ''], ['192.0.2.128/25']],
  ['-f choices', ['router', 'list', '-f', ''], ['table', 'json', 'value', 'yaml', 'csv']],
  ['-c columns of the command', ['route', 'list', '-c', ''], ['router_id', 'destination', 'nexthop']],
  ['-c columns of router show', ['router', 'show', 'r1', '-c', 'l'], ['live']],
  ['a column with a colon, split by bash', ['network', 'list', '-c', 'router', ':'], [':external']],
  ['a column with a colon, half typed', ['network', 'list', '-c', 'router', ':', 'ex'], ['external']],
  ['config keys', ['config', 'get', 'interface_'], ['interface_driver']],
  ['interface_driver values', ['config', 'set', 'interface_driver', ''], ['linuxbridge', 'ovs']],
  ['boolean config values', ['config', 'set', 'use_namespaces', ''], ['true', 'false']],
  ['completion shells', ['completion', ''], ['bash', 'zsh', 'fish']],
  ['options of the command, then global ones', ['router', 'add', '--d'], ['--disabled', '--dry-run']],
  ['every subnet by CIDR for subnet delete', ['subnet', 'delete', ''], ['203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/25']],
  ['networks for subnet add', ['subnet', 'add', 'pr'], ['priv', 'priv2']],
  ['--ipv6-ra-mode values', ['subnet', 'add', 'priv', '2001', ':', 'db8', ':', '1', ':', ':/64', '--ipv6-ra-mode', ''], ['slaac', 'dhcpv6-stateless', 'dhcpv6-stateful']],
  ['hidden aliases are not offered', ['router-'], []],
];

for (const [name, words, want] of CASES) {
  test(`bash completion: ${name}`, () => {
    assert.deepEqual(bashComplete(words), want);
  });
}

test('router exec ROUTER: programs on PATH for the command (with or without --), then file names; never l3ctl options', () => {
  const env = { L3CTL_STORE: store.path, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const words of [['router', 'exec', 'r1', 'pin'], ['router', 'exec', 'r1', '--', 'pin']]) {
    const got = complete(words, env) as [string, string][];
    assert.ok(got.some(([v, d]) => v === 'ping' && /ICMP/.test(d)), JSON.stringify(got));
    assert.ok(got.every(([v]) => v.startsWith('pin')));
  }
  assert.equal(complete(['router', 'exec', 'r1', 'ping', '-'], env), FILES, 'ping -c is not l3ctl -c');
  assert.equal(complete(['router', 'exec', 'r1', 'ping', '-c', ''], env), FILES);
});

test('fip associate --router with overlapping tenant subnets: every router holding the fixed IP, none other', () => {
  const t = tempStore();
  try {
    const s = structuredClone(state);
    // r2 behind its own 198.51.100.0/24, r3 behind 192.0.2.0/25 only.
    s.networks.push(net({ id: 'aaaaaaaa-0000-4000-8000-00000000000a', name: 'priv3', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }));
    s.routers[1]!.interfaces.push(port({ id: 'aaaaaaaa-0000-4000-8000-00000000000b', network_id: 'aaaaaaaa-0000-4000-8000-00000000000a', ip_address: '198.51.100.1', mac_address: 'fa:16:3e:00:00:0b', admin_state_up: true }));
    s.routers.push({ id: 'aaaaaaaa-0000-4000-8000-00000000000c', name: 'r3', admin_state_up: true, gateway: null, routes: [], ha: false, ha_vr_id: null,
      interfaces: [port({ id: 'aaaaaaaa-0000-4000-8000-00000000000d', network_id: PRIV2, ip_address: '192.0.2.1', mac_address: 'fa:16:3e:00:00:0d', admin_state_up: true })] });
    writeFileSync(t.path, JSON.stringify(s));
    const env = { L3CTL_STORE: t.path };
    const names = (words: string[]) => (complete(words, env) as [string, string][]).map(([v]) => v);
    assert.deepEqual(names(['fip', 'associate', '203.0.113.21', '198.51.100.5', '--router', '']), ['r1', 'r2']);
    assert.deepEqual(names(['fip', 'associate', '203.0.113.21', '192.0.2.9', '--router', '']), ['r3']);
    assert.deepEqual(names(['fip', 'associate', '203.0.113.21', '192.0.2.200', '--router', '']), []);
    assert.deepEqual(names(['fip', 'associate', '203.0.113.21', '198.51.100.5', '--router=']), ['--router=r1', '--router=r2']);
    assert.deepEqual(names(['fip', 'list', '--router', '']), ['r1', 'r2', 'r3']);
    // A CIDR two networks share is offered once, naming both; their ids once the word looks like one.
    const subnets = complete(['subnet', 'delete', ''], env) as [string, string][];
    assert.deepEqual(subnets.filter(([v]) => v === '198.51.100.0/24'), [['198.51.100.0/24', 'network priv, priv3']]);
    const twin = s.networks.find((n) => n.name === 'priv3')!.subnets[0]!.id;
    assert.deepEqual(names(['subnet', 'delete', twin.slice(0, 8)]), [twin]);
  } finally {
    t.cleanup();
  }
});

test('bash completion: --store names the store, and --store= completes file names', () => {
  const env = { L3CTL_STORE: '/nonexistent/state.json' };
  assert.deepEqual(bashComplete(['router', 'show', ''], env), []);
  assert.deepEqual(bashComplete(['--store', store.path, 'router', 'show', ''], env), ['r1', 'r2']);
  assert.deepEqual(bashComplete(['--store', '=', store.path, 'router', 'show', ''], env), ['r1', 'r2']);
  assert.deepEqual(bashComplete(['--store', store.path.slice(0, -3)], env), [store.path]);
});

test('bash completion: a corrupt or missing store completes nothing and prints no error', () => {
  const bad = tempStore();
  try {
    writeFileSync(bad.path, '{"version": 1, "routers": [');
    assert.deepEqual(bashComplete(['router', 'show', ''], { L3CTL_STORE: bad.path }), []);
    const r = spawnSync(process.execPath, [BIN, '__complete', 'router', 'show', ''], { encoding: 'utf8', env: { ...process.env, L3CTL_STORE: bad.path } });
    assert.equal(r.status, 0);
    assert.equal(r.stdout + r.stderr, '');
    // Candidates for commands that need no store still come.
    assert.deepEqual(bashComplete(['router', 'list', '-f', 'j'], { L3CTL_STORE: bad.path }), ['json']);
  } finally {
    bad.cleanup();
  }
});

test('the completion tree is the command table (regenerate: node dist/src/cli/gendocs.js, then build)', () => {
  assert.deepEqual(cmdTree().tree, specOf());
  assert.deepEqual(cmdTree().configKeys, keySpecs());
});

test('the fast path loads no package: only node: built-ins and our own modules', () => {
  // Static imports of complete.js, transitively (dynamic import() inside functions is lazy).
  const seen = new Set<string>();
  const packages: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(join(file, '..', spec));
      else if (!spec.startsWith('node:')) packages.push(`${spec} (from ${file})`);
    }
  };
  visit(join(ROOT, 'dist', 'src', 'cli', 'complete.js'));
  assert.ok(seen.size >= 3, 'followed the imports');
  assert.deepEqual(packages, []);
  assert.ok(![...seen].some((f) => /main\.js$|spec\.js$|commands\.js$/.test(f)), 'not the command table: its JSON');
});

for (const shell of SHELLS) {
  test(`l3ctl completion ${shell} prints the shipped script`, async () => {
    const r = await l3ctl(['completion', shell]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(join(ROOT, SHIPPED[shell]), 'utf8'));
  });
}

test('l3ctl completion with an unknown shell is a usage error', async () => {
  const r = await l3ctl(['completion', 'tcsh']);
  assert.equal(r.code, 2);
  assert.match(r.stderr.split('\n')[0]!, /^l3ctl: error: .*tcsh/);
});

test('the bash script parses', () => {
  const r = spawnSync('bash', ['-n', join(ROOT, SHIPPED.bash)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('the zsh script parses (zsh -n)', (t) => {
  if (!requireProgram(t, 'zsh', 'zsh')) return;
  const r = spawnSync('zsh', ['-n', join(ROOT, SHIPPED.zsh)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('the fish script parses (fish --no-execute)', (t) => {
  if (!requireProgram(t, 'fish', 'fish')) return;
  const r = spawnSync('fish', ['--no-execute', join(ROOT, SHIPPED.fish)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('set-up installs the bash script where bash finds it', () => {
  assert.ok(existsSync(join(ROOT, SHIPPED.bash)));
  assert.match(readFileSync(join(ROOT, 'scripts', 'setup.sh'), 'utf8'), /completions\/l3ctl\.bash/);
});

test('the zsh script registers _l3ctl with compinit', (t) => {
  if (!requireProgram(t, 'zsh', 'zsh')) return;
  const r = spawnSync('zsh', ['-f', '-c', `autoload -Uz compinit; compinit -u -D; source ${JSON.stringify(join(ROOT, SHIPPED.zsh))}; print -r -- $_comps[l3ctl]`], { encoding: 'utf8', env: { ...process.env, HOME: store.dir } });
  assert.equal(r.stdout.trim(), '_l3ctl', r.stderr);
});

test('fish completes through the script (only external networks after gateway set ROUTER)', (t) => {
  if (!requireProgram(t, 'fish', 'fish')) return;
  const dir = join(store.dir, 'bin');
  spawnSync('mkdir', ['-p', dir]);
  spawnSync('ln', ['-sf', BIN, join(dir, 'l3ctl')]);
  const run = (line: string) =>
    spawnSync('fish', ['--no-config', '-c', `source ${JSON.stringify(join(ROOT, SHIPPED.fish))}; complete -C ${JSON.stringify(line)}`], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, L3CTL_STORE: store.path, HOME: store.dir },
    }).stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
  assert.deepEqual(run('l3ctl gateway set r1 '), ['ext']);
  assert.deepEqual(run('l3ctl network list -c router:'), ['router:external']);
});
