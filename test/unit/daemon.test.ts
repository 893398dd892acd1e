import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  configDigest,
  daemonAction,
  daemonPaths,
  daemonSpec,
  ensureDaemon,
  observeDaemon,
  reloadDaemon,
  startDaemon,
  stopDaemon,
  type DaemonIO,
} from '../../src/linux/daemon.js';
import { DryRunFiles } from '../../src/linux/files.js';
import { DryRunRunner, RecordingRunner } from '../../src/linux/runner.js';
import { ApplyError } from '../../src/model/errors.js';
import { FakeHost } from '../helpers/fake-host.js';

const NS = 'qrouter-6b1c8f0e-3f4a-4d2b-9c1e-0a1b2c3d4e5f';
const DIR = '/var/lib/l3ctl/routers/6b1c8f0e-3f4a-4d2b-9c1e-0a1b2c3d4e5f';
const CONF = 'global\n    maxconn 1024\n';

function setup() {
  const host = new FakeHost();
  host.addNamespace(NS);
  const runner = new RecordingRunner(host.respond);
  const io: DaemonIO = { runner, files: host, stopTimeoutMs: 30, pollMs: 1 };
  return { host, runner, io };
}

test('paths and argv per kind: files in the router directory, the config path on the command line', () => {
  const h = daemonSpec('haproxy', NS, DIR, CONF);
  assert.equal(h.confPath, `${DIR}/haproxy.conf`);
  assert.equal(h.pidPath, `${DIR}/haproxy.pid`);
  assert.deepEqual(h.argv, ['haproxy', '-f', `${DIR}/haproxy.conf`, '-p', `${DIR}/haproxy.pid`, '-D']);
  const r = daemonSpec('radvd', NS, DIR, '');
  assert.deepEqual(r.argv, ['radvd', '-C', `${DIR}/radvd.conf`, '-p', `${DIR}/radvd.pid`, '-m', 'logfile', '-l', `${DIR}/radvd.log`]);
  assert.deepEqual(r.extraPaths, [`${DIR}/radvd.log`]);
  const k = daemonSpec('keepalived', NS, DIR, '');
  assert.deepEqual(k.argv, ['keepalived', '-P', '-f', `${DIR}/keepalived.conf`, '-p', `${DIR}/keepalived.pid`, '-r', `${DIR}/keepalived-vrrp.pid`]);
});

test('observe: alive only for our program with our config path in our namespace', async () => {
  const { host } = setup();
  const spec = daemonSpec('haproxy', NS, DIR, CONF);
  const put = (pid: number) => host.files.set(spec.pidPath, `${pid}\n`);

  let o = await observeDaemon(host, spec);
  assert.deepEqual([o.pid, o.alive, o.stray, o.pidFile, o.config], [null, false, false, false, null]);
  assert.equal(o.why, 'haproxy is not running (no pid file)');

  host.files.set(spec.confPath, CONF);
  const pid = host.spawn(spec.argv, NS);
  put(pid);
  o = await observeDaemon(host, spec);
  assert.deepEqual([o.pid, o.alive, o.stray, o.config, o.why], [pid, true, false, CONF, 'running']);
  assert.deepEqual(o.argv, spec.argv);

  // The pid reused by another program.
  put(host.spawn(['sleep', '100'], NS));
  o = await observeDaemon(host, spec);
  assert.equal(o.alive, false);
  assert.match(o.why, /pid \d+ is now another process: sleep/);

  // Another router's haproxy (same program, other config path).
  put(host.spawn(['haproxy', '-f', '/var/lib/l3ctl/routers/other/haproxy.conf', '-p', '/x.pid', '-D'], NS));
  assert.equal((await observeDaemon(host, spec)).alive, false);

  // Our command line, but the host's namespace: a stray to be stopped, not alive.
  const stray = host.spawn(spec.argv, '');
  put(stray);
  o = await observeDaemon(host, spec);
  assert.deepEqual([o.alive, o.stray], [false, true]);
  assert.equal(o.why, `haproxy pid ${stray} runs outside namespace ${NS}`);

  // The namespace deleted under it (the process keeps the old one alive).
  put(pid);
  host.namespaces.delete(NS);
  o = await observeDaemon(host, spec);
  assert.deepEqual([o.alive, o.stray], [false, true]);
  assert.match(o.why, /does not exist/);
  host.addNamespace(NS);

  // Exited, not reaped (PID 1 of a container may never reap it).
  const z = host.spawn(spec.argv, NS);
  put(z);
  host.procs.get(z)!.zombie = true;
  o = await observeDaemon(host, spec);
  assert.deepEqual([o.pid, o.alive, o.stray], [z, false, false]);
  assert.equal(o.why, `haproxy is not running (pid ${z} has exited)`);

  host.files.set(spec.pidPath, 'garbage\n');
  o = await observeDaemon(host, spec);
  assert.deepEqual([o.pid, o.pidFile, o.alive], [null, true, false]);
});

test('observe: without a namespace (use_namespaces false) the process must share l3ctl\'s own', async () => {
  const { host } = setup();
  const spec = daemonSpec('radvd', null, DIR, '');
  host.files.set(spec.pidPath, `${host.spawn(spec.argv, '')}\n`);
  assert.equal((await observeDaemon(host, spec)).alive, true);
  host.files.set(spec.pidPath, `${host.spawn(spec.argv, NS)}\n`);
  assert.equal((await observeDaemon(host, spec)).stray, true);
});

test('action: start when dead, reload on a config change, restart for a stray or a changed command line, stop when unwanted', () => {
  const spec = daemonSpec('haproxy', NS, DIR, CONF);
  const seen = { pid: 7, pidFile: true, alive: true, stray: false, config: CONF, loaded: configDigest(CONF), argv: spec.argv, why: 'running', children: [], ownFilesOk: true, ownFileProblem: null };
  const none = { pid: null, pidFile: false, alive: false, stray: false, config: null, loaded: null, argv: null, why: '', children: [], ownFilesOk: true, ownFileProblem: null };
  assert.equal(daemonAction(spec, seen), 'none');
  assert.equal(daemonAction(spec, { ...seen, config: 'old' }), 'reload');
  // The file as wanted, but the process was never told (l3ctl died between the write and the signal).
  assert.equal(daemonAction(spec, { ...seen, loaded: configDigest('old') }), 'reload');
  assert.equal(daemonAction(spec, { ...seen, loaded: null }), 'reload');
  assert.equal(daemonAction(spec, { ...seen, config: null }), 'reload');
  assert.equal(daemonAction(spec, { ...seen, argv: [...spec.argv, '-sf', '6'] }), 'none');
  assert.equal(daemonAction(spec, { ...seen, argv: [...spec.argv.slice(0, -1)] }), 'restart');
  assert.equal(daemonAction(spec, { ...seen, alive: false, stray: true }), 'restart');
  assert.equal(daemonAction(spec, { ...seen, alive: false }), 'start');
  assert.equal(daemonAction(spec, none), 'start');
  assert.equal(daemonAction(null, none), 'none');
  assert.equal(daemonAction(null, seen), 'stop');
  assert.equal(daemonAction(null, { ...none, config: CONF }), 'stop');
  assert.equal(daemonAction(null, { ...none, pidFile: true }), 'stop');
  // A child left running alone (keepalived's VRRP process) is ended too.
  assert.equal(daemonAction(null, { ...none, children: [8] }), 'stop');
  // Our own files beside the config (keepalived's notify script) are rewritten by a reload.
  assert.equal(daemonAction(spec, { ...seen, ownFilesOk: false }), 'reload');
  assert.equal(daemonAction(null, { ...none, stray: true, pid: 9 }), 'stop');
});

test('start writes the config, runs the daemon in the namespace, waits for it; a second pass does nothing', async () => {
  const { host, runner, io } = setup();
  const spec = daemonSpec('haproxy', NS, DIR, CONF);
  host.files.set(spec.pidPath, '4242\n'); // stale, from a crashed run
  const pid = await startDaemon(io, spec);
  assert.equal(host.files.get(spec.confPath), CONF);
  assert.equal(host.files.get(spec.pidPath), `${pid}\n`);
  assert.deepEqual(runner.mutating(), [`ip netns exec ${NS} haproxy -f ${DIR}/haproxy.conf -p ${DIR}/haproxy.pid -D`]);
  assert.equal(await ensureDaemon(io, spec, spec), 'none');
  assert.equal(runner.mutating().length, 1);
});

test('the loaded record: written after a start and a reload with the pid, read only for that pid', async () => {
  const { host, runner, io } = setup();
  const h = daemonSpec('haproxy', NS, DIR, CONF);
  const pid = (await startDaemon(io, h))!;
  assert.equal(host.files.get(h.loadedPath), `${pid} ${configDigest(CONF)}\n`);
  assert.equal((await observeDaemon(host, h)).loaded, configDigest(CONF));

  // l3ctl wrote a new config and died before the reload: the file is as wanted, the process is not.
  const h2 = { ...h, config: `${CONF}# new\n` };
  await host.write(h.confPath, h2.config);
  const seen = await observeDaemon(host, h2);
  assert.deepEqual([seen.config, seen.loaded], [h2.config, configDigest(CONF)]);
  assert.equal(await ensureDaemon(io, h, h2), 'reload');
  const now = await observeDaemon(host, h2);
  assert.equal(host.files.get(h.loadedPath), `${now.pid} ${configDigest(h2.config)}\n`);
  assert.equal(await ensureDaemon(io, h, h2), 'none');

  // A record of another pid (a copy started by hand) says nothing about this one.
  host.files.set(h.loadedPath, `1 ${configDigest(h2.config)}\n`);
  assert.equal((await observeDaemon(host, h2)).loaded, null);
  runner.calls.length = 0;
  await stopDaemon(io, h);
  assert.equal(host.files.size, 0);
});

test('start: a missing program names its Debian package; radvd failures quote its log', async () => {
  const { host, io } = setup();
  host.failStart = { exitCode: 255, stderr: 'exec of "haproxy" failed: No such file or directory\n' };
  await assert.rejects(startDaemon(io, daemonSpec('haproxy', NS, DIR, CONF)), (e: unknown) => {
    assert.ok(e instanceof ApplyError);
    assert.equal(e.message, 'haproxy is not installed (Debian package haproxy)');
    assert.equal(e.hint, 'apt-get install haproxy');
    return true;
  });

  // Without a namespace the runner itself cannot spawn it: exit 127, `command not found`.
  host.failStart = { exitCode: 127, stderr: 'haproxy: command not found' };
  await assert.rejects(startDaemon(io, daemonSpec('haproxy', null, DIR, CONF)), { message: 'haproxy is not installed (Debian package haproxy)' });

  const r = daemonSpec('radvd', NS, DIR, 'interface qr-x {};\n');
  host.files.set(r.extraPaths[0]!, '[Nov 29] radvd (1): version 2.19 started\n[Nov 29] radvd (1): exiting, permissions on conf_file invalid\n');
  host.failStart = { exitCode: 1, stderr: '' };
  await assert.rejects(startDaemon(io, r), /command failed \(exit 1\).*radvd\.log: .*exiting, permissions on conf_file invalid\)$/);
});

test('start: a daemon that exits at once is an error, not a silent success', async () => {
  const { host, runner, io } = setup();
  const spec = daemonSpec('haproxy', NS, DIR, CONF);
  const respond = host.respond;
  runner.calls.length = 0;
  const io2: DaemonIO = {
    ...io,
    startTimeoutMs: 20,
    runner: new RecordingRunner((argv) => {
      const r = respond(argv);
      const pid = Number(host.files.get(spec.pidPath));
      host.procs.get(pid)!.zombie = true;
      return r;
    }),
  };
  await assert.rejects(startDaemon(io2, spec), new RegExp(`haproxy did not start in namespace ${NS}: haproxy is not running \\(pid \\d+ has exited\\)`));
});

test('reload: haproxy hands over to a new process with -sf, radvd gets SIGHUP', async () => {
  const { host, runner, io } = setup();
  const h = daemonSpec('haproxy', NS, DIR, CONF);
  const old = (await startDaemon(io, h))!;
  const h2 = { ...h, config: `${CONF}# changed\n` };
  assert.equal(await ensureDaemon(io, h, h2), 'reload');
  const now = await observeDaemon(host, h);
  assert.notEqual(now.pid, old);
  assert.equal(now.alive, true);
  assert.equal(now.config, h2.config);
  assert.equal(runner.mutating().at(-1), `ip netns exec ${NS} haproxy -f ${DIR}/haproxy.conf -p ${DIR}/haproxy.pid -D -sf ${old}`);
  // The reloaded command line still counts as ours and unchanged.
  assert.equal(daemonAction(h2, now), 'none');

  const r = daemonSpec('radvd', NS, DIR, 'a\n');
  const rpid = await startDaemon(io, r);
  await reloadDaemon(io, { ...r, config: 'b\n' });
  assert.equal(runner.mutating().at(-1), `kill -HUP ${rpid}`);
  assert.equal(host.files.get(r.confPath), 'b\n');
});

test('stop: SIGTERM to our pid, then its files and the empty directory go', async () => {
  const { host, runner, io } = setup();
  const h = daemonSpec('haproxy', NS, DIR, CONF);
  const r = daemonSpec('radvd', NS, DIR, 'x\n');
  const pid = await startDaemon(io, h);
  await startDaemon(io, r);
  host.files.set(r.extraPaths[0]!, 'log\n');
  await stopDaemon(io, daemonPaths('haproxy', NS, DIR));
  assert.equal(runner.mutating().at(-1), `kill -TERM ${pid}`);
  assert.equal(host.procs.get(pid!)!.zombie, true);
  assert.deepEqual([...host.files.keys()].sort(), [`${DIR}/radvd.conf`, `${DIR}/radvd.loaded`, `${DIR}/radvd.log`, `${DIR}/radvd.pid`]);
  assert.ok(host.dirs.has(DIR), 'radvd still has files there');
  assert.equal(await ensureDaemon(io, daemonPaths('radvd', NS, DIR), null), 'stop');
  assert.deepEqual([...host.files.keys()], []);
  assert.ok(!host.dirs.has(DIR));
  assert.equal(await ensureDaemon(io, daemonPaths('radvd', NS, DIR), null), 'none');
});

test('stop: SIGKILL after the bounded wait; a reused pid is never signalled', async () => {
  const { host, runner, io } = setup();
  const h = daemonSpec('haproxy', NS, DIR, CONF);
  await host.write(h.confPath, CONF);
  const pid = host.spawn(h.argv, NS, { stubborn: true });
  host.files.set(h.pidPath, `${pid}\n`);
  await stopDaemon(io, h);
  assert.deepEqual(runner.mutating(), [`kill -TERM ${pid}`, `kill -KILL ${pid}`]);
  assert.equal(host.procs.get(pid)!.zombie, true);

  runner.calls.length = 0;
  await host.write(h.confPath, CONF);
  host.files.set(h.pidPath, `${host.spawn(['sshd'], '')}\n`);
  await stopDaemon(io, h);
  assert.deepEqual(runner.mutating(), []);
  assert.equal(host.files.size, 0);
});

test('a stray (our command line in another namespace) is stopped and started where it belongs', async () => {
  const { host, runner, io } = setup();
  const h = daemonSpec('haproxy', NS, DIR, CONF);
  await host.write(h.confPath, CONF);
  const stray = host.spawn(h.argv, '');
  host.files.set(h.pidPath, `${stray}\n`);
  assert.equal(await ensureDaemon(io, h, h), 'restart');
  assert.deepEqual(runner.mutating(), [`kill -TERM ${stray}`, `ip netns exec ${NS} haproxy -f ${DIR}/haproxy.conf -p ${DIR}/haproxy.pid -D`]);
  assert.equal((await observeDaemon(host, h)).alive, true);
});

test('dry run: prints the config write, the command and the kill; changes and waits for nothing', async () => {
  const { host } = setup();
  const out: string[] = [];
  const print = (l: string) => out.push(l);
  const recording = new RecordingRunner(host.respond);
  const io: DaemonIO = { runner: new DryRunRunner(recording, print), files: new DryRunFiles(host, print), startTimeoutMs: 0 };
  const h = daemonSpec('haproxy', NS, DIR, 'global\n    maxconn 1024\n');
  assert.equal(await ensureDaemon(io, h, h), 'start');
  assert.deepEqual(out, [
    `+ write ${DIR}/haproxy.conf\n  global\n      maxconn 1024`,
    `+ ip netns exec ${NS} haproxy -f ${DIR}/haproxy.conf -p ${DIR}/haproxy.pid -D`,
  ]);
  assert.equal(host.files.size, 0);
  assert.equal(recording.calls.length, 0);

  out.length = 0;
  await host.write(h.confPath, 'global\n');
  const pid = host.spawn(h.argv, NS);
  host.files.set(h.pidPath, `${pid}\n`);
  assert.equal(await ensureDaemon(io, h, null), 'stop');
  assert.deepEqual(out, [`+ kill -TERM ${pid}`, `+ remove ${DIR}/haproxy.conf`, `+ remove ${DIR}/haproxy.pid`, `+ rmdir ${DIR}`]);
  assert.equal(host.procs.get(pid)!.zombie, false);
  assert.equal(host.files.size, 2);
});

test('observe: a namespace it may not read (not root) is neither alive nor a stray to kill', async () => {
  const { host } = setup();
  const spec = daemonSpec('haproxy', NS, DIR, CONF);
  const pid = host.spawn(spec.argv, NS);
  host.files.set(spec.pidPath, `${pid}\n`);
  const identity = host.identity.bind(host);
  host.identity = async (f: string) => (f === `/proc/${pid}/ns/net` ? null : identity(f));
  const o = await observeDaemon(host, spec);
  assert.deepEqual([o.alive, o.stray, o.why], [false, false, `haproxy pid ${pid}: cannot read /proc/${pid}/ns/net (not root?)`]);
});
