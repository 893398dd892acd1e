// The whole command line in-process (src/cli/main.ts run()): old verbs,
// help and version, errors as `l3ctl: error:` lines with their exit status,
// a missing argument asked for on a terminal from the argument's kind, and
// confirmations. A recording runner; the prompts are scripted.
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAND_WRITTEN } from '../helpers/error-cases.js';
import { l3ctlIn, scriptedPrompter } from '../helpers/inproc.js';
import { ROOT, readStore, tempStore } from '../helpers/cli.js';
import { RecordingRunner } from '../../src/linux/runner.js';
import type { State } from '../../src/model/types.js';

const R1 = 'e0000004-0000-4000-8000-000000000004';
const store = tempStore();
after(() => store.cleanup());
// No metadata proxy: these tests are about the CLI, not haproxy (a recording runner starts no daemon).
const FIXTURE: State = { ...HAND_WRITTEN, config: { ...HAND_WRITTEN.config, enable_metadata_proxy: 'false' } };
const text = JSON.stringify(FIXTURE, null, 2) + '\n';
beforeEach(() => writeFileSync(store.path, text));
const stored = (): State => JSON.parse(readFileSync(store.path, 'utf8')) as State;
const opts = { store: store.path };

describe('main: what the operator sees', () => {
  it('--version: the package version, nothing else', async () => {
    const r = await l3ctlIn(['--version']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(r, { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('help on stdout, exit 0: the program, a noun, a verb with its examples', async () => {
    const top = await l3ctlIn(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /^Usage: l3ctl \[options\] \[command\]\n/);
    for (const line of [/^ {2}--store <path> +state file/m, /^ {2}-c, --column <column> +only this column/m, /^ {2}router \[command\] +routers: one namespace each$/m]) {
      assert.match(top.stdout, line);
    }
    const verb = await l3ctlIn(['help', 'fip', 'associate']);
    assert.equal(verb.code, 0);
    assert.match(verb.stdout, /^Usage: l3ctl fip associate \[options\] <fip> <fixed-ip>\n/);
    assert.match(verb.stdout, /^ {2}--router <router> +the router \(default: the one router with a subnet holding FIXED_IP\)$/m);
    assert.match(verb.stdout, /^Example: l3ctl fip associate 203\.0\.113\.20 198\.51\.100\.5 --router r1$/m);
    assert.equal(verb.stderr, '');
  });

  it('a usage error: one error line, a hint, exit 2, nothing on stdout; a bare noun adds its help on stderr', async () => {
    assert.deepEqual(await l3ctlIn(['router', 'ad', 'r9'], opts), { code: 2, stdout: '', stderr: "l3ctl: error: unknown command 'ad'\nhint: did you mean add?\n" });
    const bare = await l3ctlIn(['fip'], opts);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, '');
    assert.match(bare.stderr, /^l3ctl: error: 'l3ctl fip' needs a command\nUsage: l3ctl fip \[options\] \[command\]\n/);
  });

  it('errors of the verbs keep their exit status: unknown name 2, corrupt store 5, declined 6', async () => {
    const unknown = await l3ctlIn(['router', 'show', 'r2'], opts);
    assert.equal(unknown.code, 2);
    assert.deepEqual(unknown.stderr.split('\n').slice(0, 2), ["l3ctl: error: unknown router 'r2': expected the name, id or id prefix of an existing router", "hint: did you mean 'r1'?"]);
    writeFileSync(store.path, '{"version": 1,');
    const corrupt = await l3ctlIn(['router', 'list'], opts);
    assert.equal(corrupt.code, 5);
    assert.match(corrupt.stderr, /^l3ctl: error: store .* is corrupt: invalid JSON/);
    writeFileSync(store.path, text);
    const declined = await l3ctlIn(['router', 'delete', 'r1'], opts);
    assert.equal(declined.code, 6);
    assert.equal(readStore(store.path), text);
  });

  it('a failed system command is exit 1 with the command named, and the store is left as it was', async () => {
    const runner = new RecordingRunner((argv) => (argv.includes('-batch') ? { exitCode: 2, stderr: 'RTNETLINK answers: File exists' } : {}));
    const r = await l3ctlIn(['router', 'add', 'r9'], { ...opts, runner });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^l3ctl: error: command failed \(exit 2\): ip .*-batch -: RTNETLINK answers: File exists$/m);
    assert.match(r.stderr, /^hint: the kernel was put back as it was before this command; the store is unchanged$/m);
    assert.equal(readStore(store.path), text);
  });

  it('router exec: the exit status of the command is l3ctl\'s', async () => {
    const runner = new RecordingRunner(() => ({ exitCode: 7 }), new Set([`qrouter-${R1}`]));
    const r = await l3ctlIn(['router', 'exec', 'r1', '--', 'sh', '-c', 'exit 7'], { ...opts, runner });
    assert.equal(r.code, 7);
  });

  it('-q: nothing on success; --dry-run: the plan on stdout, the store unchanged', async () => {
    assert.deepEqual(await l3ctlIn(['router', 'add', 'r9', '-q'], opts), { code: 0, stdout: '', stderr: '' });
    writeFileSync(store.path, text);
    const dry = await l3ctlIn(['--dry-run', 'router', 'add', 'r9'], opts);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^\+ ip .*-batch -$/m);
    assert.match(dry.stdout, /^ {2}netns add qrouter-/m);
    assert.equal(readStore(store.path), text);
  });
});

describe('old-client verbs', () => {
  it('say the new form on stderr, then run it as that form', async () => {
    const r = await l3ctlIn(['router-create', 'r9', '-f', 'value', '-c', 'name'], opts);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "l3ctl: 'router-create' is now 'router add': l3ctl router add r9 -f value -c name\n");
    assert.equal(r.stdout, 'r9\n');
    assert.ok(stored().routers.some((x) => x.name === 'r9'));
  });

  it("a mistake is the new command's usage error", async () => {
    const r = await l3ctlIn(['floatingip-associate', '203.0.113.21'], opts);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^l3ctl: error: missing required argument 'fixed-ip'$/m);
    assert.match(r.stderr, /^hint: usage: l3ctl fip associate \[options\] <fip> <fixed-ip>$/m);
  });
});

describe('a missing argument on a terminal is asked for, from its kind', () => {
  it('a router: picked from the routers', async () => {
    const { prompter, asked } = scriptedPrompter({ select: ['r1'] });
    const r = await l3ctlIn(['router', 'show', '-f', 'json', '-c', 'id'], { ...opts, tty: true, prompter });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { id: R1 });
    assert.equal(asked[0]!.message, 'l3ctl router show: router');
    assert.deepEqual(asked[0]!.choices!.map((c) => c.value), ['r1']);
  });

  it('gateway set: only external networks; interface add: only internal ones the router is not on (nor overlapping its subnets); disassociate: only associated FIPs', async () => {
    for (const [args, want] of [
      [['gateway', 'set', 'r1'], ['ext']],
      // r1 is on priv; over (198.51.100.0/25) overlaps it.
      [['interface', 'add', 'r1'], ['n3']],
      [['fip', 'disassociate'], ['203.0.113.20']],
    ] as [string[], string[]][]) {
      const { prompter, asked } = scriptedPrompter({ select: [null] });
      const r = await l3ctlIn(args, { ...opts, tty: true, prompter });
      assert.deepEqual(asked[0]!.choices!.map((c) => c.value), want, args.join(' '));
      // Cancelled: the usage error it would have been, nothing changed.
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^l3ctl: error: missing required argument '(network|fip)'$/m);
      assert.equal(readStore(store.path), text);
    }
  });

  it('a value with no list to pick from is typed in; each missing argument in turn', async () => {
    const { prompter, asked } = scriptedPrompter({ input: ['192.0.2.128/25', '198.51.100.253'] });
    const r = await l3ctlIn(['route', 'add', 'r1'], { ...opts, tty: true, prompter });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(asked.map((a) => a.message), ['l3ctl route add: destination', 'l3ctl route add: nexthop']);
    assert.deepEqual(stored().routers[0]!.routes, [{ destination: '192.0.2.128/25', nexthop: '198.51.100.253' }]);
  });

  it('--no-input, or no terminal: never asked, exit 2', async () => {
    for (const o of [{ tty: true, args: ['--no-input'] }, { tty: false, args: [] }]) {
      const r = await l3ctlIn(['router', 'show', ...o.args], { ...opts, tty: o.tty });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^l3ctl: error: missing required argument 'router'$/m);
    }
  });
});

describe('confirmations', () => {
  it('on a terminal: no is exit 6 with nothing changed, yes deletes', async () => {
    const no = scriptedPrompter({ confirm: [false] });
    const r = await l3ctlIn(['router', 'delete', 'r1'], { ...opts, tty: true, prompter: no.prompter });
    assert.equal(r.code, 6);
    assert.equal(r.stderr, 'l3ctl: error: declined; nothing was changed\n');
    assert.deepEqual(no.asked.map((a) => a.message), ["Delete 'r1' with ports or floating IPs?"]);
    assert.equal(readStore(store.path), text);
    const yes = scriptedPrompter({ confirm: [true] });
    assert.equal((await l3ctlIn(['router', 'delete', 'r1'], { ...opts, tty: true, prompter: yes.prompter })).code, 0);
    assert.deepEqual(stored().routers, []);
  });

  it('--yes and --dry-run ask nothing', async () => {
    const dry = await l3ctlIn(['router', 'delete', 'r1', '--dry-run'], { ...opts, tty: true });
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(readStore(store.path), text);
    assert.equal((await l3ctlIn(['router', 'delete', 'r1', '-y'], { ...opts, tty: true })).code, 0);
  });
});
