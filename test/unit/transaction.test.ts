// The transaction (validate, lock, apply, save; roll back on failure or
// Ctrl-C), called in-process, and the fault-injection runner, with a
// recording runner: no root.
// That rollback really restores a kernel is proven in test/e2e/rollback.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Interrupted, transact, type Change, type TxDeps } from '../../src/agent/transaction.js';
import { FaultRunner, faultFromEnv } from '../../src/linux/fault.js';
import { CommandError, RecordingRunner, type RunOptions, type RunResult, type Runner } from '../../src/linux/runner.js';
import { L3ctlError, UsageError } from '../../src/model/errors.js';
import type { State } from '../../src/model/types.js';
import { tempStore } from '../helpers/cli.js';
import { FakeHost } from '../helpers/fake-host.js';
import { net, port } from '../helpers/one-subnet.js';

// A host namespace that does not exist: plans are computed without reads
// (nothing to observe) and start by creating it, so every run has commands.
const HOST_NS = 'l3ctl-t-unit-absent-ns';
const NET_ID = 'c0000000-0000-4000-8000-000000000001';
const base = (): State => ({
  version: 3,
  config: { host_namespace: HOST_NS, external_network_bridge: '', send_arp_for_ha: '0' },
  networks: [],
  routers: [],
  floatingips: [],
});
const addNetwork = (s: State): Change<unknown> => {
  s.networks.push(net({ id: NET_ID, name: 'n1', cidr: '198.51.100.0/24', gateway_ip: '198.51.100.1', external: false, bridge: null }));
  return { bridges: true };
};

const stores: { cleanup(): void }[] = [];
after(() => stores.forEach((s) => s.cleanup()));

function setup(runner: Runner) {
  const t = tempStore();
  stores.push(t);
  const text = JSON.stringify(base(), null, 2) + '\n';
  writeFileSync(t.path, text);
  const ctx: TxDeps = { storePath: t.path, dryRun: false, runner, files: new FakeHost(), warn() {} };
  return { ctx, text, path: t.path };
}

const mutating = (r: RecordingRunner) => r.calls.filter((c) => !c.read).map((c) => `${c.argv.join(' ')} <<< ${JSON.stringify(c.input ?? '')}`);

describe('transaction', () => {
  it('saves after a successful apply and returns what the change reports', async () => {
    const runner = new RecordingRunner();
    const { ctx, path } = setup(runner);
    const v = await transact(ctx, (s) => ({ ...addNetwork(s), value: 'done' }));
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).networks[0].name, 'n1');
    assert.equal(v, 'done');
    assert.ok(mutating(runner).some((c) => c.includes('link add brqc0000000-00 type bridge')), mutating(runner).join('\n'));
  });

  it('a conflict in the new state is exit 2 before any program runs; the lock is released', async () => {
    const runner = new RecordingRunner();
    const { ctx, path, text } = setup(runner);
    await assert.rejects(
      transact(ctx, (s) => {
        addNetwork(s);
        s.networks.push(net({ id: 'c0000000-0000-4000-8000-000000000002', name: 'n1', cidr: '198.51.100.128/25', gateway_ip: null, external: false, bridge: null }));
        return { bridges: true };
      }),
      (e: L3ctlError) => e instanceof UsageError && /already exists/.test(e.message),
    );
    assert.deepEqual(runner.calls, []);
    assert.equal(readFileSync(path, 'utf8'), text);
    assert.ok(!existsSync(`${path}.lock`), 'lock released');
  });

  it("the agent's filters are checked up front too (two external networks, no gateway_external_network_id)", async () => {
    const runner = new RecordingRunner();
    const { ctx } = setup(runner);
    await assert.rejects(
      transact(ctx, (s) => {
        s.networks.push(
          net({ id: 'c000000a-0000-4000-8000-00000000000a', name: 'e1', cidr: '203.0.113.0/25', gateway_ip: '203.0.113.1', external: true, bridge: null }),
          net({ id: 'c000000b-0000-4000-8000-00000000000b', name: 'e2', cidr: '203.0.113.128/25', gateway_ip: '203.0.113.129', external: true, bridge: null }),
        );
        const id = 'c000000c-0000-4000-8000-00000000000c';
        s.routers.push({ id, name: 'r', admin_state_up: true, gateway: port({ id: 'c000000d-0000-4000-8000-00000000000d', network_id: 'c000000a-0000-4000-8000-00000000000a', ip_address: '203.0.113.10', mac_address: 'fa:16:3e:00:00:01', admin_state_up: true }), interfaces: [], routes: [], ha: false, ha_vr_id: null });
        return { routers: [id] };
      }),
      (e: L3ctlError) => e.exitCode === 2 && /gateway_external_network_id/.test(e.message),
    );
    assert.deepEqual(runner.calls, []);
  });

  it('a failing command: rolled back from the old state, store unchanged, exit 1 with command, stderr and hints', async () => {
    let failed = false;
    const runner = new RecordingRunner((_argv, input) => {
      if (!failed && input?.includes('link add brq')) {
        failed = true;
        return { exitCode: 2, stderr: 'RTNETLINK answers: File exists\nCommand failed -:2\n' };
      }
      return {};
    });
    const { ctx, path, text } = setup(runner);
    await assert.rejects(transact(ctx, addNetwork), (e: L3ctlError) => {
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /^command failed \(exit 2\): ip -n l3ctl-t-unit-absent-ns -batch -: RTNETLINK answers: File exists/);
      const hints = e.hint!.split('\n');
      assert.equal(hints[0], 'input line 2 (namespace l3ctl-t-unit-absent-ns):');
      assert.match(hints[2]!, /^>   2: link add brqc0000000-00 type bridge/);
      assert.equal(hints.at(-1), 'the kernel was put back as it was before this command; the store is unchanged');
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), text);
    assert.ok(!existsSync(`${path}.bak`));
    // The rollback ran: the old state has no network, so its pass plugs no bridge.
    const after = mutating(runner).slice(mutating(runner).findIndex((c) => c.includes('link add brq')) + 1);
    assert.ok(after.length > 0, 'the rollback ran commands');
    assert.ok(after.every((c) => !c.includes('link add brq')), after.join('\n'));
  });

  it('a rollback that fails too says so and points to agent sync; still exit 1', async () => {
    const runner = new RecordingRunner((argv) => (argv.includes('-batch') ? { exitCode: 1, stderr: 'Command failed -:1' } : {}));
    const { ctx, path, text } = setup(runner);
    await assert.rejects(transact(ctx, addNetwork), (e: L3ctlError) => {
      assert.equal(e.exitCode, 1);
      assert.match(e.hint!, /putting the kernel back failed too \(command failed .*\); the store is unchanged: run 'l3ctl agent sync'/);
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), text);
  });

  it('Ctrl-C during the apply: no further forward command, rolled back, exit 130', async () => {
    let signalled = -1;
    const runner = new RecordingRunner((argv, input) => {
      if (signalled < 0 && `${argv.join(' ')}\n${input ?? ''}`.includes('netns add')) {
        signalled = runner.calls.length;
        process.emit('SIGINT');
      }
      return {};
    });
    const { ctx, path, text } = setup(runner);
    const listeners = process.listenerCount('SIGINT');
    await assert.rejects(transact(ctx, addNetwork), (e: L3ctlError) => {
      assert.ok(e instanceof Interrupted);
      assert.equal(e.exitCode, 130);
      assert.equal(e.hint, 'the kernel was put back as it was before this command; the store is unchanged');
      return true;
    });
    assert.ok(signalled > 0);
    // The forward apply would have plugged the bridge next; it never did.
    assert.ok(!mutating(runner).some((c) => c.includes('link add brq')), mutating(runner).join('\n'));
    assert.equal(readFileSync(path, 'utf8'), text);
    assert.equal(process.listenerCount('SIGINT'), listeners, 'the SIGINT handler is removed again');
  });

  it('a failed save rolls the kernel back too', async () => {
    const runner = new RecordingRunner();
    const { ctx, path, text } = setup(runner);
    // Make the save fail: a directory where the temp file's rename must land.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(`${path}.bak`);
    writeFileSync(`${path}.bak/keep`, '');
    await assert.rejects(transact(ctx, addNetwork));
    assert.equal(readFileSync(path, 'utf8'), text);
    const calls = mutating(runner);
    const plug = calls.findIndex((c) => c.includes('link add brq'));
    assert.ok(plug >= 0 && calls.length > plug + 1, `forward pass then a rollback pass:\n${calls.join('\n')}`);
  });
});

describe('fault injection runner', () => {
  const inner = () => {
    const calls: { argv: string[]; input?: string }[] = [];
    const r: Runner = {
      async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
        calls.push({ argv, input: opts.input });
        return { stdout: '', stderr: '', exitCode: 0 };
      },
      background() {},
      namespaces: async () => new Set<string>(),
      interactive: async () => 0,
    };
    return { r, calls };
  };
  const spec = (re: string, delayMs: number | null = null) => ({ pattern: new RegExp(re), delayMs });

  it('off unless L3CTL_FAULT_INJECT is set; a bad pattern is an error, not a silent no-op', () => {
    assert.equal(faultFromEnv({}), null);
    assert.deepEqual(faultFromEnv({ L3CTL_FAULT_INJECT: 'x', L3CTL_FAULT_DELAY_MS: '250' }), { pattern: /x/, delayMs: 250 });
    assert.throws(() => faultFromEnv({ L3CTL_FAULT_INJECT: '(' }), /not a valid regular expression/);
    assert.throws(() => faultFromEnv({ L3CTL_FAULT_INJECT: 'x', L3CTL_FAULT_DELAY_MS: 'soon' }), /not a number/);
  });

  it('fails the first matching command without running it, exit 2; later matches run', async () => {
    const { r, calls } = inner();
    const f = new FaultRunner(r, spec('^ip netns add'));
    await assert.rejects(f.run(['ip', 'netns', 'add', 'x']), (e: CommandError) => e.result.exitCode === 2 && /Operation not permitted/.test(e.message));
    assert.deepEqual(calls, []);
    await f.run(['ip', 'netns', 'add', 'x']);
    assert.equal(calls.length, 1);
  });

  it('ip -batch: the lines before the matching one really run, then "Command failed -:N"', async () => {
    const { r, calls } = inner();
    const f = new FaultRunner(r, spec('^addr add'));
    const input = 'link set lo up\nlink add qr-1 type veth\naddr add 198.51.100.1/24 dev qr-1\nroute add default via 198.51.100.254\n';
    await assert.rejects(f.run(['ip', '-n', 'ns', '-batch', '-'], { input }), (e: CommandError) => {
      assert.match(e.message, /Command failed -:3/);
      assert.equal(e.hint, 'input line 3 (namespace ns):\n    1: link set lo up\n    2: link add qr-1 type veth\n>   3: addr add 198.51.100.1/24 dev qr-1\n    4: route add default via 198.51.100.254');
      return true;
    });
    assert.deepEqual(calls, [{ argv: ['ip', '-n', 'ns', '-batch', '-'], input: 'link set lo up\nlink add qr-1 type veth\n' }]);
  });

  it('iptables-restore: all or nothing, so nothing runs', async () => {
    const { r, calls } = inner();
    const f = new FaultRunner(r, spec('DNAT'));
    await assert.rejects(f.run(['ip', 'netns', 'exec', 'ns', 'iptables-restore', '-w', '--noflush'], { input: '*nat\n-A x -j DNAT --to-destination 1.2.3.4\nCOMMIT\n' }), /iptables-restore: line 2 failed/);
    assert.deepEqual(calls, []);
  });

  it('reads are never matched', async () => {
    const { r, calls } = inner();
    const f = new FaultRunner(r, spec('.'));
    await f.run(['ip', '-j', 'addr', 'show'], { read: true });
    assert.equal(calls.length, 1);
    await assert.rejects(f.run(['ip', 'link', 'set', 'x', 'up']));
  });

  it('delay mode announces, waits, then runs the command', async () => {
    const { r, calls } = inner();
    const said: string[] = [];
    const f = new FaultRunner(r, spec('sysctl', 50), (l) => said.push(l));
    const t0 = Date.now();
    await f.run(['sysctl', '-w', 'a=1']);
    assert.ok(Date.now() - t0 >= 45);
    assert.deepEqual(said, ['l3ctl: fault injection: delaying 50 ms before: sysctl -w a=1']);
    assert.equal(calls.length, 1);
  });
});
