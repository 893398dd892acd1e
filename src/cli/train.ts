// Run once while the start-up snapshot is built (snapshot.ts): the common
// commands' code called on a small made-up site, so that V8 compiles those
// functions then and the blob keeps their bytecode. A function first called
// at run time is compiled at run time: in a CPU profile of one `fip
// associate`, the whole-state check took 4.2 ms untrained and 1.0 ms trained.
//
// Nothing here reaches the kernel, a file or the environment: programs go to
// a runner that answers reads from a made-up kernel and runs nothing, daemon
// files to a face that holds none, output to a sink. What it leaves in the
// heap is code, and the address parser's cache of documentation addresses.
import type { Router, State } from '../model/types.js';
import { checkState } from '../model/validate.js';
import { CONFIG_KEYS } from '../model/config.js';
import { storeValueProblem } from '../store/values.js';
import { serializeState } from '../store/store.js';
import type { Files } from '../linux/files.js';
import { EMPTY_OBSERVATION, joinObserved, OBSERVE_SCRIPT } from '../linux/observe.js';
import type { RunOptions, RunResult, Runner } from '../linux/runner.js';
import { applyChange, validateNext } from '../agent/transaction.js';
import { syncPass } from '../agent/sync.js';
import { checkRouters } from '../agent/check.js';
import { desiredRouter, placement, type DesiredRouter } from '../agent/desired.js';
import { parse } from './parse.js';
import { makeIO, type IO } from './io.js';
import { printList, printObject } from './output.js';
import { routerRow } from './router.js';
import { routerView } from './views.js';
import { ROUTER_LIST_COLUMNS, FIP_COLUMNS } from './columns.js';

/** Command lines the parser learns on: the verbs run most. */
export const TRAINING_LINES = [
  ['fip', 'associate', '203.0.113.20', '192.0.2.5', '--router', 'r1', '-q'],
  ['fip', 'disassociate', '203.0.113.20'],
  ['fip', 'delete', '203.0.113.20', '--yes'],
  ['router', 'list'],
  ['router', 'show', 'r1', '-f', 'json'],
  ['agent', 'sync', '-v'],
  ['agent', 'check'],
  ['router', 'add', 'r1'],
  ['gateway', 'set', 'r1', 'ext'],
  ['interface', 'add', 'r1', 'net1'],
  ['router', 'delete', 'r1', 'r2', '--yes'],
];

const id = (n: number) => `${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`;

/** One external and one tenant network, a router with a gateway, a port, a route and two floating IPs. */
export function trainingState(): State {
  const ext = { id: id(1), name: 'ext', external: true, bridge: null, subnets: [{ id: id(2), cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', ip_version: 4 as const, ipv6_ra_mode: null, ipv6_address_mode: null }] };
  const net = { id: id(3), name: 'net1', external: false, bridge: null, subnets: [{ id: id(4), cidr: '192.0.2.0/24', gateway_ip: '192.0.2.1', ip_version: 4 as const, ipv6_ra_mode: null, ipv6_address_mode: null }] };
  const port = (n: number, network: typeof ext, ip: string) => ({ id: id(n), network_id: network.id, fixed_ips: [{ subnet_id: network.subnets[0]!.id, ip_address: ip }], mac_address: `fa:16:3e:00:00:${String(n).padStart(2, '0')}`, admin_state_up: true });
  const router: Router = {
    id: id(10),
    name: 'r1',
    admin_state_up: true,
    gateway: port(11, ext, '203.0.113.2'),
    interfaces: [port(12, net, '192.0.2.1')],
    routes: [{ destination: '198.51.100.0/24', nexthop: '192.0.2.254' }],
    ha: false,
    ha_vr_id: null,
  };
  const fip = (n: number, address: string, fixed: string) => ({ id: id(n), floating_ip_address: address, floating_network_id: ext.id, fixed_ip_address: fixed, router_id: router.id });
  return { version: 1, config: { external_network_bridge: '' }, networks: [ext, net], routers: [router], floatingips: [fip(20, '203.0.113.20', '192.0.2.5'), fip(21, '203.0.113.21', '192.0.2.6')] } as State;
}

/** `ip -j addr show` of a namespace holding the router's devices as planned, and its loopback up. */
function linksJson(d: DesiredRouter): string {
  const lo = { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], address: '00:00:00:00:00:00', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] };
  return JSON.stringify([
    lo,
    ...d.ports.map((p, i) => ({
      ifindex: i + 2,
      // A veth whose other end, the tap, is in the host namespace (hostLinksJson).
      link_index: i + 20,
      link_netnsid: 0,
      ifname: p.device,
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      address: p.mac,
      addr_info: [
        ...p.addrs.map((a) => ({ family: a.version === 6 ? 'inet6' : 'inet', local: a.ip, prefixlen: a.prefixlen, ...(a.broadcast ? { broadcast: a.broadcast } : {}), scope: 'global' })),
        // The floating IPs sit on the gateway device.
        ...(p.kind === 'gateway' ? d.fips.map((f) => ({ family: 'inet', local: f.fip, prefixlen: 32, broadcast: f.fip, scope: 'global' })) : []),
      ],
    })),
  ]);
}

/** `ip -j addr show` of the host namespace: the ports' host ends on their bridges (the bridges themselves left out). */
function hostLinksJson(d: DesiredRouter): string {
  return JSON.stringify(d.ports.map((p, i) => ({ ifindex: i + 20, link_index: i + 2, link_netnsid: 0, ifname: p.tap, flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], master: p.bridge, address: `fa:16:3e:00:01:${String(i).padStart(2, '0')}`, addr_info: [] })));
}

/**
 * `ip -j route show table main` of that namespace, as the kernel prints the
 * planned routes: `default` for 0.0.0.0/0, connected routes as `proto kernel`,
 * an extra route on the device of the one internal port (the training's
 * nexthop is on its subnet).
 */
function routesJson(d: DesiredRouter): string {
  const inside = d.ports.find((p) => p.kind !== 'gateway')!.device;
  return JSON.stringify(
    d.routes.map((r) =>
      r.via === null
        ? { dst: r.dst, dev: r.dev, protocol: 'kernel', scope: 'link', prefsrc: r.src, flags: [] }
        : { dst: r.dst === '0.0.0.0/0' ? 'default' : r.dst, gateway: r.via, dev: r.dev ?? inside, flags: [] },
    ),
  );
}

/**
 * What `iptables-save -c` prints after that restore: the built-in chains
 * declared, the jumps inserted into them as their first rules, counters.
 */
export function savedAfter(restore: string): string {
  const out: string[] = ['# Generated by iptables-save v1.8.9 (nf_tables) on training'];
  let block: string[] = [];
  for (const line of restore.split('\n')) {
    if (line.startsWith('*')) block = [line];
    else if (line === 'COMMIT') {
      const jumps = block.filter((l) => l.startsWith('-I ')).map((l) => l.split(' '));
      const builtins = [...new Set(jumps.map((w) => w[1]!))];
      out.push(block[0]!, ...builtins.map((c) => `:${c} ACCEPT [0:0]`), ...block.filter((l) => l.startsWith(':')));
      out.push(...jumps.sort((a, b) => Number(a[2]) - Number(b[2])).map((w) => `[0:0] -A ${w[1]} ${w.slice(3).join(' ')}`));
      out.push(...block.filter((l) => l.startsWith('-A ')).map((l) => `[0:0] ${l}`), 'COMMIT');
    } else if (line) block.push(line);
  }
  return out.join('\n') + '\n';
}

/** Answers reads from the made-up kernel (the router's devices, the rules last "restored"); runs nothing. */
class TrainingRunner implements Runner {
  rules = '';
  constructor(
    private readonly nsName: string | null,
    private readonly links: string,
    private readonly routes = '[]',
    private readonly hostLinks = '[]',
  ) {}

  /** What the second pass would have changed: little, when the made-up kernel matches. */
  readonly mutations: string[] = [];

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    if (!opts.read) this.mutations.push([...argv, opts.input ?? ''].join(' '));
    const router = this.nsName !== null && argv.includes(this.nsName);
    let stdout = argv.includes('-j') ? (router ? '[]' : this.hostLinks) : '';
    if (argv.includes(OBSERVE_SCRIPT)) {
      // The router's namespace holds what was made; the host namespace the ports' host ends.
      stdout = router
        ? joinObserved({ linksText: this.links, routes: this.routes, saveText: this.rules, sysctlText: 'net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.promote_secondaries = 1\n' })
        : this.hostLinks === '[]' ? EMPTY_OBSERVATION : joinObserved({ linksText: this.hostLinks, routes: '[]', saveText: '', sysctlText: '' });
    }
    if (argv.includes('iptables-restore') && opts.input && !this.rules) this.rules = opts.input;
    return { stdout, stderr: '', exitCode: 0 };
  }

  background(): void {}

  async namespaces(): Promise<Set<string>> {
    return new Set(this.nsName ? [this.nsName] : []);
  }

  async interactive(): Promise<number> {
    return 0;
  }
}

const NO_FILES: Files = {
  live: false,
  read: async () => null,
  identity: async () => null,
  write: async () => {},
  remove: async () => {},
  removeDir: async () => {},
};

const sink = { write: () => {}, isTTY: false };

/** The training itself; resolves to what it made the code do (a test checks that it does its work). */
export async function train(): Promise<{ rules: string; mutations: string[]; synced: string[]; checked: string[] }> {
  for (const line of TRAINING_LINES) parse(line);
  const state = trainingState();
  const config = validateNext(state, { routers: [state.routers[0]!.id] });
  checkState(state);
  // What a save checks again before it writes (a load trusts the digest).
  if (storeValueProblem(JSON.parse(serializeState(state)) as State, CONFIG_KEYS) !== null) throw new Error('the training state does not pass the store checks');
  const router = state.routers[0]!;
  // From an empty kernel, then from one that holds the devices and the rules the first pass made.
  const ctx = (runner: Runner) => ({ runner, files: NO_FILES, storePath: '/nonexistent/l3ctl-training/state.json', config });
  const empty = new TrainingRunner(null, '[]');
  await applyChange(ctx(empty), state, { routers: [router.id], bridges: true });
  const desired = desiredRouter(state, config, router);
  const made = new TrainingRunner(placement(config, router.id).ns, linksJson(desired), routesJson(desired), hostLinksJson(desired));
  made.rules = savedAfter(empty.rules);
  await applyChange(ctx(made), state, { routers: [router.id] });
  const mutations = [...made.mutations];
  // agent sync and agent check over the same kernel.
  const onError = (_r: unknown, err: Error) => {
    throw err;
  };
  const synced = (await syncPass(ctx(made), state, config, { onError }, state.routers, { all: true })).converged.map((r) => r.name);
  const checked = (await checkRouters(ctx(made), state, config, state.routers, { host: true })).map((x) => (x.error ? `${x.router?.name ?? 'host'}: ${x.error.message}` : x.router?.name ?? 'host'));
  const io: IO = makeIO({
    stdout: sink,
    stderr: sink,
    storePath: '/nonexistent/l3ctl-training/state.json',
    storeNamed: false,
    runner: empty,
    files: NO_FILES,
    format: 'table',
    width: 80,
    columns: [],
    dryRun: false,
    yes: true,
    quiet: false,
    verbose: false,
    interactive: false,
    color: false,
    stderrColor: false,
    prompter: null as never,
    l3ctl: async () => ({ changed: false }),
    report: () => {},
  });
  await printList(io, ROUTER_LIST_COLUMNS, [{ ...routerRow(state, router), ha_state: null }], { view: routerView(state) });
  await printObject(io, FIP_COLUMNS, { ...state.floatingips[0]!, status: 'ACTIVE' });
  return { rules: empty.rules, mutations, synced, checked };
}
