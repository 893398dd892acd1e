// `lab up --ha`: the lab's router as an HA router on two simulated network
// nodes of this host, and `lab check` proving a failover. A node is a
// network namespace (named on the host, `<prefix>-ha-a`) plus a mount
// namespace with its own /run/netns, held open by one `sleep` (its holder):
// l3ctl runs inside it (nsenter) with a store of its own and no
// host_namespace, so each node has its own `qrouter-` namespace of the same
// router, its own bridges, its own keepalived. A fabric namespace joins the
// nodes' bridges per network, with an upstream host and a VM on it:
//
//   vm 198.51.100.5/.6 ── fabric br-vm ── up-vm ─ node br-vm   (internal)
//   upstream 203.0.113.1 ── fabric br-ex ── up-ex ─ node br-ex (external)
//                           fabric br-ha ── up-ha ─ node br-ha (HA, 169.254.192.0/18)
//
// Both nodes get the router by the same commands, with the same ids and
// MACs (derived from the lab prefix); only the node address differs.
import { fileURLToPath } from 'node:url';
import { ApplyError } from '../model/errors.js';
import { formatCommand, type Runner } from '../linux/runner.js';
import type { Files } from '../linux/files.js';
import { daemonPaths, stopDaemon, type DaemonKind } from '../linux/daemon.js';
import { EXT, FIP, GATEWAY_IP, PRIV, ROUTER, VM1_IP, VM2_IP, labId, type LabNames } from './topology.js';

export const HA_LAB_NET = { name: 'lab-ha', cidr: '169.254.192.0/18' } as const;
/** Seconds between VRRP adverts in the lab: a failover in about 3 s, a hand-over in under 1 s. */
export const HA_LAB_ADVERT_INT = 1;
const BRIDGES = { internal: 'br-vm', external: 'br-ex', ha: 'br-ha' } as const;
const SHORT = { internal: 'vm', external: 'ex', ha: 'ha' } as const;
const NETS = ['internal', 'external', 'ha'] as const;

export interface HaNode {
  /** a or b */
  name: string;
  /** Its network namespace, named on the host. */
  ns: string;
  /** The tmpfs mounted on its /run/netns, by this source name: how its holder is recognised. */
  mark: string;
  /** Its own l3ctl store. */
  store: string;
  address: string;
}

export interface HaLabNames {
  prefix: string;
  fabric: string;
  upstream: string;
  vm: string;
  nodes: HaNode[];
  /** Every namespace named on the host, fabric side first. */
  all: string[];
}

/** The HA lab's names; its node stores sit beside the lab's store (`lab.json` → `lab-ha-a.json`). */
export function haLabNames(names: LabNames, labStore: string): HaLabNames {
  const p = `${names.prefix}-ha`;
  const base = labStore.replace(/\.json$/, '');
  const nodes = ['a', 'b'].map((n, i) => ({ name: n, ns: `${p}-${n}`, mark: `${p}-${n}-netns`, store: `${base}-ha-${n}.json`, address: `169.254.192.${i + 1}` }));
  const x = { prefix: p, fabric: `${p}-f`, upstream: `${p}-up`, vm: `${p}-vm`, nodes };
  return { ...x, all: [x.fabric, x.upstream, x.vm, ...nodes.map((n) => n.ns)] };
}

/** bin/l3ctl of this installation: what runs inside the nodes. */
export const L3CTL_BIN = fileURLToPath(new URL('../../../bin/l3ctl', import.meta.url));

/** l3ctl ARGS inside NODE (its holder's network and mount namespaces), against its store. */
export function nodeL3ctlArgv(holder: number, node: HaNode, args: string[]): string[] {
  return ['nsenter', '-t', String(holder), '-m', '-n', process.execPath, L3CTL_BIN, '--store', node.store, '--no-input', '--yes', ...args];
}

/** The l3ctl commands that build the lab's HA router in NODE: the same ids and MACs on every node. */
export function haBuildSteps(names: LabNames, node: HaNode): string[][] {
  const id = (w: string) => labId(names.prefix, `ha:${w}`);
  const mac = (w: string) => `fa:16:3e:${labId(names.prefix, `ha-mac:${w}`).slice(0, 6).match(/../g)!.join(':')}`;
  return [
    ['config', 'set', 'external_network_bridge', ''],
    ['config', 'set', 'ha_network', HA_LAB_NET.name],
    ['config', 'set', 'ha_node_address', node.address],
    ['config', 'set', 'ha_vrrp_advert_int', String(HA_LAB_ADVERT_INT)],
    ['network', 'add', EXT.name, '--cidr', EXT.cidr, '--gateway-ip', EXT.gateway, '--external', '--bridge', BRIDGES.external, '--id', id(EXT.name)],
    ['network', 'add', PRIV.name, '--cidr', PRIV.cidr, '--gateway-ip', PRIV.gateway, '--bridge', BRIDGES.internal, '--id', id(PRIV.name)],
    ['network', 'add', HA_LAB_NET.name, '--cidr', HA_LAB_NET.cidr, '--gateway-ip', 'none', '--bridge', BRIDGES.ha, '--id', id(HA_LAB_NET.name)],
    ['router', 'add', ROUTER, '--id', id(ROUTER), '--ha'],
    ['gateway', 'set', ROUTER, EXT.name, '--ip', GATEWAY_IP, '--mac', mac('gateway')],
    ['interface', 'add', ROUTER, PRIV.name, '--ip', PRIV.gateway, '--mac', mac('interface'), '--id', id('interface')],
    ['fip', 'associate', FIP, VM1_IP, '--router', ROUTER],
  ];
}

const batch = (ns: string, lines: string[]) => ({ argv: ['ip', '-n', ns, '-batch', '-'], input: lines.join('\n') + '\n' });

/** The fabric with its upstream host and VM: what `lab up --ha` makes before the nodes. */
export function fabricCommands(h: HaLabNames): { argv: string[]; input?: string }[] {
  return [
    ...[h.fabric, h.upstream, h.vm].map((ns) => ({ argv: ['ip', 'netns', 'add', ns] })),
    batch(h.fabric, [
      'link set lo up',
      ...NETS.flatMap((n) => [`link add ${BRIDGES[n]} type bridge forward_delay 0`, `link set ${BRIDGES[n]} up`]),
      `link add h-up type veth peer name eth0 netns ${h.upstream}`,
      `link set h-up master ${BRIDGES.external} up`,
      `link add h-vm type veth peer name eth0 netns ${h.vm}`,
      `link set h-vm master ${BRIDGES.internal} up`,
    ]),
    batch(h.upstream, ['link set lo up', `addr add ${EXT.gateway}/24 dev eth0`, 'link set eth0 up']),
    batch(h.vm, ['link set lo up', `addr add ${VM1_IP}/24 dev eth0`, `addr add ${VM2_IP}/24 dev eth0`, 'link set eth0 up', `route add default via ${PRIV.gateway}`]),
  ];
}

/** One node's namespace, its bridges and their uplinks to the fabric. */
export function nodeCommands(h: HaLabNames, node: HaNode): { argv: string[]; input?: string }[] {
  return [
    { argv: ['ip', 'netns', 'add', node.ns] },
    batch(h.fabric, NETS.flatMap((n) => [`link add ${node.name}-${SHORT[n]} type veth peer name up-${SHORT[n]} netns ${node.ns}`, `link set ${node.name}-${SHORT[n]} master ${BRIDGES[n]} up`])),
    batch(node.ns, ['link set lo up', ...NETS.flatMap((n) => [`link add ${BRIDGES[n]} type bridge forward_delay 0`, `link set ${BRIDGES[n]} up`, `link set up-${SHORT[n]} master ${BRIDGES[n]} up`])]),
  ];
}

/** The holder: a sleep in the node's network namespace with a mount namespace of its own, /run/netns a private tmpfs. */
export const holderArgv = (node: HaNode) => ['ip', 'netns', 'exec', node.ns, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs ${node.mark} /run/netns && exec sleep infinity`];

/** The holder of NODE: the `sleep infinity` in its network namespace whose /run/netns is the node's tmpfs; null when there is none. */
export async function findHolder(runner: Runner, files: Files, node: HaNode): Promise<number | null> {
  if (!(await runner.namespaces()).has(node.ns)) return null;
  const r = await runner.run(['ip', 'netns', 'pids', node.ns], { read: true, okCodes: [1] });
  for (const pid of r.stdout.split('\n').map((x) => Number(x.trim())).filter((x) => x > 1)) {
    const cmd = await files.read(`/proc/${pid}/cmdline`);
    if (cmd !== 'sleep\0infinity\0') continue;
    const mounts = await files.read(`/proc/${pid}/mountinfo`);
    if (mounts?.split('\n').some((l) => l.includes(' /run/netns ') && l.includes(` ${node.mark} `))) return pid;
  }
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** NODE's holder, started when missing; waits until it holds the tmpfs. */
export async function ensureHolder(runner: Runner, files: Files, node: HaNode): Promise<number> {
  const have = await findHolder(runner, files, node);
  if (have !== null) return have;
  runner.background(holderArgv(node));
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const pid = await findHolder(runner, files, node);
    if (pid !== null) return pid;
  }
  throw new ApplyError(`lab: node ${node.name}: its holder (a sleep with a private /run/netns) did not start`, 'is unshare (util-linux) installed?');
}

/** The VRRP state of the lab router on each node, as `router list -c ha_state` says it there. */
export async function nodeStates(runner: Runner, holders: Map<string, number>, h: HaLabNames): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of h.nodes) {
    const pid = holders.get(n.name);
    if (pid === undefined) {
      out.set(n.name, 'no node');
      continue;
    }
    const r = await runner.run(nodeL3ctlArgv(pid, n, ['-f', 'value', '-c', 'name', '-c', 'ha_state', 'router', 'list']), { read: true, okCodes: [1, 2, 5] });
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${ROUTER}\t`));
    out.set(n.name, line?.split('\t')[1] || (r.exitCode ? `error: ${r.stderr.trim().split('\n')[0]}` : 'no router'));
  }
  return out;
}

/** The longest gap between replies in `ping -D` output (ms), counting from START and up to END (epoch ms). */
export function pingGap(stdout: string, start: number, end: number): number {
  const times = [...stdout.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
  const all = [start, ...times, end];
  let gap = 0;
  for (let i = 1; i < all.length; i++) gap = Math.max(gap, all[i]! - all[i - 1]!);
  return Math.round(gap);
}

/** A ping stream for SECONDS, one echo every 0.1 s, timed by ping itself (-D). */
export const streamArgv = (ns: string, host: string, seconds: number) => ['ip', 'netns', 'exec', ns, 'ping', '-n', '-D', '-i', '0.1', '-W', '1', '-w', String(seconds), host];

/**
 * Stops what runs for the lab's routers in NODE (keepalived, the metadata
 * proxy), found by their pid files beside its store, whether or not the
 * node is still there.
 */
export async function stopNodeDaemons(runner: Runner, files: Files, node: HaNode, routerId: string): Promise<void> {
  const dir = `${node.store}.d/routers/${routerId}`;
  for (const kind of ['keepalived', 'haproxy'] as DaemonKind[]) await stopDaemon({ runner, files }, daemonPaths(kind, `qrouter-${routerId}`, dir));
}

export const shownCommand = (c: { argv: string[]; input?: string }) => formatCommand(c.argv, c.input);

// ---- the flows of `lab up --ha`, `lab check` and `lab down` for the HA lab ----

export interface LabIo {
  runner: Runner;
  files: Files;
  dryRun: boolean;
  status(text: string): void;
  warn(text: string): void;
  /** A line of the dry-run listing. */
  out(text: string): void;
}

/** Is an HA lab (or what is left of one) on this host? */
export async function haLabPresent(io: LabIo, names: LabNames, labStore: string): Promise<boolean> {
  const { existsSync } = await import('node:fs');
  const h = haLabNames(names, labStore);
  const nss = await io.runner.namespaces();
  return h.all.some((ns) => nss.has(ns)) || h.nodes.some((n) => existsSync(n.store));
}

const inNode = (n: HaNode, args: string[]) => `+ l3ctl --store ${n.store} ${args.join(' ')}   (in node ${n.name})`;

/** `lab up --ha`: fabric, nodes, holders, then the router on each node by the same commands; waits for one master. */
export async function haLabUp(io: LabIo, names: LabNames, labStore: string): Promise<HaLabNames> {
  const h = haLabNames(names, labStore);
  const { runner } = io;
  if (io.dryRun) {
    for (const c of fabricCommands(h)) io.out(shownCommand(c));
    for (const n of h.nodes) {
      for (const c of nodeCommands(h, n)) io.out(shownCommand(c));
      io.out(`${formatCommand(holderArgv(n))}  (background: node ${n.name}'s holder)`);
    }
    for (const n of h.nodes) for (const s of haBuildSteps(names, n)) io.out(inNode(n, s));
    return h;
  }
  const nss = await runner.namespaces();
  if (!nss.has(h.fabric)) {
    io.status(`lab: fabric ${h.fabric}: bridges ${Object.values(BRIDGES).join(', ')}, upstream ${h.upstream}, VM ${h.vm}`);
    for (const c of fabricCommands(h)) await runner.run(c.argv, c.input ? { input: c.input } : {});
  }
  const holders = new Map<string, number>();
  for (const n of h.nodes) {
    if (!nss.has(n.ns)) {
      io.status(`lab: node ${n.name}: namespace ${n.ns}, its bridges joined to the fabric`);
      for (const c of nodeCommands(h, n)) await runner.run(c.argv, c.input ? { input: c.input } : {});
    }
    holders.set(n.name, await ensureHolder(runner, io.files, n));
  }
  const { existsSync, readFileSync } = await import('node:fs');
  const storeText = (n: HaNode) => (existsSync(n.store) ? readFileSync(n.store, 'utf8') : null);
  for (const n of h.nodes) {
    const holder = holders.get(n.name)!;
    // A step that leaves the node's store as it was changes nothing in a node whose kernel already
    // matched it (agent check exit 0: its transaction has nothing to apply): said '(unchanged)', as lab up does.
    const converged = existsSync(n.store) && (await runner.run(nodeL3ctlArgv(holder, n, ['-q', 'agent', 'check']), { read: true, okCodes: [1, 2, 3, 4, 5] })).exitCode === 0;
    for (const s of haBuildSteps(names, n)) {
      const before = storeText(n);
      await runner.run(nodeL3ctlArgv(holder, n, ['-q', ...s]));
      io.status(`lab: node ${n.name}: l3ctl ${s.join(' ')}${converged && storeText(n) === before ? ' (unchanged)' : ''}`);
    }
  }
  io.status('lab: waiting for keepalived to elect a master…');
  const t0 = Date.now();
  for (;;) {
    const states = [...(await nodeStates(runner, holders, h)).values()];
    if (states.filter((s) => s === 'master').length === 1 && states.filter((s) => s === 'backup').length === 1) break;
    if (Date.now() - t0 > 10_000 * HA_LAB_ADVERT_INT + 10_000) throw new ApplyError(`lab: no master elected: ${states.join(', ')}`, 'l3ctl lab check shows each node');
    await sleep(250);
  }
  return h;
}

type HaCheckRow = import('./check.js').CheckRow;

const rowOf = (check: string, expected: string, seen: string, pass = seen === expected): HaCheckRow => ({ check, expected, seen, result: pass ? 'pass' : 'fail' });

/** `lab check` of the HA lab: one master, traffic through it, then `router standby` on it measured with a 0.1 s ping stream. */
export async function haLabCheck(io: LabIo, names: LabNames, labStore: string, echo?: (l: string) => void): Promise<HaCheckRow[]> {
  const h = haLabNames(names, labStore);
  const { runner } = io;
  const check = await import('./check.js');
  if (io.dryRun) {
    for (const n of h.nodes) io.out(inNode(n, ['-f', 'value', '-c', 'name', '-c', 'ha_state', 'router', 'list']));
    io.out(formatCommand(check.peerArgv(h.upstream, ['serve', String(check.UPSTREAM_PORT), 'upstream', '2', '30000'])));
    io.out(formatCommand(check.peerArgv(h.vm, ['serve', String(check.VM1_PORT), 'vm1', '2', '30000'])));
    io.out(formatCommand(streamArgv(h.upstream, FIP, 5)));
    io.out(`${inNode(h.nodes[0]!, ['router', 'standby', ROUTER])}   (on the master)`);
    return [];
  }
  const holders = new Map<string, number>();
  const rows: HaCheckRow[] = [];
  for (const n of h.nodes) {
    const pid = await findHolder(runner, io.files, n);
    rows.push(rowOf(`node ${n.name} is up`, 'yes', pid === null ? `no (${n.ns} or its holder is gone)` : 'yes'));
    if (pid !== null) holders.set(n.name, pid);
  }
  const states = await nodeStates(runner, holders, h);
  const shown = (s: Map<string, string>) => h.nodes.map((n) => `${n.name} ${s.get(n.name)}`).join(', ');
  const masters = h.nodes.filter((n) => states.get(n.name) === 'master');
  const oneMaster = masters.length === 1 && h.nodes.every((n) => ['master', 'backup'].includes(states.get(n.name)!));
  rows.push(rowOf('keepalived: one master, the other backup', 'one master, one backup', shown(states), oneMaster));
  if (!oneMaster) return rows;
  const master = masters[0]!;
  const peer = h.nodes.find((n) => n !== master)!;
  const servers: import('./check.js').Server[] = [];
  try {
    servers.push(await check.startServer(h.upstream, check.UPSTREAM_PORT, 'upstream', 2, echo), await check.startServer(h.vm, check.VM1_PORT, 'vm1', 2, echo));
    rows.push(rowOf('vm -> upstream tcp from 198.51.100.6: source seen (SNAT to gateway)', GATEWAY_IP, await check.connect(runner, h.vm, EXT.gateway, check.UPSTREAM_PORT, 'upstream', VM2_IP).catch((e: Error) => `error: ${e.message}`)));
    rows.push(rowOf('upstream -> floating IP tcp: vm1 sees', EXT.gateway, await check.connect(runner, h.upstream, FIP, check.VM1_PORT, 'vm1').catch((e: Error) => `error: ${e.message}`)));
    // The failover: a ping stream to the FIP while the master hands over.
    const seconds = 5;
    const start = Date.now();
    const stream = runner.run(streamArgv(h.upstream, FIP, seconds), { read: true, okCodes: [1] });
    await sleep(1000);
    const standby = await runner.run(nodeL3ctlArgv(holders.get(master.name)!, master, ['router', 'standby', ROUTER]), { okCodes: [1, 2] });
    const ping = await stream;
    const gap = pingGap(ping.stdout, start, Date.now());
    const after = await nodeStates(runner, holders, h);
    rows.push(rowOf(`router standby on node ${master.name} (the master)`, 'done', standby.exitCode === 0 ? 'done' : `exit ${standby.exitCode}: ${standby.stderr.trim().split('\n')[0]}`));
    rows.push(rowOf(`failover: node ${peer.name} takes over`, `${peer.name} master, ${master.name} backup`, `${peer.name} ${after.get(peer.name)}, ${master.name} ${after.get(master.name)}`));
    rows.push(rowOf('failover: longest gap of a 0.1 s ping stream to the floating IP', '≤ 1500 ms', `${gap} ms`, gap <= 1500));
    rows.push(rowOf('after the failover: vm -> upstream tcp: source seen (floating IP)', FIP, await check.connect(runner, h.vm, EXT.gateway, check.UPSTREAM_PORT, 'upstream').catch((e: Error) => `error: ${e.message}`)));
    rows.push(rowOf('after the failover: upstream -> floating IP tcp: vm1 sees', EXT.gateway, await check.connect(runner, h.upstream, FIP, check.VM1_PORT, 'vm1').catch((e: Error) => `error: ${e.message}`)));
  } finally {
    for (const s of servers) check.stopServer(s);
  }
  return rows;
}

/** `lab down` of the HA lab: the router deleted in each node (keepalived stopped), then holders, namespaces and node stores. Returns the failures. */
export async function haLabDown(io: LabIo, names: LabNames, labStore: string): Promise<number> {
  const h = haLabNames(names, labStore);
  const { runner } = io;
  const routerId = labId(names.prefix, `ha:${ROUTER}`);
  let failures = 0;
  if (io.dryRun) {
    for (const n of h.nodes) io.out(inNode(n, ['router', 'delete', ROUTER, '--yes']));
    for (const ns of [...h.nodes.map((n) => n.ns), h.fabric, h.upstream, h.vm]) io.out(formatCommand(['ip', 'netns', 'del', ns]));
    return 0;
  }
  const holders = new Map<string, number>();
  for (const n of h.nodes) {
    const pid = await findHolder(runner, io.files, n);
    if (pid === null) continue;
    holders.set(n.name, pid);
    const { existsSync } = await import('node:fs');
    if (!existsSync(n.store)) continue;
    io.status(`lab: node ${n.name}: l3ctl router delete ${ROUTER}`);
    try {
      await runner.run(nodeL3ctlArgv(pid, n, ['-q', 'router', 'delete', ROUTER, '--yes']), { okCodes: [] });
    } catch (err) {
      failures++;
      io.warn(`node ${n.name}: ${(err as Error).message.split('\n')[0]}; stopping its daemons directly`);
    }
  }
  // Whatever still runs for the router (a node whose holder died, a failed delete).
  for (const n of h.nodes) await stopNodeDaemons(runner, io.files, n, routerId);
  for (const pid of holders.values()) await runner.run(['kill', '-KILL', String(pid)], { okCodes: [1] });
  const present = await runner.namespaces();
  for (const ns of [...h.nodes.map((n) => n.ns), h.fabric, h.upstream, h.vm].filter((x) => present.has(x))) {
    io.status(`lab: ip netns del ${ns}`);
    await runner.run(['ip', 'netns', 'del', ns]);
  }
  const { promises: fsp } = await import('node:fs');
  const { unregisterStores } = await import('../store/registry.js');
  for (const n of h.nodes) for (const f of [n.store, `${n.store}.bak`]) await fsp.rm(f, { force: true });
  for (const n of h.nodes) await fsp.rm(`${n.store}.d`, { recursive: true, force: true });
  await unregisterStores(h.nodes.map((n) => n.store)).catch((err: Error) => io.warn(`node stores are still in the store registry (${err.message})`));
  return failures;
}
