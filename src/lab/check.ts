// `lab check`: prove the lab with real traffic. TCP servers in the test hosts
// answer each client with the source address they see, so SNAT to the
// gateway address, the floating IP's SNAT and its DNAT show up by value.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatCommand, type Runner } from '../linux/runner.js';
import { contains } from '../model/addr.js';
import { FIP, GATEWAY_IP, EXT, EXT6, PRIV6, ROUTE, VM1_IP, VM2_IP, type LabNames } from './topology.js';

export const CHECK_COLUMNS = ['check', 'expected', 'seen', 'result'];

export type CheckRow = {
  check: string;
  expected: string;
  seen: string;
  result: 'pass' | 'fail';
};

/** High ports, one per server; each test host has its own stack, so no clash with anyone. */
export const UPSTREAM_PORT = 47_480;
export const VM1_PORT = 47_481;
const SERVER_START_MS = 10_000;
/** Servers exit by themselves after this, should the lab die before killing them. */
const SERVER_LIFETIME_MS = 30_000;

// Beside this module in dist/src/lab; from the bundle (dist/src/bundle) too.
export const PEER_SCRIPT = fileURLToPath(new URL('../lab/peer.js', import.meta.url));

export const peerArgv = (ns: string, args: string[]) => ['ip', 'netns', 'exec', ns, process.execPath, PEER_SCRIPT, ...args];
/** One reply within 2 s, probing every 0.2 s: quick when it works, bounded when it does not. */
export const pingArgv = (ns: string, host: string) => ['ip', 'netns', 'exec', ns, 'ping', ...(host.includes(':') ? ['-6'] : []), '-n', '-q', '-c', '1', '-i', '0.2', '-w', '2', host];

export interface Server {
  child: ChildProcess;
}

/** Start a peer server by pid and wait for 'ready'. */
export function startServer(ns: string, port: number, label: string, count: number, echo?: (l: string) => void): Promise<Server> {
  const argv = peerArgv(ns, ['serve', String(port), label, String(count), String(SERVER_LIFETIME_MS)]);
  echo?.(`+ ${argv.join(' ')}  (background)`);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      stopServer({ child });
      reject(new Error(`no 'ready' from the server in ${ns} after ${SERVER_START_MS / 1000} s`));
    }, SERVER_START_MS);
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (err += d));
    child.stdout!.on('data', (d: string) => {
      if (d.includes('ready')) {
        clearTimeout(timer);
        resolve({ child });
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(err.trim().split('\n')[0] || `server in ${ns} exited ${code}`));
    });
  });
}

export function stopServer(s: Server): void {
  // `ip netns exec` execs node in place: this pid is the server itself.
  if (s.child.exitCode === null && s.child.signalCode === null && s.child.pid) {
    try {
      process.kill(s.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

export async function ping(runner: Runner, ns: string, host: string): Promise<string> {
  const r = await runner.run(pingArgv(ns, host), { okCodes: [1, 2, 255], read: true });
  return r.exitCode === 0 ? 'reply' : 'no reply';
}

/** What the server at HOST:PORT reports, as "ADDRESS" (and who answered when that is not `want`). */
export async function connect(runner: Runner, ns: string, host: string, port: number, wantLabel: string, local?: string): Promise<string> {
  const r = await runner.run(peerArgv(ns, ['connect', host, String(port), ...(local ? [local] : [])]), { okCodes: [1, 2, 255], read: true });
  if (r.exitCode !== 0) return `no answer (${r.stderr.trim().split('\n')[0] || `exit ${r.exitCode}`})`;
  const [addr, label] = r.stdout.trim().split(/\s+/);
  return label === wantLabel ? (addr ?? '') : `${addr} from ${label ?? '?'}`;
}

async function routeVia(runner: Runner, ns: string, dst: string): Promise<string> {
  const r = await runner.run(['ip', '-n', ns, '-j', 'route', 'show', dst], { okCodes: [1, 2, 255], read: true });
  if (r.exitCode !== 0) return 'no namespace';
  const routes = (r.stdout.trim() ? JSON.parse(r.stdout) : []) as { gateway?: string }[];
  return routes.length ? routes.map((x) => (x.gateway ? `via ${x.gateway}` : 'direct')).join(', ') : 'absent';
}

/**
 * vm2's own IPv6 address, formed from the router's advertisements (SLAAC).
 * Right after `lab up` it may not be there yet: vm2's router solicitation can
 * precede radvd, the next one comes 4 s later, then duplicate address
 * detection takes a second. Waits up to 15 s; a formed address returns at once.
 */
async function slaacAddress(runner: Runner, ns: string): Promise<string | null> {
  for (let i = 0; i < 75; i++) {
    const r = await runner.run(['ip', '-n', ns, '-6', '-j', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'], { okCodes: [1, 255], read: true });
    // ip -j with a filter leaves an empty object for each address it filtered out.
    const info = r.exitCode === 0 && r.stdout.trim() ? ((JSON.parse(r.stdout) as { addr_info?: { local?: string; tentative?: boolean }[] }[])[0]?.addr_info ?? []) : [];
    const a = info.find((x) => x.local !== undefined && contains(PRIV6.cidr, x.local) && !x.tentative);
    if (a?.local) return a.local;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  return null;
}

export const OWN_V6 = `vm2's own address in ${PRIV6.cidr}`;
export const RA_ROUTE = 'via fe80::… proto ra';

/** vm2's IPv6 default route: learnt from radvd (via the router's link-local address), or what it is. */
async function raDefault(runner: Runner, ns: string): Promise<string> {
  const r = await runner.run(['ip', '-n', ns, '-6', '-j', 'route', 'show', 'default'], { okCodes: [1, 2, 255], read: true });
  if (r.exitCode !== 0) return 'no namespace';
  const routes = (r.stdout.trim() ? JSON.parse(r.stdout) : []) as { gateway?: string; protocol?: string }[];
  if (!routes.length) return 'absent';
  return routes.map((x) => (x.gateway?.startsWith('fe80:') && x.protocol === 'ra' ? RA_ROUTE : `via ${x.gateway ?? '-'} proto ${x.protocol ?? '-'}`)).join(', ');
}

interface Probe {
  check: string;
  expected: string;
  run: () => Promise<string>;
}

function probes(runner: Runner, names: LabNames, routerNs: string, servers: Map<string, Server | Error>): Probe[] {
  const viaServer = (key: string, f: () => Promise<string>) => async () => {
    const s = servers.get(key);
    return s instanceof Error ? `no server (${s.message})` : f();
  };
  const { upstream, vm1, vm2 } = names;
  return [
    { check: 'vm2 -> upstream ping', expected: 'reply', run: () => ping(runner, vm2, EXT.gateway) },
    {
      check: 'vm2 -> upstream tcp: source seen (SNAT to gateway)',
      expected: GATEWAY_IP,
      run: viaServer(upstream, () => connect(runner, vm2, EXT.gateway, UPSTREAM_PORT, 'upstream')),
    },
    {
      check: 'vm1 -> upstream tcp: source seen (floating IP)',
      expected: FIP,
      run: viaServer(upstream, () => connect(runner, vm1, EXT.gateway, UPSTREAM_PORT, 'upstream')),
    },
    { check: 'upstream -> floating IP ping', expected: 'reply', run: () => ping(runner, upstream, FIP) },
    {
      check: 'upstream -> floating IP tcp: vm1 sees',
      expected: EXT.gateway,
      run: viaServer(vm1, () => connect(runner, upstream, FIP, VM1_PORT, 'vm1')),
    },
    { check: 'router -> upstream ping', expected: 'reply', run: () => ping(runner, routerNs, EXT.gateway) },
    { check: 'router -> vm1 ping', expected: 'reply', run: () => ping(runner, routerNs, VM1_IP) },
    { check: 'router -> vm2 ping', expected: 'reply', run: () => ping(runner, routerNs, VM2_IP) },
    { check: `router route ${ROUTE.destination}`, expected: `via ${ROUTE.nexthop}`, run: () => routeVia(runner, routerNs, ROUTE.destination) },
    // IPv6: vm2 configures itself from radvd and is routed as it is (no NAT).
    { check: 'vm2 IPv6 default route (radvd)', expected: RA_ROUTE, run: async () => ((await slaacAddress(runner, vm2)), raDefault(runner, vm2)) },
    { check: 'vm2 -> upstream ping -6', expected: 'reply', run: async () => ((await slaacAddress(runner, vm2)), ping(runner, vm2, EXT6.gateway)) },
    {
      check: 'vm2 -> upstream tcp over IPv6: source seen (no NAT)',
      expected: OWN_V6,
      run: viaServer(upstream, async () => {
        const own = await slaacAddress(runner, vm2);
        if (!own) return `vm2 has no address in ${PRIV6.cidr}`;
        const seen = await connect(runner, vm2, EXT6.gateway, UPSTREAM_PORT, 'upstream');
        return seen === own ? OWN_V6 : `${seen} (vm2 has ${own})`;
      }),
    },
  ];
}

/** Every check, in a fixed order; the probes run concurrently. */
export async function runChecks(runner: Runner, names: LabNames, routerNs: string, echo?: (l: string) => void): Promise<CheckRow[]> {
  const servers = new Map<string, Server | Error>();
  try {
    const nss = await runner.namespaces();
    // Upstream answers vm2 (IPv4 and IPv6) and vm1; vm1 answers upstream through the floating IP.
    const wanted: [ns: string, port: number, label: string, clients: number][] = [
      [names.upstream, UPSTREAM_PORT, 'upstream', 3],
      [names.vm1, VM1_PORT, 'vm1', 1],
    ];
    await Promise.all(
      wanted.map(async ([ns, port, label, clients]) => {
        if (!nss.has(ns)) return void servers.set(ns, new Error(`namespace ${ns} missing`));
        try {
          servers.set(ns, await startServer(ns, port, label, clients, echo));
        } catch (e) {
          servers.set(ns, e as Error);
        }
      }),
    );
    const list = probes(runner, names, routerNs, servers);
    const seen = await Promise.all(list.map((p) => p.run().catch((e: Error) => `error: ${e.message}`)));
    return list.map((p, i) => ({ check: p.check, expected: p.expected, seen: seen[i]!, result: seen[i] === p.expected ? 'pass' : 'fail' }));
  } finally {
    for (const s of servers.values()) if (!(s instanceof Error)) stopServer(s);
  }
}

/** `lab check --dry-run`: what would run, nothing started. */
export function checkCommands(names: LabNames, routerNs: string): string[] {
  const cmds = [
    peerArgv(names.upstream, ['serve', String(UPSTREAM_PORT), 'upstream', '3', String(SERVER_LIFETIME_MS)]),
    peerArgv(names.vm1, ['serve', String(VM1_PORT), 'vm1', '1', String(SERVER_LIFETIME_MS)]),
    pingArgv(names.vm2, EXT.gateway),
    peerArgv(names.vm2, ['connect', EXT.gateway, String(UPSTREAM_PORT)]),
    peerArgv(names.vm1, ['connect', EXT.gateway, String(UPSTREAM_PORT)]),
    pingArgv(names.upstream, FIP),
    peerArgv(names.upstream, ['connect', FIP, String(VM1_PORT)]),
    pingArgv(routerNs, EXT.gateway),
    pingArgv(routerNs, VM1_IP),
    pingArgv(routerNs, VM2_IP),
    ['ip', '-n', routerNs, '-j', 'route', 'show', ROUTE.destination],
    ['ip', '-n', names.vm2, '-6', '-j', 'addr', 'show', 'dev', 'eth0', 'scope', 'global'],
    ['ip', '-n', names.vm2, '-6', '-j', 'route', 'show', 'default'],
    pingArgv(names.vm2, EXT6.gateway),
    peerArgv(names.vm2, ['connect', EXT6.gateway, String(UPSTREAM_PORT)]),
  ];
  return cmds.map((c) => formatCommand(c));
}
