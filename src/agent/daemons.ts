// Per-router daemons as one more kind of object in the plan: which ones a
// router should have (desired: pure text from the store and config), where
// their files are (beside the store, per router), what runs (observed through
// linux/daemon.ts), and one diff between them into steps. The metadata proxy
// (haproxy) is the first kind, router advertisements (radvd) the second;
// keepalived plugs in by adding its kind to ROUTER_DAEMON_KINDS and its
// desired entry to desiredDaemons.
import path from 'node:path';
import type { Config } from '../model/config.js';
import {
  configDigest,
  daemonAction,
  daemonPaths,
  daemonSpec,
  observeDaemon,
  sameCommandLine,
  type DaemonKind,
  type DaemonObservation,
  type DaemonPaths,
} from '../linux/daemon.js';
import type { Files } from '../linux/files.js';
import { metadataProxyConfig } from '../linux/haproxy.js';
import { radvdConfig, type RaPort } from '../linux/radvd.js';
import type { Action } from '../linux/actions.js';
import { setDiff, type Finding, type Step } from './steps.js';
import { byText } from '../model/order.js';

/** Every kind a router may run: each is observed for every router, wanted or not, so an unwanted one is stopped. */
export const ROUTER_DAEMON_KINDS: readonly DaemonKind[] = ['haproxy', 'keepalived', 'radvd'];

/**
 * Where one router's daemon files live: `<store>.d/routers/<router id>/`.
 * Named after the store file, so two stores in one directory never share a
 * router's files, and found again from the router id alone (agent cleanup of
 * a namespace whose store entry is gone).
 */
export function routerFilesDir(storePath: string, routerId: string): string {
  return path.join(`${path.resolve(storePath)}.d`, 'routers', routerId);
}

/** A daemon as the store wants it: what it is for and its config text. */
export interface DesiredDaemon {
  kind: DaemonKind;
  /** What it does, for check and show: `metadata proxy on port 9697 to http://…`. */
  role: string;
  /** Its config text; a function of the daemon's directory when the text names files there (keepalived's notify script). */
  config: string | ((dir: string) => string);
  /** What an operator should know while it holds (not drift), e.g. no upstream set. */
  notice?: string;
}

export const NO_UPSTREAM_NOTICE = 'metadata_upstream is not set: metadata proxies answer 503 to every request (l3ctl config set metadata_upstream URL)';

/**
 * The daemons of a handled router. The metadata proxy runs when the option is
 * on and the router has an internal port for instances to ask through (the
 * same condition as its NAT rules). radvd runs when an internal port has an
 * IPv6 subnet with an RA mode (`ra`: those ports and subnets).
 */
export function desiredDaemons(routerId: string, config: Config, metadataPort: number | null, ra: RaPort[] = []): DesiredDaemon[] {
  const out: DesiredDaemon[] = [];
  if (metadataPort !== null) {
    const upstream = config.metadata_upstream;
    out.push({
      kind: 'haproxy',
      role: `metadata proxy on port ${metadataPort} to ${upstream ?? '(no upstream: 503)'}`,
      config: metadataProxyConfig({ routerId, port: metadataPort, upstream }),
      ...(upstream === null ? { notice: NO_UPSTREAM_NOTICE } : {}),
    });
  }
  // The ports' MTU (network_device_mtu) is advertised, as Neutron advertises the network's.
  const mtu = config.network_device_mtu;
  const radvd = radvdConfig(mtu ? ra.map((p) => ({ ...p, mtu })) : ra);
  if (radvd !== null) {
    const what = [...ra].sort((a, b) => byText(a.device, b.device)).map((p) => `${p.device} ${p.subnets.map((x) => `${x.cidr} ${x.raMode}`).join(', ')}`);
    out.push({ kind: 'radvd', role: `router advertisements on ${what.join('; ')}`, config: radvd });
  }
  return out;
}

/** One kind's files and what the kernel and /proc say about them. */
export interface ObservedDaemon {
  paths: DaemonPaths;
  seen: DaemonObservation;
}

/** Every kind of a router's daemons, observed in namespace NS (null: l3ctl's own). Reads only. */
export async function observeDaemons(files: Files, storePath: string, routerId: string, ns: string | null): Promise<ObservedDaemon[]> {
  const dir = routerFilesDir(storePath, routerId);
  return Promise.all(
    ROUTER_DAEMON_KINDS.map(async (kind) => {
      const paths = daemonPaths(kind, ns, dir);
      return { paths, seen: await observeDaemon(files, paths) };
    }),
  );
}

/** Anything of it there: a process of ours (in place or not, a child of it included), a pid file or a config. */
export const isPresent = (o: DaemonObservation) => o.alive || o.stray || o.pidFile || o.config !== null || o.children.length > 0;

/** What observing it again would show once an earlier plan of the same pass has stopped it (process and files gone). */
export function afterStop(o: ObservedDaemon): ObservedDaemon {
  const kind = o.paths.kind;
  return { paths: o.paths, seen: { pid: null, pidFile: false, alive: false, stray: false, config: null, loaded: null, argv: null, children: [], ownFilesOk: true, ownFileProblem: null, why: `${kind} is not running (no pid file)` } };
}

/** The first line where two texts differ, on each side (null: that side has no such line). */
function firstDifference(want: string, have: string): [string | null, string | null] {
  const w = want.split('\n');
  const h = have.split('\n');
  for (let i = 0; i < Math.max(w.length, h.length); i++) {
    if (w[i] !== h[i]) return [w[i]?.trim() ?? null, h[i]?.trim() ?? null];
  }
  return [null, null];
}

/**
 * Daemons of one router: the wanted ones against what runs, by kind. A kind
 * that is present and not wanted is stopped (its files removed); a wanted one
 * is started, restarted or reloaded as daemon.ts's daemonAction decides.
 */
export function planDaemons(want: DesiredDaemon[], observed: ObservedDaemon[]): Step[] {
  const byKind = new Map(observed.map((o) => [o.paths.kind, o]));
  const out: Step[] = [];
  const present = observed.filter((o) => isPresent(o.seen));
  const diff = setDiff(want, present, { want: (w) => w.kind, have: (h) => h.paths.kind }, (w, h) => daemonAction(specOf(w, h.paths), h.seen) === 'none');
  for (const w of diff.add) {
    const o = byKind.get(w.kind);
    if (!o) throw new Error(`daemons: kind ${w.kind} is wanted but not observed (add it to ROUTER_DAEMON_KINDS)`);
    // Not there at all: a start (a stray elsewhere would have made it present).
    out.push(step({ kind: 'missing-daemon', object: w.kind, expected: w.role, live: null }, { phase: 'daemon', op: 'start', spec: specOf(w, o.paths) }));
  }
  for (const [w, o] of diff.change) {
    const spec = specOf(w, o.paths);
    const op = daemonAction(spec, o.seen);
    if (op === 'none' || op === 'stop') continue;
    let finding: Finding;
    if (!o.seen.alive) {
      finding = { kind: 'daemon-dead', object: w.kind, expected: w.role, live: o.seen.why };
    } else if (!sameCommandLine(spec, o.seen)) {
      finding = { kind: 'daemon-config', object: w.kind, expected: spec.argv.join(' '), live: `pid ${o.seen.pid}: ${(o.seen.argv ?? []).join(' ')}` };
    } else if (o.seen.config !== spec.config) {
      const [e, l] = firstDifference(spec.config, o.seen.config ?? '');
      finding = { kind: 'daemon-config', object: w.kind, expected: e ?? '(end of config)', live: o.seen.config === null ? 'no config file' : (l ?? '(end of config)') };
    } else if (!o.seen.ownFilesOk) {
      finding = { kind: 'daemon-config', object: w.kind, expected: 'its files as l3ctl writes them', live: o.seen.ownFileProblem ?? 'changed' };
    } else {
      // The file is as wanted but the process never took it up (l3ctl died in between).
      finding = { kind: 'daemon-config', object: w.kind, expected: `config ${configDigest(spec.config)} taken up`, live: `pid ${o.seen.pid} runs config ${o.seen.loaded ?? 'unknown'}` };
    }
    out.push(step(finding, { phase: 'daemon', op, spec }));
  }
  for (const o of diff.del) {
    const s = o.seen;
    const live = s.alive ? `pid ${s.pid} running` : s.stray ? s.why : s.children.length ? `child pid ${s.children.join(', ')} running` : `files left in ${o.paths.dir}`;
    out.push(step({ kind: 'extra-daemon', object: o.paths.kind, expected: null, live }, { phase: 'daemon', op: 'stop', spec: o.paths }));
  }
  return out;
}

/** The config text for the daemon's own directory. */
export const configText = (w: DesiredDaemon, dir: string) => (typeof w.config === 'string' ? w.config : w.config(dir));
/** The daemon as wanted, where its files are. */
export const specOf = (w: DesiredDaemon, p: DaemonPaths) => daemonSpec(w.kind, p.ns, p.dir, configText(w, p.dir));
const step = (f: Finding, a: Action): Step => ({ findings: [f], actions: [a] });

/** What check and show print about the daemons, one line each. */
export function daemonNotices(want: DesiredDaemon[]): string[] {
  return want.flatMap((w) => (w.notice ? [w.notice] : []));
}
