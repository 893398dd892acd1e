// An HA router built with l3ctl on simulated nodes (nodes.ts), for the HA
// e2e test and the HA benchmark: the commands that make it on one node, the
// copy to another, and what each node's keepalived says and holds.
import { existsSync, readFileSync } from 'node:fs';
import { alive, BRIDGES, UPSTREAM, VM, type Node, type Nodes } from './nodes.js';
import type { CliOptions, CliResult } from './cli.js';

export const HA_NET = '169.254.192.0/18';
export const GW_IP = '203.0.113.10';
export const FIP = '203.0.113.20';
/** What keepalived holds on the master: the internal and gateway addresses and the FIP. */
export const HELD_ON_MASTER = [`${VM.gateway}/24`, `${FIP}/32`, `${GW_IP}/24`].sort();

export interface StoredPort { id: string; network_id: string; fixed_ips: { subnet_id: string; ip_address: string }[]; mac_address: string }
export interface StoredSubnet { id: string; cidr: string; gateway_ip: string | null; ipv6_ra_mode: string | null; ipv6_address_mode: string | null }
export interface Stored {
  config: Record<string, string>;
  networks: { id: string; name: string; subnets: StoredSubnet[]; external: boolean; bridge: string | null }[];
  routers: { id: string; name: string; gateway: StoredPort | null; interfaces: StoredPort[]; routes: { destination: string; nexthop: string }[]; ha: boolean; ha_vr_id: number | null }[];
  floatingips: { floating_ip_address: string; fixed_ip_address: string | null; router_id: string | null }[];
}
export const stored = (n: Node) => JSON.parse(readFileSync(n.store, 'utf8')) as Stored;

/** l3ctl in node N; throws with its stderr unless it exits 0. */
export async function ok(n: Node, args: string[], opts?: CliOptions): Promise<CliResult> {
  const r = await n.l3ctl(args, opts);
  if (r.code !== 0) throw new Error(`l3ctl ${args.join(' ')} in node ${n.name} exited ${r.code}: ${r.stderr}`);
  return r;
}

/**
 * Router r1 on node N: HA network, external network (br-ex) with gateway and
 * FIP for the fabric's VM, internal network (br-vm). Returns its id.
 */
export async function buildHaRouter(n: Node, o: { nodeAddress: string; advertInt: number; password?: string }): Promise<string> {
  const config: [string, string][] = [['ha_network', 'ha'], ['ha_node_address', o.nodeAddress], ['ha_vrrp_advert_int', String(o.advertInt)]];
  if (o.password) config.push(['ha_vrrp_auth_password', o.password]);
  for (const [k, v] of config) await ok(n, ['config', 'set', k, v]);
  // external_network_bridge keeps its default, br-ex: the node's own bridge.
  await ok(n, ['network', 'add', 'ext', '--cidr', '203.0.113.0/24', '--gateway-ip', UPSTREAM.ip, '--external', '--bridge', BRIDGES.external]);
  await ok(n, ['network', 'add', 'priv', '--cidr', '198.51.100.0/24', '--bridge', BRIDGES.internal]);
  await ok(n, ['network', 'add', 'ha', '--cidr', HA_NET, '--gateway-ip', 'none', '--bridge', BRIDGES.ha]);
  await ok(n, ['router', 'add', 'r1', '--ha']);
  await ok(n, ['gateway', 'set', 'r1', 'ext', '--ip', GW_IP]);
  await ok(n, ['interface', 'add', 'r1', 'priv']);
  await ok(n, ['fip', 'associate', FIP, VM.ip]);
  return stored(n).routers[0]!.id;
}

/**
 * Node TO gets what node FROM has (the HA router with its ids, addresses,
 * MACs and VRRP id) the way an operator copies it: `l3ctl export | l3ctl
 * apply -`. ha_node_address is each node's own: export leaves it out and
 * apply keeps TO's.
 */
export async function copyRouter(from: Node, to: Node): Promise<void> {
  const doc = (await ok(from, ['export', '--format', 'json'])).stdout;
  await ok(to, ['apply', '-'], { input: doc });
}

const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);

/** One HA router as nodes see it: files beside each node's store, addresses in each node's router namespace. */
export function haView(routerId: string) {
  const ns = `qrouter-${routerId}`;
  const dir = (n: Node) => `${n.store}.d/routers/${routerId}`;
  return {
    ns,
    dir,
    /** What keepalived last notified in node N (its state file). */
    stateOf: (n: Node) => (read(`${dir(n)}/state`) ?? '').trim() || null,
    /** keepalived's live pids in node N (parent, VRRP child), from its pid files. */
    pids: (n: Node) => ['keepalived.pid', 'keepalived-vrrp.pid'].map((f) => Number((read(`${dir(n)}/${f}`) ?? '0').trim())).filter((p) => p > 0 && alive(p)),
    /** Global addresses on the router's qr-/qg- devices in node N: keepalived's, on the master only. */
    held: (n: Node) => {
      const links = JSON.parse(n.exec(['ip', '-n', ns, '-j', 'addr', 'show'])) as { ifname: string; addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }[];
      return links.filter((l) => /^q[rg]-/.test(l.ifname)).flatMap((l) => l.addr_info.filter((x) => x.family === 'inet' && x.scope === 'global').map((x) => `${x.local}/${x.prefixlen}`)).sort();
    },
  };
}

/**
 * A crash of node N as far as the router goes: both keepalived processes
 * frozen then killed (neither runs its SIGTERM handler; a SIGKILL of the
 * parent alone lets the VRRP child hand over gracefully), and the node cut
 * off the fabric. Returns the killed pids.
 */
export function crash(env: Nodes, n: Node, pids: number[]): number[] {
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  env.setUplinks(n.name, false);
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls COND every 20 ms; the milliseconds it took, or throws after TIMEOUTMS. */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
  return Date.now() - t0;
}
