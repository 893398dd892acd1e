// Input that forgives (issue 15): `router exec ROUTER CMD ARG…` hands every
// word after ROUTER to the command; swapped arguments and openstackclient
// habits get the command line that was meant; the old client's read verbs
// are hidden aliases; `help NOUN VERB` and each verb's --help list the
// global options that apply to it.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tempStore } from '../helpers/cli.js';
import { HAND_WRITTEN } from '../helpers/error-cases.js';
import { l3ctlIn } from '../helpers/inproc.js';
import { parse } from '../../src/cli/parse.js';
import { RecordingRunner } from '../../src/linux/runner.js';

const R1 = 'e0000004-0000-4000-8000-000000000004';
const store = tempStore();
after(() => store.cleanup());
writeFileSync(store.path, JSON.stringify(HAND_WRITTEN));
const run = (args: string[], runner?: RecordingRunner) => l3ctlIn(args, { store: store.path, runner });

describe('router exec ROUTER CMD ARG…', () => {
  it('every word after ROUTER is the command, options and all', () => {
    const values = (args: string[]) => (parse(args) as { values: Record<string, unknown>; globals: { column: string[]; format: string } });
    const p = values(['router', 'exec', 'r1', 'ping', '-c', '2', '203.0.113.1']);
    assert.deepEqual(p.values.command, ['ping', '-c', '2', '203.0.113.1']);
    assert.deepEqual(p.globals.column, [], '-c is ping\'s, not --column');
    assert.deepEqual(values(['router', 'exec', 'r1', 'ip', '-f', 'inet', 'addr', '--help']).values.command, ['ip', '-f', 'inet', 'addr', '--help']);
    assert.deepEqual(values(['router', 'exec', 'r1', 'node', '--version']).values.command, ['node', '--version'], 'not l3ctl --version');
    // Options before ROUTER are still l3ctl's; -- still works.
    const v = values(['router', 'exec', '-v', 'r1', '--', 'sh', '-c', 'exit 3']);
    assert.deepEqual([v.values.command, (v.globals as unknown as { verbose: boolean }).verbose], [['sh', '-c', 'exit 3'], true]);
    assert.deepEqual(parse(['router', 'exec', 'r1', '--help']), { action: 'help', path: ['router', 'exec'], command: (parse(['router', 'exec', '--help']) as { command: unknown }).command });
  });

  it("runs it in the router's namespace with its arguments untouched", async () => {
    const runner = new RecordingRunner(() => ({}), new Set([`qrouter-${R1}`]));
    const r = await run(['router', 'exec', 'r1', 'ping', '-c', '2', '-q', '203.0.113.1'], runner);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(runner.calls.map((c) => c.argv), [['ip', 'netns', 'exec', `qrouter-${R1}`, 'ping', '-c', '2', '-q', '203.0.113.1']]);
  });
});

describe('router exec on a router without a namespace', () => {
  const other = tempStore();
  after(() => other.cleanup());
  const exec = async (edit: (s: typeof HAND_WRITTEN) => void) => {
    const s = structuredClone(HAND_WRITTEN);
    edit(s);
    writeFileSync(other.path, JSON.stringify(s));
    const runner = new RecordingRunner();
    const r = await l3ctlIn(['router', 'exec', 'r1', '--', 'ip', 'addr'], { store: other.path, runner });
    assert.deepEqual(runner.calls.filter((c) => !c.read), [], 'nothing run');
    return r;
  };

  it('disabled: says so, hints router enable, exit 2 (agent sync skips it)', async () => {
    const r = await exec((s) => (s.routers[0]!.admin_state_up = false));
    assert.deepEqual([r.code, r.stderr], [2, "l3ctl: error: router 'r1' is disabled: it has no namespace to run a command in\nhint: l3ctl router enable r1\n"]);
  });

  it('handled by another host (router_id): says why, hints the setting, exit 2', async () => {
    const r = await exec((s) => (s.config = { ...s.config, use_namespaces: 'false', router_id: 'e0000009-0000-4000-8000-000000000009' }));
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `l3ctl: error: router 'r1' is not handled on this host (not-router_id): it has no namespace to run a command in\nhint: l3ctl config set router_id ${R1}\n`);
  });

  it('enabled and handled here but its namespace gone: drift, exit 1, hint agent sync', async () => {
    const r = await exec(() => {});
    assert.deepEqual([r.code, r.stderr], [1, `l3ctl: error: namespace qrouter-${R1} of router 'r1' does not exist\nhint: l3ctl agent sync r1\n`]);
  });
});

describe('swapped arguments: the command line that was meant', () => {
  for (const [args, meant] of [
    [['gateway', 'set', 'ext', 'r1'], 'l3ctl gateway set r1 ext'],
    [['gateway', 'set', 'ext', 'r1', '--ip', '203.0.113.11'], 'l3ctl gateway set r1 ext --ip 203.0.113.11'],
    [['interface', 'add', 'n3', 'r1'], 'l3ctl interface add r1 n3'],
    [['fip', 'associate', '198.51.100.5', '203.0.113.20'], 'l3ctl fip associate 203.0.113.20 198.51.100.5'],
    [['route', 'add', 'r1', '198.51.100.254', '192.0.2.0/24'], 'l3ctl route add r1 192.0.2.0/24 198.51.100.254'],
    [['-q', 'route', 'add', 'r1', '198.51.100.254', '192.0.2.0/24'], 'l3ctl -q route add r1 192.0.2.0/24 198.51.100.254'],
  ] as [string[], string][]) {
    it(`${args.join(' ')}: exit 2, did you mean \`${meant}\``, async () => {
      const r = await run(args);
      assert.equal(r.code, 2);
      const lines = r.stderr.split('\n');
      assert.match(lines[0]!, /^l3ctl: error: /);
      assert.equal(lines[1], `hint: did you mean \`${meant}\`?`);
      assert.equal(r.stdout, '');
    });
  }

  it('no hint when the other order makes no more sense', async () => {
    for (const args of [['gateway', 'set', 'nope', 'r1'], ['fip', 'associate', '192.0.2.77', '203.0.113.20'], ['route', 'add', 'r1', '192.0.2.0/24', 'banana']]) {
      const r = await run(args);
      assert.equal(r.code, 2);
      assert.doesNotMatch(r.stderr, /did you mean `/, args.join(' '));
    }
  });
});

describe('openstackclient habits and the old client', () => {
  for (const [args, meant] of [
    [['router', 'create', 'r2'], '`l3ctl router add r2`'],
    [['router', 'set', 'r1', '--external-gateway', 'ext'], '`l3ctl gateway set r1 ext`'],
    [['router', 'set', 'r1', '--disable'], '`l3ctl router disable r1`'],
    [['router', 'set', 'r1', '--route', 'destination=192.0.2.0/24,gateway=198.51.100.254'], '`l3ctl route add r1 192.0.2.0/24 198.51.100.254`'],
    [['router', 'unset', 'r1', '--external-gateway'], '`l3ctl gateway clear r1`'],
    [['router', 'add', 'subnet', 'r1', 'n3'], '`l3ctl interface add r1 n3`'],
    [['router', 'remove', 'subnet', 'r1', 'priv'], '`l3ctl interface remove r1 priv`'],
    [['network', 'create', 'n9'], '`l3ctl network add n9 --cidr CIDR`'],
    [['floating', 'ip', 'create', 'ext', '--floating-ip-address', '203.0.113.30'], '`l3ctl fip add 203.0.113.30 --network ext`'],
    [['floating', 'ip', 'list'], '`l3ctl fip list`'],
    [['floating', 'ip', 'set', '203.0.113.20', '--port', 'p1', '--fixed-ip-address', '198.51.100.7'], '`l3ctl fip associate 203.0.113.20 198.51.100.7`'],
    [['floating', 'ip', 'unset', '--port', '203.0.113.20'], '`l3ctl fip disassociate 203.0.113.20`'],
  ] as [string[], string][]) {
    it(`${args.join(' ')} → did you mean ${meant}?`, async () => {
      const r = await run(args);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.split('\n')[1], `hint: did you mean ${meant}?`, r.stderr);
    });
  }

  it('router set with nothing l3ctl knows: the verbs that set what a router has', async () => {
    const r = await run(['router', 'set', 'r1', '--name', 'x']);
    assert.equal(r.stderr.split('\n')[1], 'hint: did you mean `l3ctl router enable|disable r1`, `l3ctl gateway set r1 NETWORK`, `l3ctl route add r1 DESTINATION NEXTHOP` or `l3ctl router set r1 --ha|--no-ha`?');
  });

  it("the old client's read verbs are hidden aliases: the new form said, then run", async () => {
    for (const [old, now, want] of [
      ['router-list', 'router list', /^Name +State/],
      ['net-list', 'network list', /^Name +CIDR/],
      ['floatingip-list', 'fip list', /^Floating IP +Fixed IP/],
    ] as const) {
      const r = await run([old]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, `l3ctl: '${old}' is now '${now}': l3ctl ${now}\n`);
      assert.match(r.stdout, want);
    }
    const show = await run(['router-show', 'r1', '-f', 'json', '-c', 'id']);
    assert.deepEqual(JSON.parse(show.stdout), { id: R1 });
    assert.equal((await run(['__complete', 'router-'])).code, 2, 'hidden: no command of that name is offered');
  });
});

describe('help', () => {
  it('`l3ctl help router show` is the verb\'s help; it lists the global options that apply to it', async () => {
    const r = await run(['help', 'router', 'show']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, (await run(['router', 'show', '--help'])).stdout);
    assert.match(r.stdout, /^Usage: l3ctl router show \[options\] <router>$/m);
    const globals = r.stdout.slice(r.stdout.indexOf('Global options'));
    for (const o of ['-f, --format <format>', '-c, --column <column>', '--store <path>']) assert.ok(globals.includes(o), o);
    assert.ok(!globals.includes('--dry-run'), 'show changes nothing: no --dry-run');
  });

  it('a verb that changes something lists --dry-run; one that confirms, --yes; one that prints nothing, no -f', async () => {
    const globalsOf = async (args: string[]) => {
      const t = (await run([...args, '--help'])).stdout;
      return t.slice(t.indexOf('Global options')).split('\n').slice(1).map((l) => l.trim().split(/\s{2,}/)[0]).filter((x) => x && x.startsWith('-'));
    };
    assert.deepEqual(await globalsOf(['fip', 'delete']), ['--store <path>', '--dry-run', '-y, --yes', '--no-input', '--no-color', '-v, --verbose', '-q, --quiet']);
    assert.deepEqual(await globalsOf(['fip', 'associate']), ['--store <path>', '-f, --format <format>', '-c, --column <column>', '--dry-run', '-y, --yes', '--no-input', '--no-color', '-v, --verbose', '-q, --quiet']);
    assert.deepEqual(await globalsOf(['export']), ['--store <path>', '-f, --format <format>', '--no-color', '-v, --verbose', '-q, --quiet']);
    assert.deepEqual(await globalsOf(['router', 'exec']), ['--store <path>', '--no-input', '--no-color', '-v, --verbose', '-q, --quiet']);
  });
});
