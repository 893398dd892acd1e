// Simulated network nodes on one machine, for HA tests. A node is a network
// namespace plus a mount namespace with its own, empty /run/netns, held open
// by one long-lived process: `ip netns add qrouter-…` run inside a node
// makes the router namespace in that node only, and l3ctl runs there with
// its own store and no host_namespace (bridges in the node's namespace, as
// on a real host). A fabric namespace joins the nodes' bridges per network,
// with an upstream host and a VM hanging off it:
//
//   vm 198.51.100.5 ── fabric br-vm ── up-vm ─ node X br-vm   (internal)
//   upstream 203.0.113.1 ── fabric br-ex ── up-ex ─ node X br-ex (external)
//                           fabric br-ha ── up-ha ─ node X br-ha (HA)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, uniqueName, type CliOptions, type CliResult } from './cli.js';

export const NETWORKS = ['internal', 'external', 'ha'] as const;
export type NetName = (typeof NETWORKS)[number];

/** Bridge names, the same in the fabric and in every node. br-ex is l3ctl's default external_network_bridge. */
export const BRIDGES: Record<NetName, string> = { internal: 'br-vm', external: 'br-ex', ha: 'br-ha' };
const SHORT: Record<NetName, string> = { internal: 'vm', external: 'ex', ha: 'ha' };

export const UPSTREAM = { cidr: '203.0.113.1/24', ip: '203.0.113.1' };
export const VM = { cidr: '198.51.100.5/24', ip: '198.51.100.5', gateway: '198.51.100.1' };

export interface Node {
  name: string;
  /** The holder process: its namespaces are the node's. */
  pid: number;
  /** The node's network namespace, also named in the host's /run/netns (for `ip -n` from outside). */
  ns: string;
  /** A temp directory of the node's own, with its l3ctl store. */
  dir: string;
  store: string;
  /** ARGV inside the node (its network and mount namespaces); never throws. */
  run(argv: string[], input?: string): CliResult;
  /** The same, but throws unless it exits 0; returns stdout. */
  exec(argv: string[], input?: string): string;
  /** ARGV in namespace NS of the node (`ip netns exec NS` inside it). */
  nsRun(ns: string, argv: string[]): CliResult;
  /** A long-running process inside the node; killed by stop() if still running. */
  spawn(argv: string[], opts?: { stdio?: 'ignore' | 'pipe'; logFile?: number }): ChildProcess;
  /** l3ctl inside the node, with the node's store. */
  l3ctl(args: string[], opts?: CliOptions): Promise<CliResult>;
  /** The namespaces in the node's own /run/netns. */
  namespaces(): string[];
}

export interface Fabric {
  ns: string;
  upstream: string;
  vm: string;
  bridges: Record<NetName, string>;
}

export interface Nodes {
  tag: string;
  nodes: Node[];
  node(name: string): Node;
  fabric: Fabric;
  /** ARGV in a fabric-side namespace (fabric, upstream, vm); never throws. */
  hostRun(ns: string, argv: string[]): CliResult;
  /** Cuts node NAME off the fabric (false) or plugs it back (true): its links in the fabric go down or up, as when a node fails. */
  setUplinks(name: string, up: boolean): void;
  /** Removes everything: processes in the nodes' namespaces (by pid), namespaces, holders, temp dirs. Idempotent. */
  stop(): void;
}

const env = () => ({ ...process.env, LC_ALL: 'C' });

function runSync(argv: string[], input?: string): CliResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', env: env(), timeout: 30_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function ok(argv: string[], r: CliResult): string {
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** `ip -batch -` in a host-named namespace: one process for many links. */
function ipBatch(ns: string, lines: string[]): void {
  const argv = ['ip', '-n', ns, '-batch', '-'];
  ok(argv, runSync(argv, lines.join('\n') + '\n'));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True while PID is a live process (a zombie counts as gone). */
export function alive(pid: number): boolean {
  const r = spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
  if (r.status !== 0) return false;
  return !/^\d+ \(.*\) Z/.test(r.stdout);
}

/** Waits until every pid is gone (or the timeout passes); returns whether they all went. */
export async function waitGone(pids: number[], timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!pids.some(alive)) return true;
    await sleep(20);
  }
  return !pids.some(alive);
}

const hostNamespaces = () => runSync(['ip', 'netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);

/** Pids in a network namespace named in the host's /run/netns (or, with `inside`, in a node's). */
function netnsPids(ns: string, inside?: number): number[] {
  const argv = ['ip', 'netns', 'pids', ns];
  const r = runSync(inside ? ['nsenter', '-t', String(inside), '-m', '-n', ...argv] : argv);
  return r.code === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Starts nodes NAMES (short: [a-z0-9]{1,4}) and the fabric between them.
 * On any failure it removes what it made before throwing.
 */
export async function startNodes(names: string[]): Promise<Nodes> {
  for (const n of names) if (!/^[a-z0-9]{1,4}$/.test(n)) throw new Error(`node name '${n}' must be 1-4 characters [a-z0-9]`);
  const tag = uniqueName('l3ctl-t-ha');
  const fabric: Fabric = { ns: `${tag}-f`, upstream: `${tag}-up`, vm: `${tag}-vm`, bridges: BRIDGES };
  const nodes: Node[] = [];
  const holders: ChildProcess[] = [];
  const children: ChildProcess[] = [];
  let stopped = false;

  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', stop);
    for (const c of children) if (c.pid && c.exitCode === null) kill(c.pid);
    for (const node of nodes) {
      // Processes in the node's router namespaces are ours (keepalived, …).
      if (alive(node.pid)) {
        for (const ns of node.namespaces()) {
          for (const pid of netnsPids(ns, node.pid)) kill(pid);
          node.run(['ip', 'netns', 'del', ns]);
        }
      }
    }
    for (const ns of [...nodes.map((n) => n.ns), fabric.ns, fabric.upstream, fabric.vm]) {
      for (const pid of netnsPids(ns)) if (pid !== process.pid) kill(pid);
    }
    for (const h of holders) if (h.pid) kill(h.pid);
    const mine = new Set([...nodes.map((n) => n.ns), fabric.ns, fabric.upstream, fabric.vm]);
    for (const ns of hostNamespaces()) if (mine.has(ns)) runSync(['ip', 'netns', 'del', ns]);
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
  };
  process.on('exit', stop);

  try {
    for (const ns of [fabric.ns, fabric.upstream, fabric.vm]) ok(['ip', 'netns', 'add', ns], runSync(['ip', 'netns', 'add', ns]));
    ipBatch(fabric.ns, [
      'link set lo up',
      ...NETWORKS.flatMap((net) => [`link add ${BRIDGES[net]} type bridge`, `link set ${BRIDGES[net]} up`]),
      `link add h-up type veth peer name eth0 netns ${fabric.upstream}`,
      `link set h-up master ${BRIDGES.external} up`,
      `link add h-vm type veth peer name eth0 netns ${fabric.vm}`,
      `link set h-vm master ${BRIDGES.internal} up`,
    ]);
    ipBatch(fabric.upstream, ['link set lo up', `addr add ${UPSTREAM.cidr} dev eth0`, 'link set eth0 up']);
    ipBatch(fabric.vm, ['link set lo up', `addr add ${VM.cidr} dev eth0`, 'link set eth0 up', `route add default via ${VM.gateway}`]);

    for (const name of names) {
      const mark = `${tag}-${name}`;
      const holder = spawn('unshare', ['-m', '-n', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs ${mark} /run/netns && exec sleep 900`], { stdio: 'ignore' });
      holder.unref(); // never keeps the test process alive; stop() or the exit hook ends it
      holders.push(holder);
      const pid = holder.pid!;
      const inside = (argv: string[]) => ['nsenter', '-t', String(pid), '-m', '-n', ...argv];
      // The node is ready once its private /run/netns is mounted.
      let ready = false;
      for (let i = 0; i < 100 && !ready; i++) {
        ready = runSync(inside(['findmnt', '-n', '-o', 'SOURCE', '/run/netns'])).stdout.split('\n').includes(mark);
        if (!ready) await sleep(50);
      }
      if (!ready) throw new Error(`node ${name}: private /run/netns did not appear`);
      const dir = mkdtempSync(join(tmpdir(), `l3ctl-node-${name}-`));
      const node: Node = {
        name,
        pid,
        ns: mark,
        dir,
        store: join(dir, 'state.json'),
        run: (argv, input) => runSync(inside(argv), input),
        exec: (argv, input) => ok(inside(argv), runSync(inside(argv), input)),
        nsRun: (ns, argv) => runSync(inside(['ip', 'netns', 'exec', ns, ...argv])),
        spawn(argv, opts = {}) {
          const out = opts.logFile ?? (opts.stdio === 'pipe' ? 'pipe' : 'ignore');
          const c = spawn(inside(argv)[0]!, inside(argv).slice(1), { stdio: ['ignore', out, out], env: env() });
          children.push(c);
          return c;
        },
        l3ctl(args, opts = {}) {
          const argv = inside([process.execPath, BIN, ...args]);
          return new Promise((resolve, reject) => {
            const e: Record<string, string> = { ...(process.env as Record<string, string>), L3CTL_STORE: opts.store ?? node.store, ...opts.env };
            const c = spawn(argv[0]!, argv.slice(1), { env: e, stdio: ['pipe', 'pipe', 'pipe'] });
            let stdout = '';
            let stderr = '';
            c.stdout.on('data', (d) => (stdout += d));
            c.stderr.on('data', (d) => (stderr += d));
            const timer = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
            c.on('error', reject);
            c.on('close', (code, signal) => {
              clearTimeout(timer);
              resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
            });
            c.stdin.end(opts.input ?? '');
          });
        },
        namespaces: () => {
          const r = runSync(inside(['ls', '/run/netns']));
          return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
        },
      };
      nodes.push(node);
      // Name the node's network namespace on the host, so the fabric can reach it with `ip -n`.
      ok(['ip', 'netns', 'attach', mark, String(pid)], runSync(['ip', 'netns', 'attach', mark, String(pid)]));
      ipBatch(fabric.ns, NETWORKS.flatMap((net) => [
        `link add ${name}-${SHORT[net]} type veth peer name up-${SHORT[net]} netns ${mark}`,
        `link set ${name}-${SHORT[net]} master ${BRIDGES[net]} up`,
      ]));
      node.exec(['ip', '-batch', '-'], [
        'link set lo up',
        ...NETWORKS.flatMap((net) => [
          `link add ${BRIDGES[net]} type bridge`,
          `link set ${BRIDGES[net]} up`,
          `link set up-${SHORT[net]} master ${BRIDGES[net]} up`,
        ]),
      ].join('\n') + '\n');
    }
  } catch (e) {
    stop();
    throw e;
  }

  return {
    tag,
    nodes,
    node(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no node ${name}`);
      return n;
    },
    fabric,
    hostRun: (ns, argv) => runSync(['ip', 'netns', 'exec', ns, ...argv]),
    setUplinks(name, up) {
      ipBatch(fabric.ns, NETWORKS.map((net) => `link set ${name}-${SHORT[net]} ${up ? 'up' : 'down'}`));
    },
    stop,
  };
}
