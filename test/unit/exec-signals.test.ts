// `router exec`: a signal sent to l3ctl's pid alone (kill from a script, an
// ssh session dropping) reaches the command, and l3ctl exits with its status;
// a terminal's Ctrl-C reaches the command once. Real processes, no root: the
// router lives in the namespace l3ctl runs in (use_namespaces false), so the
// command is l3ctl's own child; test/e2e/dryrun.test.ts does the same through
// `ip netns exec`.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tempStore } from '../helpers/cli.js';
import { alive, signalRouterExec } from '../helpers/exec-signal.js';
import { HAND_WRITTEN } from '../helpers/error-cases.js';
import { typeOnTty } from '../helpers/pty.js';
import { SIGINT_GRACE_MS, forwardSignals, parseStat, sharesTerminalSignals, type ForwardedSignal } from '../../src/linux/forward-signals.js';

const store = tempStore();
after(() => store.cleanup());
const state = structuredClone(HAND_WRITTEN);
state.config = { use_namespaces: 'false', router_id: state.routers[0]!.id, external_network_bridge: '' };
writeFileSync(store.path, JSON.stringify(state));

describe('router exec: signals sent to l3ctl alone reach the command', () => {
  let n = 0;
  for (const [signal, status] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as [ForwardedSignal, number][]) {
    it(`${signal} to l3ctl's pid: the command ends of it and l3ctl exits ${status}`, async () => {
      const r = await signalRouterExec(store, 'r1', signal, n++);
      assert.equal(alive(r.command), false, `command ${r.command} still running after ${signal} to l3ctl (l3ctl: ${JSON.stringify(r)})`);
      assert.deepEqual([r.code, r.signal], [status, null], "l3ctl exits with the command's status, not of the signal itself");
      // No terminal here: a SIGINT cannot have come from one, so it is passed on at once.
      assert.ok(r.ms < 900, `${r.ms.toFixed(0)} ms`);
    });
  }
});

describe('router exec on a terminal', () => {
  // Counts the SIGINTs it gets, exits 0 on its own after 2.5 s.
  const COUNTER = "let n = 0; process.on('SIGINT', () => { n++; console.log('SIGINT ' + n); }); console.log('ready'); setTimeout(() => process.exit(0), 2500);";

  it('Ctrl-C: the terminal gives it to the command; l3ctl passes its own on only after the grace period, to a command still there', async () => {
    const r = await typeOnTty(store.path, ['router', 'exec', 'r1', '--', process.execPath, '-e', COUNTER], /ready/, '\x03');
    assert.equal(r.code, 0, r.out);
    // l3ctl cannot tell a Ctrl-C from a `kill -INT` of its pid while both share the terminal's group.
    const first = r.seen(/SIGINT 1/);
    const second = r.seen(/SIGINT 2/);
    assert.ok(first - r.typedAt < 500, `the terminal's Ctrl-C ${(first - r.typedAt).toFixed(0)} ms after it was typed`);
    assert.ok(second - first >= SIGINT_GRACE_MS * 0.9 && second < Infinity, `l3ctl's own ${(second - first).toFixed(0)} ms after the terminal's:\n${r.out}`);
    assert.doesNotMatch(r.out, /SIGINT 3/);
  });

  it('Ctrl-C ends a command that ends of it: exit 130 at once', async () => {
    const r = await typeOnTty(store.path, ['router', 'exec', 'r1', '--', 'sh', '-c', 'echo ready; exec sleep 30'], /ready/, '\x03');
    assert.equal(r.code, 130, r.out);
  });
});

describe('forwardSignals', () => {
  function world(shares: boolean) {
    const listeners = new Map<string, Set<() => void>>();
    const sent: string[] = [];
    const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
    const stop = forwardSignals(
      { pid: 42, kill: (s) => (sent.push(s), true) },
      {
        signals: {
          on: (s, fn) => listeners.set(s, (listeners.get(s) ?? new Set()).add(fn)),
          off: (s, fn) => listeners.get(s)?.delete(fn),
        },
        sharesTerminalSignals: () => shares,
        graceMs: 1000,
        setTimer: (fn, ms) => timers.push({ fn, ms, cleared: false }) - 1,
        clearTimer: (i) => (timers[i as number]!.cleared = true),
      },
    );
    const raise = (s: string) => [...(listeners.get(s) ?? [])].forEach((fn) => fn());
    return { sent, timers, stop, raise, listening: () => [...listeners.values()].reduce((a, s) => a + s.size, 0) };
  }

  it('SIGTERM and SIGHUP at once; SIGINT at once when no terminal can have sent it', () => {
    const w = world(false);
    w.raise('SIGTERM');
    w.raise('SIGHUP');
    w.raise('SIGINT');
    assert.deepEqual(w.sent, ['SIGTERM', 'SIGHUP', 'SIGINT']);
    assert.equal(w.timers.length, 0);
  });

  it("a SIGINT the terminal may have given the command too: passed on after the grace period, once however often it comes", () => {
    const w = world(true);
    w.raise('SIGINT');
    w.raise('SIGINT');
    assert.deepEqual(w.sent, []);
    assert.deepEqual(w.timers.map((t) => t.ms), [1000]);
    w.timers[0]!.fn();
    assert.deepEqual(w.sent, ['SIGINT']);
    w.raise('SIGINT');
    assert.equal(w.timers.length, 2, 'a later Ctrl-C waits again');
  });

  it('stop: no listener left, the pending SIGINT cancelled (the command ended in the grace period)', () => {
    const w = world(true);
    assert.equal(w.listening(), 3);
    w.raise('SIGINT');
    w.stop();
    assert.equal(w.listening(), 0);
    assert.equal(w.timers[0]!.cleared, true);
  });
});

describe('sharesTerminalSignals', () => {
  it('/proc/PID/stat: a command name with spaces and parentheses', () => {
    assert.deepEqual(parseStat('4242 (my (odd) cmd) S 1 4242 4242 34816 4242 4194560 0 0'), { pgrp: 4242, tpgid: 4242 });
    assert.deepEqual(parseStat('17 (sleep) S 1 9 9 0 -1 4194560'), { pgrp: 9, tpgid: -1 });
    assert.equal(parseStat('garbage'), null);
  });

  const read = (self: { pgrp: number; tpgid: number } | null, child: { pgrp: number; tpgid: number } | null) => (pid: number | 'self') => (pid === 'self' ? self : child);
  it('only when l3ctl is in the foreground group and the command in l3ctl\'s group', () => {
    assert.equal(sharesTerminalSignals(7, read({ pgrp: 5, tpgid: 5 }, { pgrp: 5, tpgid: 5 })), true);
    assert.equal(sharesTerminalSignals(7, read({ pgrp: 5, tpgid: -1 }, { pgrp: 5, tpgid: -1 })), false, 'no terminal');
    assert.equal(sharesTerminalSignals(7, read({ pgrp: 5, tpgid: 9 }, { pgrp: 5, tpgid: 9 })), false, 'l3ctl in the background');
    assert.equal(sharesTerminalSignals(7, read({ pgrp: 5, tpgid: 7 }, { pgrp: 7, tpgid: 7 })), false, 'an interactive shell took the terminal');
    assert.equal(sharesTerminalSignals(7, read(null, null)), true, 'in doubt, wait');
  });
});
