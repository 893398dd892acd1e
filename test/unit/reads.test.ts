// Batched reads (src/linux/reads.ts) run real programs through real `sh`:
// each command's stdout, stderr and exit status must be exactly what running
// it alone gives, whatever it prints, and many reads must share few processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { batchable, MAX_SHELLS, ReadBatcher } from '../../src/linux/reads.js';
import { RealRunner, builtinKill, killArgs, spawnCollect, CommandError } from '../../src/linux/runner.js';

/** Commands whose output would trip a careless framing. */
const CASES: { argv: string[]; input?: string }[] = [
  { argv: ['printf', '%s', 'no newline at the end'] },
  { argv: ['printf', '\\n\\n%s\\n\\n', 'blank lines around'] },
  { argv: ['sh', '-c', 'echo to-out; echo to-err >&2; exit 3'] },
  { argv: ['sh', '-c', 'printf "partial line on stderr" >&2'] },
  { argv: ['printf', '%s\\n', 'words with spaces', '* not a glob', '$HOME not expanded', "'quotes' \"too\""] },
  { argv: ['cat'], input: 'addr show\nroute show table main\n' },
  { argv: ['cat'], input: 'input without newline' },
  { argv: ['cat'] },
  { argv: ['seq', '1', '30000'] },
  { argv: ['l3ctl-no-such-program', 'x'] },
  { argv: ['sh', '-c', 'kill -TERM $$'] },
  { argv: ['true'] },
  { argv: ['sh', '-c', 'exit 255'] },
];

test('each batched read gives what it gives alone: stdout, stderr and exit status', async () => {
  const spawned: string[] = [];
  const counting = ((cmd: string, args: string[], opts: object) => {
    spawned.push(cmd);
    return spawn(cmd, args, opts);
  }) as typeof spawn;
  const b = new ReadBatcher(counting);
  const got = await Promise.all(CASES.map((c) => b.run(c.argv, c.input)));
  const alone = await Promise.all(CASES.map((c) => spawnCollect(c.argv, c.input)));
  for (const [i, c] of CASES.entries()) {
    const g = got[i]!;
    const a = alone[i]!;
    assert.equal(g.stdout, a.stdout, `stdout of ${c.argv.join(' ')}`);
    assert.equal(g.exitCode, a.exitCode, `exit of ${c.argv.join(' ')}`);
    // A missing program: the shell words it its own way; the exit status (127) is what callers read.
    if (c.argv[0] === 'l3ctl-no-such-program') assert.match(g.stderr, /l3ctl-no-such-program: not found/);
    // A signal death: the shell may say so itself.
    else if (a.exitCode > 128) assert.match(g.stderr, /^(Terminated\n)?$/);
    else assert.equal(g.stderr, a.stderr, `stderr of ${c.argv.join(' ')}`);
  }
  assert.equal(got[9]!.exitCode, 127);
  assert.equal(got[10]!.exitCode, 128 + 15, 'a command killed by a signal: 128 + its number');
  assert.equal(got[8]!.stdout.split('\n').length, 30001);
  // Thirteen reads started together: a few shells, no process each.
  assert.deepEqual(spawned, Array(MAX_SHELLS).fill('/bin/sh'));
  assert.deepEqual(b.stats, { shells: MAX_SHELLS, batched: CASES.length, direct: 0 });
});

test('a read on its own, or one that cannot travel in the shell, runs alone', async () => {
  const b = new ReadBatcher();
  assert.equal((await b.run(['printf', 'one'])).stdout, 'one');
  assert.deepEqual(b.stats, { shells: 0, batched: 0, direct: 1 });
  const odd = await Promise.all([b.run(['printf', '%s|', '', 'empty word']), b.run(['printf', 'a\x1fb']), b.run(['printf', 'x'])]);
  assert.deepEqual(
    odd.map((r) => r.stdout),
    ['|empty word|', 'a\x1fb', 'x'],
  );
  assert.equal(batchable(['printf', '']), false);
  assert.equal(batchable(['printf', 'a\x1fb']), false);
  assert.equal(batchable(['ip', '-j', 'addr']), true);
  assert.equal(b.stats.shells, 0, 'three reads, two of which go alone: no shell for one');
});

test('a reader shell that is killed answers its unfinished reads with the signal, at once', async () => {
  const children: ReturnType<typeof spawn>[] = [];
  const capture = ((cmd: string, args: string[], opts: object) => {
    const c = spawn(cmd, args, opts);
    children.push(c);
    return c;
  }) as typeof spawn;
  const b = new ReadBatcher(capture);
  // Two shells: the sleeps share one, printf has the other.
  const runs = [b.run(['sleep', '2']), b.run(['printf', 'done']), b.run(['sleep', '2'])];
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  for (const c of children) c.kill('SIGKILL');
  const [a, p, z] = await Promise.all(runs);
  assert.ok(performance.now() - t0 < 1000, 'not held until the orphaned sleep ends');
  assert.equal(p!.stdout, 'done');
  for (const r of [a!, z!]) {
    assert.equal(r.exitCode, 128 + 9);
    assert.match(r.stderr, /^sleep: not finished: its reader shell was killed by SIGKILL$/);
  }
});

test('RealRunner: batch reads fail like any command, with the command in the message', async () => {
  const echoed: string[] = [];
  const r = new RealRunner((l) => echoed.push(l));
  const [ok, bad, allowed] = await Promise.allSettled([
    r.run(['printf', 'fine'], { read: true, batch: true }),
    r.run(['sh', '-c', 'echo broken >&2; exit 4'], { read: true, batch: true }),
    r.run(['sh', '-c', 'exit 1'], { read: true, batch: true, okCodes: [1] }),
  ]);
  assert.equal(ok.status === 'fulfilled' && ok.value.stdout, 'fine');
  assert.ok(bad.status === 'rejected' && bad.reason instanceof CommandError);
  assert.match((bad as PromiseRejectedResult).reason.message, /^command failed \(exit 4\): sh -c echo broken >&2; exit 4: broken$/);
  assert.equal(allowed.status === 'fulfilled' && allowed.value.exitCode, 1);
  assert.equal(echoed.length, 3, 'each command is echoed under -v, not the shell');
  assert.ok(echoed.every((l) => l.startsWith('+ printf') || l.startsWith('+ sh -c')));
});

test('kill -SIG PID… is signalled in-process, answering as procps kill does', async () => {
  const echoed: string[] = [];
  const r = new RealRunner((l) => echoed.push(l));
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const died = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, s) => res(s)));
  assert.equal(builtinKill(['kill', '-TERM', String(child.pid)])?.exitCode, 0);
  assert.equal(await died, 'SIGTERM');
  // The child is gone (and reaped): signalling it again is exit 1, as procps says it.
  const again = await r.run(['kill', '-TERM', String(child.pid)], { okCodes: [1] });
  assert.deepEqual(again, { stdout: '', stderr: `kill: (${child.pid}): No such process\n`, exitCode: 1 });
  await assert.rejects(r.run(['kill', '-KILL', String(child.pid)]), (e: Error) => /^command failed \(exit 1\): kill -KILL \d+: kill: \(\d+\): No such process$/.test(e.message));
  assert.equal(echoed.length, 2, 'echoed under -v like a program');
});

test('only kill -SIG PID… with pids above 0 is taken in-process; any other shape is the program\'s', () => {
  // Checked on the argv alone: a broken check must not get to signal a group or every process.
  assert.deepEqual(killArgs(['kill', '-TERM', '12', '345']), { signal: 'SIGTERM', pids: [12, 345] });
  assert.deepEqual(killArgs(['kill', '-HUP', '7']), { signal: 'SIGHUP', pids: [7] });
  for (const argv of [['kill', '-l'], ['kill', '-TERM'], ['kill', '-NOSUCH', '1'], ['kill', '-TERM', '0'], ['kill', '-TERM', '-1'], ['kill', '-TERM', '012'], ['kill', 'TERM', '1'], ['pkill', '-TERM', '1']]) assert.equal(killArgs(argv), null, argv.join(' '));
});
