// A private Open vSwitch for one test: its own ovsdb-server and ovs-vswitchd,
// own run/db/log directories, userspace (`netdev`) bridges, so no kernel
// module is needed and no OVS the host may run is ever touched.
//
// ovs-vswitchd runs inside a network namespace (its own, or the test's host
// namespace): the tap devices it creates for bridges and internal ports
// appear there, never in the host's namespace, and two private instances do
// not fight over the one `ovs-netdev` device each netdev datapath makes.
// Give l3ctl that namespace as `host_namespace`: it is where a freshly
// plugged internal port shows up before l3ctl moves it into a router.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from './cli.js';

export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const TOOLS = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-appctl'];

/** Why a private OVS cannot start here, or null. */
export function ovsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  const missing = TOOLS.filter((t) => !path.some((d) => existsSync(join(d, t))));
  if (missing.length) return `missing Open vSwitch tools (openvswitch-switch): ${missing.join(', ')}`;
  if (!existsSync(OVS_SCHEMA)) return `missing ${OVS_SCHEMA}`;
  if (!existsSync('/dev/net/tun')) return 'missing /dev/net/tun (the netdev datapath makes tap devices)';
  return null;
}

export interface OvsEnv {
  OVS_RUNDIR: string;
  OVS_DBDIR: string;
  OVS_LOGDIR: string;
  OVS_SYSCONFDIR: string;
  [key: string]: string;
}

export interface StartOvsOptions {
  /**
   * Namespace ovs-vswitchd runs in (created when missing; then removed by
   * stop()). Default: a namespace of its own, `l3t-ovs-XXXXXX`.
   */
  netns?: string;
  /**
   * Set other_config:userspace-tso-enable=true before ovs-vswitchd starts.
   * Only veth ports need it (or `ethtool -K DEV tx off` on the namespace
   * end): without it a veth on a netdev bridge passes ping but drops TCP and
   * UDP. OVS internal ports work either way, so the default is off.
   */
  userspaceTso?: boolean;
}

export interface PrivateOvs {
  /** The temp directory holding run/, db/, log/, etc/. */
  readonly dir: string;
  /** Pass to l3ctl and ovs-vsctl (CliOptions.env): they then find this database. */
  readonly env: OvsEnv;
  /** `unix:RUNDIR/db.sock`. */
  readonly db: string;
  /** Where ovs-vswitchd runs and where its tap devices appear. */
  readonly netns: string;
  readonly pids: { ovsdbServer: number; ovsVswitchd: number };
  /** Wall time of start (ms): schema, both daemons, init. */
  readonly startMs: number;
  /** ovs-vsctl ARGS against this database (with --timeout); throws on failure. */
  vsctl(args: string[]): string;
  /** ovs-appctl -t RUNDIR/ovs-vswitchd.PID.ctl ARGS. */
  appctl(args: string[]): string;
  /** A netdev bridge; remembered, so stop() deletes it. */
  addBridge(name: string): void;
  /**
   * An OVS internal port NAME on BRIDGE, moved into namespace NS (created
   * when missing), optionally renamed, addressed and routed: a test host.
   */
  addInternalPort(o: InternalPortOptions): void;
  /**
   * Stops ovs-vswitchd and starts it again (same database). Internal ports
   * already moved into namespaces are stranded by this: the old devices stay
   * there without carrier and fresh ones of the same names appear in `netns`.
   */
  restartVswitchd(): void;
  /**
   * Bridges first (while ovs-vswitchd still runs, so it removes their tap
   * devices), then both daemons by pid, its namespace if it made it, the
   * directories. Safe to call twice and after any failure.
   */
  stop(): void;
}

export interface InternalPortOptions {
  bridge: string;
  name: string;
  ns: string;
  mac?: string;
  /** Name inside NS (e.g. eth0). */
  rename?: string;
  cidr?: string;
  gateway?: string;
  externalIds?: Record<string, string>;
}

function run(argv: string[], env?: Record<string, string>, input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', ...env }, timeout: 30_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

function runOk(argv: string[], env?: Record<string, string>): string {
  const r = run(argv, env);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const namespaceExists = (ns: string) => existsSync(join('/run/netns', ns));

/** The process is alive and is the daemon we started (its command line names our run directory). */
function isOurs(pid: number, rundir: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false; // exited, not yet reaped
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(rundir);
  } catch {
    return false;
  }
}

function readPid(file: string): number {
  for (let i = 0; i < 50; i++) {
    try {
      const n = Number(readFileSync(file, 'utf8').trim());
      if (n > 0) return n;
    } catch {
      // --detach writes the pidfile before it returns; this is belt and braces
    }
    sleepMs(20);
  }
  throw new Error(`no pid in ${file}`);
}

/** SIGTERM, wait up to 3 s, then SIGKILL: only a pid that is still our daemon. */
function stopDaemon(pid: number, rundir: string): void {
  if (!pid || !isOurs(pid, rundir)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 150 && isOurs(pid, rundir); i++) sleepMs(20);
  if (isOurs(pid, rundir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    for (let i = 0; i < 50 && isOurs(pid, rundir); i++) sleepMs(20);
  }
}

const live = new Set<PrivateOvs>();
let exitHook = false;

/** Starts a private Open vSwitch. Call stop() in `after`/`finally`. */
export function startOvs(opts: StartOvsOptions = {}): PrivateOvs {
  const why = ovsUnavailable();
  if (why) throw new Error(`cannot start a private Open vSwitch: ${why}`);
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-ovs-'));
  const env: OvsEnv = {
    OVS_RUNDIR: join(dir, 'run'),
    OVS_DBDIR: join(dir, 'db'),
    OVS_LOGDIR: join(dir, 'log'),
    OVS_SYSCONFDIR: join(dir, 'etc'),
  };
  for (const d of Object.values(env)) mkdirSync(d, { recursive: true });
  const rundir = env.OVS_RUNDIR;
  const db = `unix:${join(rundir, 'db.sock')}`;
  const netns = opts.netns ?? uniqueName('l3t-ovs');
  const madeNs = !namespaceExists(netns);
  const bridges: string[] = [];
  const pids = { ovsdbServer: 0, ovsVswitchd: 0 };
  let stopped = false;

  const vsctl = (args: string[]) => runOk(['ovs-vsctl', `--db=${db}`, '--timeout=10', ...args], env);
  const startVswitchd = () => {
    runOk(
      ['ip', 'netns', 'exec', netns, 'ovs-vswitchd', db, `--pidfile=${join(rundir, 'ovs-vswitchd.pid')}`,
        '--detach', '--no-chdir', `--log-file=${join(env.OVS_LOGDIR, 'ovs-vswitchd.log')}`, '-vconsole:off'],
      env,
    );
    pids.ovsVswitchd = readPid(join(rundir, 'ovs-vswitchd.pid'));
  };
  const vswitchdAlive = () => isOurs(pids.ovsVswitchd, rundir);

  const stop = () => {
    if (stopped) return;
    stopped = true;
    live.delete(self);
    // With ovs-vswitchd alive, del-br waits for it to remove the tap devices.
    // Without it, a waiting ovs-vsctl hangs forever: --no-wait edits the
    // database only, and the taps go with the namespace below.
    const wait = vswitchdAlive() ? ['--timeout=5'] : ['--no-wait', '--timeout=5'];
    if (isOurs(pids.ovsdbServer, rundir)) {
      for (const b of bridges.reverse()) run(['ovs-vsctl', `--db=${db}`, ...wait, '--if-exists', 'del-br', b], env);
    }
    stopDaemon(pids.ovsVswitchd, rundir);
    stopDaemon(pids.ovsdbServer, rundir);
    if (madeNs && namespaceExists(netns)) run(['ip', 'netns', 'del', netns]);
    rmSync(dir, { recursive: true, force: true });
  };

  const self: PrivateOvs = {
    dir,
    env,
    db,
    netns,
    pids,
    startMs: 0,
    vsctl,
    appctl: (args) => runOk(['ovs-appctl', '-t', join(rundir, `ovs-vswitchd.${pids.ovsVswitchd}.ctl`), ...args], env),
    addBridge(name) {
      vsctl(['add-br', name, '--', 'set', 'Bridge', name, 'datapath_type=netdev']);
      bridges.push(name);
    },
    addInternalPort(o) {
      const set = (k: string, v: string) => ['--', 'set', 'Interface', o.name, `${k}=${v}`];
      const ids = Object.entries(o.externalIds ?? {}).flatMap(([k, v]) => set(`external-ids:${k}`, v));
      vsctl(['--', '--may-exist', 'add-port', o.bridge, o.name, ...set('type', 'internal'), ...ids]);
      if (!namespaceExists(o.ns)) {
        runOk(['ip', 'netns', 'add', o.ns]);
        runOk(['ip', '-n', o.ns, 'link', 'set', 'lo', 'up']);
      }
      if (o.mac) runOk(['ip', '-n', netns, 'link', 'set', o.name, 'address', o.mac]);
      runOk(['ip', '-n', netns, 'link', 'set', o.name, 'netns', o.ns]);
      const dev = o.rename ?? o.name;
      if (o.rename) runOk(['ip', '-n', o.ns, 'link', 'set', o.name, 'name', o.rename]);
      if (o.cidr) runOk(['ip', '-n', o.ns, 'addr', 'add', o.cidr, 'dev', dev]);
      runOk(['ip', '-n', o.ns, 'link', 'set', dev, 'up']);
      if (o.gateway) runOk(['ip', '-n', o.ns, 'route', 'add', 'default', 'via', o.gateway]);
    },
    restartVswitchd() {
      stopDaemon(pids.ovsVswitchd, rundir);
      pids.ovsVswitchd = 0;
      rmSync(join(rundir, 'ovs-vswitchd.pid'), { force: true });
      startVswitchd();
    },
    stop,
  };
  live.add(self);
  if (!exitHook) {
    exitHook = true;
    // A test process that dies without its `after` still takes its daemons along.
    process.once('exit', () => {
      for (const o of [...live]) o.stop();
    });
  }

  try {
    if (madeNs) runOk(['ip', 'netns', 'add', netns]);
    runOk(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    runOk(['ovsdb-tool', 'create', join(env.OVS_DBDIR, 'conf.db'), OVS_SCHEMA], env);
    runOk(
      ['ovsdb-server', join(env.OVS_DBDIR, 'conf.db'), `--remote=punix:${join(rundir, 'db.sock')}`, `--pidfile=${join(rundir, 'ovsdb-server.pid')}`,
        '--detach', '--no-chdir', `--log-file=${join(env.OVS_LOGDIR, 'ovsdb-server.log')}`, '-vconsole:off'],
      env,
    );
    pids.ovsdbServer = readPid(join(rundir, 'ovsdb-server.pid'));
    runOk(['ovs-vsctl', `--db=${db}`, '--no-wait', 'init'], env);
    // Read once at start: setting it later needs a restart, which strands ports.
    if (opts.userspaceTso) runOk(['ovs-vsctl', `--db=${db}`, '--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true'], env);
    startVswitchd();
  } catch (e) {
    stop();
    throw e;
  }
  (self as { startMs: number }).startMs = performance.now() - t0;
  return self;
}
