// Per-router daemons (haproxy for metadata, radvd for router advertisements,
// later keepalived), managed as Neutron's ProcessManager does: each has a
// config file and a pid file in a directory of ours, runs inside the router's
// namespace, and counts as running only when the pid in OUR pid file is a
// live process running the expected program with our config path, in the
// expected namespace (a reused pid or a copy elsewhere does not count).
//
// Three layers: a pure description (DaemonSpec), an observation
// (observeDaemon), and a pure decision between them (daemonAction); the
// operations (start, reload, stop) run programs only through the Runner and
// touch files only through Files, so --dry-run and unit tests see everything.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ApplyError } from '../model/errors.js';
import { CommandError, NOT_FOUND, type Runner } from './runner.js';
import type { Files } from './files.js';
import { NOTIFY_SCRIPT } from './keepalived.js';

export type DaemonKind = 'haproxy' | 'radvd' | 'keepalived';

/** Where a daemon's files are and where it runs: enough to observe and stop it. */
export interface DaemonPaths {
  kind: DaemonKind;
  /** Network namespace it runs in; null: the one l3ctl runs in (use_namespaces false). */
  ns: string | null;
  /** Directory of our files for this router; removed on stop once empty. */
  dir: string;
  confPath: string;
  pidPath: string;
  /** Other files the daemon writes (a log, a second pid file): removed on stop. */
  extraPaths: string[];
  /**
   * Pid files of the daemon's children (keepalived's VRRP process): a child
   * can outlive its parent for a moment, so it is ended with it, and its pid
   * file cleared before a new start (keepalived refuses to start while a pid
   * file names a live process, a zombie included).
   */
  childPidPaths: string[];
  /** Files l3ctl writes beside the config for the daemon to use (keepalived's notify script): written before a start or reload, checked like the config. */
  ownFiles: OwnFile[];
  /** Files the daemon keeps state in that a new process must not inherit (keepalived's last VRRP state): removed before a start. */
  resetOnStart: string[];
  /**
   * Our record of what the running process took up: `PID DIGEST`, written
   * after a start or reload. The config file alone cannot say it: l3ctl may
   * die between writing a new config and signalling the daemon, and the next
   * pass would find the file as wanted and do nothing.
   */
  loadedPath: string;
}

export interface OwnFile {
  path: string;
  content: string;
  mode: number;
}

/** A daemon as it should be: pure data, compared and printed, never run by itself. */
export interface DaemonSpec extends DaemonPaths {
  config: string;
  /** The program's own argv (no `ip netns exec` prefix): what /proc/PID/cmdline shows. */
  argv: string[];
}

interface KindInfo {
  program: string;
  /** The Debian package that installs it, for the error when it is missing. */
  package: string;
  /** How a changed config is taken up without a gap. */
  reload: 'signal-hup' | 'haproxy-sf';
  files(dir: string): { confPath: string; pidPath: string; extraPaths: string[]; childPidPaths?: string[]; ownFiles?: OwnFile[]; resetOnStart?: string[] };
  argv(p: DaemonPaths): string[];
}

const KINDS: Record<DaemonKind, KindInfo> = {
  haproxy: {
    program: 'haproxy',
    package: 'haproxy',
    // SIGHUP does not reload haproxy: a new process takes the listeners over (-sf).
    reload: 'haproxy-sf',
    files: (dir) => ({ confPath: path.join(dir, 'haproxy.conf'), pidPath: path.join(dir, 'haproxy.pid'), extraPaths: [] }),
    // Pid file and daemon mode on the command line, not in the config: haproxy complains when both say it.
    argv: (p) => ['haproxy', '-f', p.confPath, '-p', p.pidPath, '-D'],
  },
  radvd: {
    program: 'radvd',
    package: 'radvd',
    reload: 'signal-hup',
    files: (dir) => ({ confPath: path.join(dir, 'radvd.conf'), pidPath: path.join(dir, 'radvd.pid'), extraPaths: [path.join(dir, 'radvd.log')] }),
    // A log file of its own: hosts without /dev/log (containers) would lose syslog, and
    // start failures (a bad config) are written there, not to stderr.
    argv: (p) => ['radvd', '-C', p.confPath, '-p', p.pidPath, '-m', 'logfile', '-l', p.extraPaths[0]!],
  },
  keepalived: {
    program: 'keepalived',
    package: 'keepalived',
    reload: 'signal-hup',
    // The names keepalived.ts's keepalivedFiles() gives them: keepalived.conf refers to the notify script and the standby file.
    files: (dir) => ({
      confPath: path.join(dir, 'keepalived.conf'),
      pidPath: path.join(dir, 'keepalived.pid'),
      extraPaths: [path.join(dir, 'keepalived-vrrp.pid'), path.join(dir, 'state'), path.join(dir, 'notify.sh'), path.join(dir, 'standby')],
      childPidPaths: [path.join(dir, 'keepalived-vrrp.pid')],
      ownFiles: [{ path: path.join(dir, 'notify.sh'), content: NOTIFY_SCRIPT, mode: 0o755 }],
      // The state a dead keepalived last notified is not the new one's.
      resetOnStart: [path.join(dir, 'state')],
    }),
    // -P: VRRP only (no LVS checker child), as Neutron's HA routers.
    argv: (p) => ['keepalived', '-P', '-f', p.confPath, '-p', p.pidPath, '-r', p.extraPaths[0]!],
  },
};

export function daemonPaths(kind: DaemonKind, ns: string | null, dir: string): DaemonPaths {
  const f = KINDS[kind].files(dir);
  return {
    kind,
    ns,
    dir,
    confPath: f.confPath,
    pidPath: f.pidPath,
    extraPaths: f.extraPaths,
    childPidPaths: f.childPidPaths ?? [],
    ownFiles: f.ownFiles ?? [],
    resetOnStart: f.resetOnStart ?? [],
    loadedPath: path.join(dir, `${kind}.loaded`),
  };
}

/** A short digest of a config text, as recorded in the loaded file. */
export const configDigest = (config: string) => createHash('sha256').update(config).digest('hex').slice(0, 16);

export function daemonSpec(kind: DaemonKind, ns: string | null, dir: string, config: string): DaemonSpec {
  const p = daemonPaths(kind, ns, dir);
  return { ...p, config, argv: KINDS[kind].argv(p) };
}

export const daemonProgram = (kind: DaemonKind) => KINDS[kind].program;

/** The argv that runs ARGV in namespace NS. */
export function inNamespace(ns: string | null, argv: string[]): string[] {
  return ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
}

export interface DaemonObservation {
  /** First pid in our pid file, or null (no file, or no number in it). */
  pid: number | null;
  /** Our pid file exists (possibly stale or garbled). */
  pidFile: boolean;
  /** The pid is our program with our config path, in the expected namespace. */
  alive: boolean;
  /** The pid is our program with our config path but in another (or a deleted) namespace. */
  stray: boolean;
  /** The config file on disk, or null. */
  config: string | null;
  /** The digest of the config this pid was started or reloaded with, by our record; null: no record for this pid. */
  loaded: string | null;
  /** The process's argv when it is ours (alive or stray). */
  argv: string[] | null;
  /** Live children of ours named by the child pid files (whatever the parent's state). */
  children: number[];
  /** Our own files (ownFiles) as l3ctl writes them; null: the first that is not. */
  ownFilesOk: boolean;
  /** Which own file is missing or changed, for check. */
  ownFileProblem: string | null;
  /** One line for agent check: why it is not alive, or 'running'. */
  why: string;
}

const namespacePath = (ns: string | null) => (ns === null ? '/proc/self/ns/net' : `/run/netns/${ns}`);

const pidIn = (text: string | null) => {
  const m = text === null ? null : /^\s*(\d+)\s*$/m.exec(text);
  return m && Number(m[1]) > 0 ? Number(m[1]) : null;
};

/** Is PID our program run on our config (wherever it runs)? A zombie is not (its cmdline is empty). */
async function isOurs(files: Files, p: DaemonPaths, pid: number): Promise<boolean> {
  const cmdline = await files.read(`/proc/${pid}/cmdline`);
  if (!cmdline) return false;
  const argv = cmdline.split('\0');
  return path.basename(argv[0] ?? '') === KINDS[p.kind].program && argv.includes(p.confPath);
}

/** The live children of ours that the child pid files name. */
async function liveChildren(files: Files, p: DaemonPaths): Promise<number[]> {
  const out: number[] = [];
  for (const f of p.childPidPaths) {
    const pid = pidIn(await files.read(f));
    if (pid !== null && (await isOurs(files, p, pid))) out.push(pid);
  }
  return out;
}

async function ownFilesProblem(files: Files, p: DaemonPaths): Promise<string | null> {
  for (const f of p.ownFiles) {
    const text = await files.read(f.path);
    if (text !== f.content) return `${f.path} ${text === null ? 'is missing' : 'is not as l3ctl writes it'}`;
  }
  return null;
}

export async function observeDaemon(files: Files, p: DaemonPaths): Promise<DaemonObservation> {
  const config = await files.read(p.confPath);
  const pidText = await files.read(p.pidPath);
  const pid = pidIn(pidText);
  const record = /^(\d+) ([0-9a-f]+)\s*$/.exec((await files.read(p.loadedPath)) ?? '');
  const loaded = record && pid !== null && Number(record[1]) === pid ? record[2]! : null;
  const ownFileProblem = await ownFilesProblem(files, p);
  const base = { pidFile: pidText !== null, config, loaded, alive: false, stray: false, argv: null, children: await liveChildren(files, p), ownFilesOk: ownFileProblem === null, ownFileProblem };
  const kind = p.kind;
  if (pid === null) return { ...base, pid, why: pidText === null ? `${kind} is not running (no pid file)` : `${kind} pid file ${p.pidPath} holds no pid` };

  // A zombie's cmdline is empty: it has exited, whoever reaps it.
  const cmdline = await files.read(`/proc/${pid}/cmdline`);
  if (!cmdline) return { ...base, pid, why: `${kind} is not running (pid ${pid} has exited)` };
  const argv = cmdline.split('\0');
  if (argv.at(-1) === '') argv.pop();
  if (path.basename(argv[0] ?? '') !== KINDS[kind].program || !argv.includes(p.confPath)) {
    return { ...base, pid, why: `${kind} is not running (pid ${pid} is now another process: ${path.basename(argv[0] ?? '?')})` };
  }

  const want = await files.identity(namespacePath(p.ns));
  const have = await files.identity(`/proc/${pid}/ns/net`);
  if (!have) {
    // Only root may look at another user's namespaces: unknown is neither alive nor a stray to kill.
    const gone = !(await files.read(`/proc/${pid}/cmdline`));
    const why = gone ? `${kind} is not running (pid ${pid} has exited)` : `${kind} pid ${pid}: cannot read /proc/${pid}/ns/net (not root?)`;
    return { ...base, pid, why };
  }
  if (!want || want.dev !== have.dev || want.ino !== have.ino) {
    const where = p.ns === null ? "l3ctl's own namespace" : `namespace ${p.ns}`;
    const why = want ? `${kind} pid ${pid} runs outside ${where}` : `${kind} pid ${pid} runs, but ${where} does not exist`;
    return { ...base, pid, stray: true, argv, why };
  }
  return { ...base, pid, alive: true, argv, why: 'running' };
}

export type DaemonAction = 'none' | 'start' | 'reload' | 'restart' | 'stop';

/**
 * What to do to move SEEN to WANT (null: no daemon wanted). The config text
 * is the only input a reload takes; a different command line (a new pid or
 * log path, another l3ctl version's flags) needs a restart. A config file as
 * wanted that the process has not (by our record) taken up is reloaded too.
 */
export function daemonAction(want: DaemonSpec | null, seen: DaemonObservation): DaemonAction {
  if (want === null) return seen.alive || seen.stray || seen.pidFile || seen.config !== null || seen.children.length ? 'stop' : 'none';
  if (seen.stray) return 'restart';
  if (!seen.alive) return 'start';
  if (!sameArgv(want.kind, want.argv, seen.argv ?? [])) return 'restart';
  return seen.config === want.config && seen.loaded === configDigest(want.config) && seen.ownFilesOk ? 'none' : 'reload';
}

/** Is the live command line the wanted one (what a restart, not a reload, fixes)? */
export function sameCommandLine(want: DaemonSpec, seen: DaemonObservation): boolean {
  return sameArgv(want.kind, want.argv, seen.argv ?? []);
}

function sameArgv(kind: DaemonKind, want: string[], seen: string[]): boolean {
  // A soft-reloaded haproxy carries `-sf OLDPID…` after our own arguments.
  if (KINDS[kind].reload === 'haproxy-sf') {
    const i = seen.indexOf('-sf');
    if (i >= 0 && seen.slice(i + 1).every((a) => /^\d+$/.test(a))) seen = seen.slice(0, i);
  }
  return want.length === seen.length && want.every((a, i) => a === seen[i]);
}

export interface DaemonIO {
  runner: Runner;
  files: Files;
  /** How long a start may take to show a live process (ms). */
  startTimeoutMs?: number;
  /** How long SIGTERM is given before SIGKILL (ms). */
  stopTimeoutMs?: number;
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(io: DaemonIO, p: DaemonPaths, done: (o: DaemonObservation) => boolean, timeoutMs: number): Promise<DaemonObservation> {
  const t0 = performance.now();
  for (;;) {
    const o = await observeDaemon(io.files, p);
    if (done(o) || performance.now() - t0 >= timeoutMs) return o;
    await sleep(io.pollMs ?? 10);
  }
}

/** Writes the config, clears a stale pid file, starts the daemon, waits until it is alive; its pid (null under --dry-run). */
export async function startDaemon(io: DaemonIO, spec: DaemonSpec): Promise<number | null> {
  // A child that outlived its parent (keepalived's VRRP process) must not run beside the new one.
  await endChildren(io, spec);
  await writeOwnFiles(io, spec);
  await io.files.write(spec.confPath, spec.config, 0o600); // keepalived.conf holds the VRRP password
  // Stale (we only start what is not alive): radvd would refuse a pid file
  // naming a live process, keepalived one naming a process not yet reaped.
  for (const f of [spec.pidPath, ...spec.childPidPaths, ...spec.resetOnStart]) await io.files.remove(f);
  await runDaemonCommand(io, spec, spec.argv);
  if (!io.files.live) return null;
  const o = await waitFor(io, spec, (x) => x.alive, io.startTimeoutMs ?? 3000);
  if (!o.alive) throw new ApplyError(`${spec.kind} did not start in ${where(spec)}: ${o.why}${await logTail(io, spec)}`);
  await recordLoaded(io, spec, o.pid!);
  return o.pid;
}

async function writeOwnFiles(io: DaemonIO, p: DaemonPaths): Promise<void> {
  for (const f of p.ownFiles) await io.files.write(f.path, f.content, f.mode);
}

/** SIGTERM, then SIGKILL, to the live children of ours the child pid files name. */
async function endChildren(io: DaemonIO, p: DaemonPaths): Promise<void> {
  let left = await liveChildren(io.files, p);
  for (const [signal, ms] of [['TERM', io.stopTimeoutMs ?? 2000], ['KILL', 1000]] as const) {
    if (!left.length) return;
    await io.runner.run(['kill', `-${signal}`, ...left.map(String)], { okCodes: [1] });
    if (!io.files.live) return;
    const t0 = performance.now();
    while (left.length && performance.now() - t0 < ms) {
      await sleep(io.pollMs ?? 10);
      left = await liveChildren(io.files, p);
    }
  }
  if (left.length) throw new ApplyError(`${p.kind} child pid ${left.join(', ')} in ${where(p)} did not exit after SIGKILL`);
}

/** After the daemon took the config up (never under --dry-run: bookkeeping, not a change worth printing). */
async function recordLoaded(io: DaemonIO, spec: DaemonSpec, pid: number): Promise<void> {
  if (io.files.live) await io.files.write(spec.loadedPath, `${pid} ${configDigest(spec.config)}\n`);
}

/**
 * Takes up a changed config: writes it, then haproxy starts a new process that
 * takes the listeners over from the old one (no refused connection), radvd and
 * keepalived re-read it on SIGHUP. A daemon that is not alive is started.
 */
export async function reloadDaemon(io: DaemonIO, spec: DaemonSpec, seen?: DaemonObservation): Promise<number | null> {
  const before = seen ?? (await observeDaemon(io.files, spec));
  if (!before.alive || before.pid === null) return startDaemon(io, spec);
  await writeOwnFiles(io, spec);
  await io.files.write(spec.confPath, spec.config, 0o600);
  const old = before.pid;
  if (KINDS[spec.kind].reload === 'signal-hup') {
    await io.runner.run(['kill', '-HUP', String(old)]);
    await recordLoaded(io, spec, old);
    return old;
  }
  await runDaemonCommand(io, spec, [...spec.argv, '-sf', String(old)]);
  if (!io.files.live) return null;
  const o = await waitFor(io, spec, (x) => x.alive && x.pid !== old, io.startTimeoutMs ?? 3000);
  if (!o.alive || o.pid === old) throw new ApplyError(`${spec.kind} did not reload in ${where(spec)}: ${o.why}`);
  await recordLoaded(io, spec, o.pid!);
  return o.pid;
}

/** Stop then start: for a daemon outside its namespace or with a changed command line. */
export async function restartDaemon(io: DaemonIO, spec: DaemonSpec, seen?: DaemonObservation): Promise<number | null> {
  await stopProcess(io, spec, seen ?? (await observeDaemon(io.files, spec)));
  return startDaemon(io, spec);
}

/**
 * Ends the daemon if it is ours (alive or stray): SIGTERM, a bounded wait,
 * SIGKILL if it lingers; then removes its files and, once empty, its directory.
 * A pid that is not ours (exited, reused) is never signalled.
 */
export async function stopDaemon(io: DaemonIO, p: DaemonPaths, seen?: DaemonObservation): Promise<void> {
  await stopProcess(io, p, seen ?? (await observeDaemon(io.files, p)));
  await endChildren(io, p);
  for (const f of [p.confPath, p.pidPath, p.loadedPath, ...p.extraPaths]) await io.files.remove(f);
  await io.files.removeDir(p.dir);
}

async function stopProcess(io: DaemonIO, p: DaemonPaths, seen: DaemonObservation): Promise<void> {
  if (!(seen.alive || seen.stray) || seen.pid === null) return;
  const pid = seen.pid;
  const gone = (o: DaemonObservation) => o.pid !== pid || !(o.alive || o.stray);
  for (const [signal, ms] of [['TERM', io.stopTimeoutMs ?? 2000], ['KILL', 1000]] as const) {
    // Exit 1: it exited between our look and the signal.
    await io.runner.run(['kill', `-${signal}`, String(pid)], { okCodes: [1] });
    if (!io.files.live) return;
    if (gone(await waitFor(io, p, gone, ms))) return;
  }
  throw new ApplyError(`${p.kind} pid ${pid} in ${where(p)} did not exit after SIGKILL`);
}

/** Observe, decide, act: one call for a caller that needs no plan step in between. */
export async function ensureDaemon(io: DaemonIO, p: DaemonPaths, want: DaemonSpec | null): Promise<DaemonAction> {
  const seen = await observeDaemon(io.files, p);
  const action = daemonAction(want, seen);
  await applyDaemonAction(io, action, want ?? p, seen);
  return action;
}

export async function applyDaemonAction(io: DaemonIO, action: DaemonAction, target: DaemonSpec | DaemonPaths, seen?: DaemonObservation): Promise<void> {
  if (action === 'none') return;
  if (action === 'stop') return stopDaemon(io, target, seen);
  if (!('config' in target)) throw new Error(`daemon: ${action} needs a spec, not only paths`);
  if (action === 'start') await startDaemon(io, target);
  else if (action === 'reload') await reloadDaemon(io, target, seen);
  else await restartDaemon(io, target, seen);
}

const where = (p: DaemonPaths) => (p.ns === null ? "l3ctl's namespace" : `namespace ${p.ns}`);

async function runDaemonCommand(io: DaemonIO, p: DaemonPaths, argv: string[]): Promise<void> {
  try {
    await io.runner.run(inNamespace(p.ns, argv));
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    const out = `${e.result.stderr}\n${e.result.stdout}`;
    const info = KINDS[p.kind];
    // `ip netns exec` says `exec of "haproxy" failed: No such file…`; without a namespace the spawn fails (127).
    if (/exec of .* failed: No such file/.test(out) || (p.ns === null && e.result.exitCode === NOT_FOUND)) {
      throw new ApplyError(`${info.program} is not installed (Debian package ${info.package})`, `apt-get install ${info.package}`);
    }
    const tail = await logTail(io, p);
    if (!tail) throw e;
    throw new ApplyError(`${e.message}${tail}`);
  }
}

/** The last lines of the daemon's own log, where radvd explains a failed start. */
async function logTail(io: DaemonIO, p: DaemonPaths): Promise<string> {
  const log = p.kind === 'radvd' ? p.extraPaths[0] : undefined;
  const text = log ? await io.files.read(log) : null;
  if (!text) return '';
  return ` (${log}: ${text.trim().split('\n').slice(-3).join(' / ')})`;
}
