// Prompts and interrupts that agree (issue 15): every destructive verb asks
// on a terminal, --yes skips the question, no terminal is exit 6 with the
// store untouched; moving a floating IP is said and asked on a terminal;
// Ctrl-C is exit 130 at a question and in `agent run`; missing arguments are
// asked for with only the choices that make sense. In-process with scripted
// answers, then the real binary on a pseudo-terminal.
import { describe, it, beforeEach, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { readStore, tempStore } from '../helpers/cli.js';
import { HAND_WRITTEN } from '../helpers/error-cases.js';
import { l3ctlIn, scriptedPrompter } from '../helpers/inproc.js';
import { requireProgram } from '../helpers/tools.js';
import { RecordingRunner } from '../../src/linux/runner.js';
import { emptyRead } from '../helpers/empty-reads.js';
import { PromptInterrupted } from '../../src/cli/prompt.js';
import type { Prompter } from '../../src/cli/io.js';
import type { Clock } from '../../src/agent/runloop.js';
import type { State } from '../../src/model/types.js';
import { net } from '../helpers/one-subnet.js';
import { typeOnTty } from '../helpers/pty.js';

const R1 = 'e0000004-0000-4000-8000-000000000004';
const NS1 = `qrouter-${R1}`;
const FIXTURE: State = { ...HAND_WRITTEN, config: { ...HAND_WRITTEN.config, enable_metadata_proxy: 'false' } };
const text = JSON.stringify(FIXTURE, null, 2) + '\n';
const store = tempStore();
after(() => store.cleanup());
beforeEach(() => writeFileSync(store.path, text));
const stored = (): State => JSON.parse(readFileSync(store.path, 'utf8')) as State;

/** r1's namespace is there (and reads as empty): r1 is live. */
const live = () => new RecordingRunner((argv) => ({ stdout: emptyRead(argv) }), new Set([NS1]));

const run = (args: string[], o: { tty?: boolean; prompter?: Prompter; runner?: RecordingRunner } = {}) => l3ctlIn(args, { store: store.path, ...o });

/** Each destructive case: the command, the question it asks, and what "yes" leaves. */
const CONFIRMED: { args: string[]; question: string; runner?: () => RecordingRunner; done: (s: State) => boolean }[] = [
  {
    args: ['fip', 'delete', '203.0.113.20'],
    question: 'Delete floating IP 203.0.113.20, mapped to 198.51.100.5 on router r1?',
    done: (s) => s.floatingips.length === 0,
  },
  {
    args: ['router', 'disable', 'r1'],
    question: "Disable router 'r1' (torn down in the kernel, kept in the store)?",
    runner: live,
    done: (s) => s.routers[0]!.admin_state_up === false,
  },
  {
    args: ['interface', 'remove', 'r1', 'priv'],
    question: "Remove the interface of router 'r1' on 'priv' (floating IP 203.0.113.20 disassociated, route 192.0.2.128/25 deleted with it)?",
    done: (s) => s.routers[0]!.interfaces.length === 0 && s.floatingips[0]!.router_id === null,
  },
  { args: ['network', 'delete', 'n3'], question: "Delete network 'n3' (192.0.2.0/25)?", done: (s) => !s.networks.some((n) => n.name === 'n3') },
  { args: ['router', 'delete', 'r1'], question: "Delete 'r1' with ports or floating IPs?", runner: live, done: (s) => s.routers.length === 0 },
];

describe('destructive verbs confirm alike', () => {
  for (const c of CONFIRMED) {
    const what = c.args.join(' ');
    it(`${what}: asked on a terminal (no: exit 6, nothing changed; yes: done); no terminal: exit 6; --yes: done unasked`, async () => {
      const no = scriptedPrompter({ confirm: [false] });
      const r = await run(c.args, { tty: true, prompter: no.prompter, runner: c.runner?.() });
      assert.deepEqual([r.code, no.asked.map((a) => a.message)], [6, [c.question]], r.stderr);
      assert.equal(r.stderr, 'l3ctl: error: declined; nothing was changed\n');
      assert.equal(readStore(store.path), text);

      const piped = await run(c.args, { runner: c.runner?.() });
      assert.equal(piped.code, 6, piped.stderr);
      assert.equal(piped.stderr, `l3ctl: error: confirmation needed: ${c.question.replace(/\?$/, '')}; no terminal to ask on\nhint: pass --yes to confirm\n`);
      assert.equal(readStore(store.path), text);

      const yes = scriptedPrompter({ confirm: [true] });
      const y = await run(c.args, { tty: true, prompter: yes.prompter, runner: c.runner?.() });
      assert.equal(y.code, 0, y.stderr);
      assert.ok(c.done(stored()), what);

      writeFileSync(store.path, text);
      const forced = await run([...c.args, '--yes'], { tty: true, runner: c.runner?.() });
      assert.equal(forced.code, 0, forced.stderr);
      assert.ok(c.done(stored()), `${what} --yes`);
    });

    it(`${what}: Ctrl-C at the question is exit 130, nothing changed`, async () => {
      const ctrlC: Prompter = { confirm: async () => { throw new PromptInterrupted(); }, select: async () => null, input: async () => null };
      const r = await run(c.args, { tty: true, prompter: ctrlC, runner: c.runner?.() });
      assert.equal(r.code, 130, r.stderr);
      assert.equal(r.stderr, 'l3ctl: error: interrupted (Ctrl-C); nothing was changed\n');
      assert.equal(readStore(store.path), text);
    });
  }

  it("a dual-stack port's IPv6 address: asked with what goes with it (its IPv6 route), the IPv4 address and FIP stay", async () => {
    const s = structuredClone(FIXTURE);
    const priv = s.networks.find((n) => n.name === 'priv')!;
    const v6 = 'e0000012-0000-4000-8000-000000000012';
    priv.subnets.push({ id: v6, cidr: '2001:db8:1::/64', gateway_ip: '2001:db8:1::1', ip_version: 6, ipv6_ra_mode: null, ipv6_address_mode: null });
    const r1 = s.routers[0]!;
    r1.interfaces.find((p) => p.network_id === priv.id)!.fixed_ips.push({ subnet_id: v6, ip_address: '2001:db8:1::1' });
    r1.routes.push({ destination: '2001:db8:99::/64', nexthop: '2001:db8:1::fe' });
    const before = JSON.stringify(s, null, 2) + '\n';
    writeFileSync(store.path, before);
    const no = scriptedPrompter({ confirm: [false] });
    const r = await run(['interface', 'remove', 'r1', '2001:db8:1::/64'], { tty: true, prompter: no.prompter });
    assert.deepEqual([r.code, no.asked.map((a) => a.message)], [6, ["Remove the 2001:db8:1::/64 address of router 'r1' on 'priv' (route 2001:db8:99::/64 deleted with it)?"]], r.stderr);
    assert.equal(readStore(store.path), before);
    const y = await run(['interface', 'remove', 'r1', '2001:db8:1::/64', '--yes']);
    assert.equal(y.code, 0, y.stderr);
    const after = stored().routers[0]!;
    assert.deepEqual(after.interfaces.find((p) => p.network_id === priv.id)!.fixed_ips.map((f) => f.ip_address), ['198.51.100.1']);
    assert.deepEqual(after.routes.map((x) => x.destination), ['192.0.2.128/25']);
    assert.equal(stored().floatingips[0]!.fixed_ip_address, '198.51.100.5', 'the FIP on the IPv4 subnet stays');
  });

  it('nothing to lose, nothing asked: an unassociated FIP, a router whose namespace is not there, an interface nothing needs', async () => {
    const s = structuredClone(FIXTURE);
    s.floatingips[0]!.router_id = s.floatingips[0]!.fixed_ip_address = null;
    s.routers[0]!.routes = [];
    writeFileSync(store.path, JSON.stringify(s));
    for (const args of [['router', 'disable', 'r1'], ['interface', 'remove', 'r1', 'priv'], ['fip', 'delete', '203.0.113.20']]) {
      const r = await run(args, { tty: true });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});

describe('apply --prune on a terminal', () => {
  it('names what the file lacks and asks (no: exit 6, nothing changed); from a script, or with --yes, it goes ahead unasked; nothing to remove, nothing asked', async () => {
    const doc = JSON.parse((await run(['export', '-f', 'json'])).stdout) as { networks: { name: string }[] };
    doc.networks = doc.networks.filter((n) => n.name !== 'n3' && n.name !== 'over');
    const file = `${store.dir}/site.json`;
    writeFileSync(file, JSON.stringify(doc));
    const gone = (s: State) => !s.networks.some((n) => n.name === 'n3' || n.name === 'over');

    const no = scriptedPrompter({ confirm: [false] });
    const r = await run(['apply', '--prune', file], { tty: true, prompter: no.prompter });
    assert.deepEqual([r.code, no.asked.map((a) => a.message)], [6, [`Remove what ${file} lacks: network n3, network over?`]], r.stderr);
    assert.equal(readStore(store.path), text);

    const piped = await run(['apply', '--prune', file]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(gone(stored()));

    writeFileSync(store.path, text);
    const forced = await run(['apply', '--prune', file, '--yes'], { tty: true });
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(gone(stored()));
    // Applied: nothing left to remove, so nothing to ask (the refusing prompter would fail the command).
    const again = await run(['apply', '--prune', file], { tty: true });
    assert.equal(again.code, 0, again.stderr);
  });
});

describe('fip associate of a mapped floating IP', () => {
  it('says it moves it, from and to; asks on a terminal; goes ahead without one; the same mapping asks nothing', async () => {
    const no = scriptedPrompter({ confirm: [false] });
    const r = await run(['fip', 'associate', '203.0.113.20', '198.51.100.6'], { tty: true, prompter: no.prompter });
    assert.equal(r.code, 6);
    assert.deepEqual(no.asked.map((a) => a.message), ['Move floating IP 203.0.113.20 from 198.51.100.5 on router r1 to 198.51.100.6?']);
    assert.equal(readStore(store.path), text);
    const piped = await run(['fip', 'associate', '203.0.113.20', '198.51.100.6', '-f', 'value', '-c', 'fixed_ip_address']);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, '198.51.100.6\n');
    assert.equal(piped.stderr, 'moved floating IP 203.0.113.20 from 198.51.100.5 on router r1 to 198.51.100.6\n');
    const same = await run(['fip', 'associate', '203.0.113.20', '198.51.100.6'], { tty: true });
    assert.equal(same.code, 0, same.stderr);
    assert.doesNotMatch(same.stderr, /moved/);
  });
});

describe('missing arguments: only sensible choices, a new value where one is allowed', () => {
  const offered = async (args: string[], s?: (x: State) => void) => {
    if (s) {
      const x = structuredClone(FIXTURE);
      s(x);
      writeFileSync(store.path, JSON.stringify(x));
    }
    const { prompter, asked } = scriptedPrompter({ select: [null] });
    await run(args, { tty: true, prompter });
    return asked[0]?.choices?.map((c) => c.value);
  };

  it("a router's own interfaces and routes; routers the verb would change; networks nothing uses", async () => {
    assert.deepEqual(await offered(['interface', 'remove', 'r1']), ['priv']);
    assert.deepEqual(await offered(['route', 'delete', 'r1']), ['192.0.2.128/25']);
    assert.deepEqual(await offered(['router', 'enable']), undefined, 'no disabled router: nothing to offer, not asked');
    assert.deepEqual(await offered(['router', 'enable'], (x) => x.routers.push({ ...x.routers[0]!, id: 'e0000009-0000-4000-8000-000000000009', name: 'r9', admin_state_up: false, gateway: null, interfaces: [], routes: [] })), ['r9']);
    assert.deepEqual(await offered(['network', 'delete']), ['n3', 'over']);
  });

  it('HA: the HA network is never offered for an interface, nor for deletion under an HA router; standby offers HA routers', async () => {
    const withHa = (x: State) => {
      x.config = { ...x.config, ha_network: 'ha', ha_node_address: '169.254.192.1' };
      x.networks.push(net({ id: 'e0000011-0000-4000-8000-000000000011', name: 'ha', cidr: '169.254.192.0/18', gateway_ip: null, external: false, bridge: null }));
      x.routers.push({ ...x.routers[0]!, id: 'e0000009-0000-4000-8000-000000000009', name: 'r9', admin_state_up: false, gateway: null, interfaces: [], routes: [], ha: true, ha_vr_id: 1 });
    };
    const ifaces = await offered(['interface', 'add', 'r1'], withHa);
    assert.ok(ifaces && ifaces.length > 0 && !ifaces.includes('ha'), String(ifaces));
    assert.deepEqual(await offered(['network', 'delete'], withHa), ['n3', 'over']);
    assert.deepEqual(await offered(['router', 'standby'], withHa), ['r9']);
  });

  it('fip associate: free floating IPs, then a new one (its default the first free address), then mapped ones', async () => {
    const s = structuredClone(FIXTURE);
    s.floatingips.push({ id: 'e0000010-0000-4000-8000-000000000010', floating_ip_address: '203.0.113.30', floating_network_id: s.networks[0]!.id, fixed_ip_address: null, router_id: null });
    writeFileSync(store.path, JSON.stringify(s));
    const asked: { kind: string; message: string; choices?: string[]; default?: string }[] = [];
    const prompter: Prompter = {
      confirm: async () => true,
      select: async (message, choices) => (asked.push({ kind: 'select', message, choices: choices.map((c) => c.name) }), choices[1]!.value),
      input: async (message, o) => (asked.push({ kind: 'input', message, ...(o?.default ? { default: o.default } : {}) }), message.includes('new address') ? o!.default! : '198.51.100.9'),
    };
    const r = await run(['fip', 'associate', '-f', 'value', '-c', 'floating_ip_address', '-c', 'fixed_ip_address'], { tty: true, prompter });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(asked, [
      { kind: 'select', message: 'l3ctl fip associate: fip', choices: ['203.0.113.30 (not associated)', 'a new floating IP…', '203.0.113.20 -> 198.51.100.5'] },
      { kind: 'input', message: 'l3ctl fip associate: fip: the new address', default: '203.0.113.2' },
      { kind: 'input', message: 'l3ctl fip associate: fixed-ip' },
    ]);
    assert.equal(r.stdout, '203.0.113.2\t198.51.100.9\n');
  });

  it('Ctrl-C at a selection is exit 130', async () => {
    const ctrlC: Prompter = { confirm: async () => false, select: async () => { throw new PromptInterrupted(); }, input: async () => null };
    const r = await run(['router', 'show'], { tty: true, prompter: ctrlC });
    assert.deepEqual([r.code, r.stderr], [130, 'l3ctl: error: interrupted (Ctrl-C); nothing was changed\n']);
  });
});

describe('agent run and Ctrl-C', () => {
  /** A clock whose sleeps last until a signal, and a signal sent once the loop sleeps. */
  function loop(signal: 'SIGINT' | 'SIGTERM') {
    const signals = new EventEmitter();
    const clock: Clock = {
      now: () => Date.UTC(2024, 0, 2),
      sleep: (_ms, wake) =>
        new Promise<void>((resolve) => {
          wake.addEventListener('abort', () => resolve(), { once: true });
          setImmediate(() => signals.emit(signal));
        }),
    };
    return { signals, clock };
  }

  it('Ctrl-C: the loop stops, says so, exit 130; SIGTERM (systemd): exit 0, nothing more said', async () => {
    const int = await l3ctlIn(['agent', 'run', '--interval', '60'], { store: store.path, ...loop('SIGINT') });
    assert.equal(int.code, 130, int.stderr);
    assert.match(int.stdout, /^pass 1: 1 routers, /);
    assert.equal(int.stderr, 'l3ctl: agent run stopped (Ctrl-C) after 1 pass\n');
    const term = await l3ctlIn(['agent', 'run', '--interval', '60'], { store: store.path, ...loop('SIGTERM') });
    assert.equal(term.code, 0, term.stderr);
    assert.equal(term.stderr, '');
    const json = await l3ctlIn(['agent', 'run', '--interval', '60', '--log-format', 'json'], { store: store.path, ...loop('SIGINT') });
    assert.equal(json.code, 130);
    assert.deepEqual(JSON.parse(json.stdout.trim().split('\n').at(-1)!), { time: '2024-01-02T00:00:00.000Z', level: 'info', msg: 'agent run stopped (Ctrl-C) after 1 pass', signal: 'SIGINT', passes: 1 });
  });

  it('Ctrl-C during a pass is said at once: the pass finishes, then the loop stops', async () => {
    const signals = new EventEmitter();
    let sent = false;
    // The first read of the pass: Ctrl-C arrives while it runs.
    const runner = new RecordingRunner(() => {
      if (!sent) {
        sent = true;
        signals.emit('SIGINT');
      }
      return { stdout: '' };
    });
    const clock: Clock = { now: () => 0, sleep: async () => {} };
    const r = await l3ctlIn(['agent', 'run', '--interval', '60'], { store: store.path, runner, signals, clock });
    assert.equal(r.code, 130);
    assert.equal(r.stderr, '\nl3ctl: interrupted: stopping after this pass…\nl3ctl: agent run stopped (Ctrl-C) after 1 pass\n');
  });
});

const onTty = (args: string[], prompt: RegExp, keys: string, env: Record<string, string> = {}) => typeOnTty(store.path, args, prompt, keys, env);

test('on a pseudo-terminal: Ctrl-C at a yes/no question is exit 130, the store untouched', async (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  const r = await onTty(['fip', 'delete', '203.0.113.20'], /\(y\/N\)/, '\x03');
  assert.equal(r.code, 130, r.out);
  assert.match(r.out, /Delete floating IP 203\.0\.113\.20, mapped to 198\.51\.100\.5 on router r1\?/);
  assert.match(r.out, /l3ctl: error: interrupted \(Ctrl-C\); nothing was changed/);
  assert.equal(readStore(store.path), text);
});

test('on a pseudo-terminal: a move asks, "n" is exit 6', async (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  const r = await onTty(['fip', 'associate', '203.0.113.20', '198.51.100.6'], /\(y\/N\)/, 'n\r');
  assert.equal(r.code, 6, r.out);
  assert.match(r.out, /Move floating IP 203\.0\.113\.20 from 198\.51\.100\.5 on router r1 to 198\.51\.100\.6\?/);
  assert.equal(readStore(store.path), text);
});

test('on a pseudo-terminal: a missing argument is a selection of what makes sense; Enter picks, Ctrl-C is exit 130', async (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  const interrupted = await onTty(['route', 'delete', 'r1'], /l3ctl route delete: /, '\x03');
  assert.equal(interrupted.code, 130, interrupted.out);
  assert.match(interrupted.out, /192\.0\.2\.128\/25 via 198\.51\.100\.254/, 'the router\'s own route offered');
  assert.match(interrupted.out, /l3ctl: error: interrupted \(Ctrl-C\); nothing was changed/);
  assert.equal(readStore(store.path), text);
  const picked = await onTty(['network', 'show', '-f', 'value', '-c', 'name', '-c', 'cidr'], /l3ctl network show: /, '\r');
  assert.equal(picked.code, 0, picked.out);
  assert.match(picked.out, /ext\t203\.0\.113\.0\/24\r?\n/, 'the first choice, shown');
});

test('on a pseudo-terminal: agent run stops on Ctrl-C, says so, exit 130', async (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  // No router and no host_namespace: a pass only reads (a host_namespace would be created).
  writeFileSync(store.path, JSON.stringify({ version: 1, config: {}, networks: [], routers: [], floatingips: [] }));
  const r = await onTty(['agent', 'run', '--interval', '600'], /pass 1: /, '\x03');
  assert.equal(r.code, 130, r.out);
  assert.match(r.out, /l3ctl: agent run stopped \(Ctrl-C\) after 1 pass/);
});

test('on a pseudo-terminal: Ctrl-C during router exec is the command\'s to answer; its status is passed on', async (t) => {
  if (!requireProgram(t, 'script', 'util-linux')) return;
  // use_namespaces false: the router_id router lives where l3ctl runs, so no namespace is needed.
  // No host_namespace either: the command runs in the namespace l3ctl runs in, and changes nothing there.
  const { host_namespace: _unused, ...config } = FIXTURE.config;
  writeFileSync(store.path, JSON.stringify({ ...FIXTURE, config: { ...config, use_namespaces: 'false', router_id: R1 } }));
  const r = await onTty(['router', 'exec', 'r1', 'sh', '-c', 'trap "echo caught; exit 7" INT; echo ready; sleep 10 & wait'], /ready/, '\x03');
  assert.equal(r.code, 7, r.out);
  assert.match(r.out, /caught/);
});
