// The kernel compared with the store, independently of l3ctl's own planner:
// what an operator would check by hand with `ip addr`, `ip route` and
// `iptables-save` after a crash (issue 5). Used by the concurrency and crash
// tests; `agent check` is a second opinion, not the only one.
import { mutatingCommands } from './dryrun.js';
import { readFileSync } from 'node:fs';
import { l3ctl, sh } from './cli.js';
import { namespaces } from './e2e.js';

interface Port { id: string; network_id: string; fixed_ips: { subnet_id: string; ip_address: string }[] }
interface Subnet { id: string; cidr: string; gateway_ip: string | null; ip_version: number }
interface StoredRouter { id: string; name: string; admin_state_up: boolean; gateway: Port | null; interfaces: Port[]; routes: { destination: string; nexthop: string }[] }
interface StoredState {
  config: Record<string, string>;
  networks: { id: string; name: string; subnets: Subnet[] }[];
  routers: StoredRouter[];
  floatingips: { id: string; floating_ip_address: string; fixed_ip_address: string | null; router_id: string | null }[];
}

export const loadStore = (path: string): StoredState => JSON.parse(readFileSync(path, 'utf8')) as StoredState;

const sorted = (xs: Iterable<string>) => [...xs].sort();

/** `missing: …` / `extra: …` lines, one per difference of two sets. */
function diff(what: string, want: Iterable<string>, have: Iterable<string>): string[] {
  const w = new Set(want);
  const h = new Set(have);
  return [
    ...sorted([...w].filter((x) => !h.has(x))).map((x) => `${what}: missing ${x}`),
    ...sorted([...h].filter((x) => !w.has(x))).map((x) => `${what}: extra ${x}`),
  ];
}

interface LinkJson { ifname: string; addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }
interface RouteJson { dst: string; gateway?: string; dev?: string }

/** Everything that differs between the store and the kernel, for every router; [] when they match exactly. */
export function kernelVsStore(storePath: string): string[] {
  const s = loadStore(storePath);
  const out: string[] = [];
  // The IPv4 side (these topologies are IPv4): each network's IPv4 subnet, each port's address on it.
  const subnet4 = (netId: string) => s.networks.find((n) => n.id === netId)!.subnets.find((x) => x.ip_version === 4)!;
  const prefixOf = (netId: string) => subnet4(netId).cidr.split('/')[1];
  const ip4 = (p: Port) => p.fixed_ips.find((f) => f.subnet_id === subnet4(p.network_id).id)!.ip_address;
  for (const r of s.routers) {
    const ns = `qrouter-${r.id}`;
    const tag = `router ${r.name}`;
    if (!r.admin_state_up) {
      if (namespaces().includes(ns)) out.push(`${tag}: disabled but ${ns} exists`);
      continue;
    }
    if (!namespaces().includes(ns)) {
      out.push(`${tag}: ${ns} missing`);
      continue;
    }
    // Addresses on our devices.
    const want: string[] = [];
    const fips = s.floatingips.filter((f) => f.router_id === r.id && f.fixed_ip_address);
    if (r.gateway) {
      const qg = `qg-${r.gateway.id.slice(0, 11)}`;
      want.push(`${qg} ${ip4(r.gateway)}/${prefixOf(r.gateway.network_id)}`);
      for (const f of fips) want.push(`${qg} ${f.floating_ip_address}/32`);
    }
    for (const p of r.interfaces) want.push(`qr-${p.id.slice(0, 11)} ${ip4(p)}/${prefixOf(p.network_id)}`);
    const links = JSON.parse(sh(['ip', '-n', ns, '-j', 'addr', 'show']).stdout || '[]') as LinkJson[];
    const wantDevs = [...(r.gateway ? [`qg-${r.gateway.id.slice(0, 11)}`] : []), ...r.interfaces.map((p) => `qr-${p.id.slice(0, 11)}`)];
    out.push(...diff(`${tag} device`, wantDevs, links.map((l) => l.ifname).filter((n) => /^q[rg]-/.test(n))));
    const have = links
      .filter((l) => /^q[rg]-/.test(l.ifname))
      .flatMap((l) => l.addr_info.filter((a) => a.family === 'inet' && a.scope === 'global').map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`));
    out.push(...diff(`${tag} address`, want, have));

    // Routes through a next hop: the default route and the extra routes.
    const wantRoutes = r.routes.map((x) => `${x.destination} via ${x.nexthop}`);
    const ext = r.gateway && subnet4(r.gateway.network_id);
    if (ext?.gateway_ip) wantRoutes.push(`default via ${ext.gateway_ip}`);
    const routes = JSON.parse(sh(['ip', '-n', ns, '-j', 'route', 'show', 'table', 'main']).stdout || '[]') as RouteJson[];
    out.push(...diff(`${tag} route`, wantRoutes, routes.filter((x) => x.gateway).map((x) => `${x.dst} via ${x.gateway}`)));

    // Floating IP NAT rules (the agent's three per FIP).
    const nat = sh(['ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat']).stdout.split('\n');
    // use_random_fully (default true): every SNAT rule of ours ends in --random-fully.
    const rf = s.config.use_random_fully === 'false' ? '' : ' --random-fully';
    const wantNat = fips.flatMap((f) => [
      `-A l3ctl-PREROUTING -d ${f.floating_ip_address}/32 -j DNAT --to-destination ${f.fixed_ip_address}`,
      `-A l3ctl-OUTPUT -d ${f.floating_ip_address}/32 -j DNAT --to-destination ${f.fixed_ip_address}`,
      `-A l3ctl-float-snat -s ${f.fixed_ip_address}/32 -j SNAT --to-source ${f.floating_ip_address}${rf}`,
    ]);
    // And the SNAT of each internal subnet to the gateway address.
    if (r.gateway) {
      for (const p of r.interfaces) wantNat.push(`-A l3ctl-snat -s ${subnet4(p.network_id).cidr} -j SNAT --to-source ${ip4(r.gateway)}${rf}`);
    }
    const haveNat = nat.filter((l) => /^-A l3ctl-(PREROUTING|OUTPUT) .* DNAT |^-A l3ctl-float-snat |^-A l3ctl-snat -s /.test(l));
    out.push(...diff(`${tag} nat`, wantNat, haveNat));
  }
  return out;
}

/** Lines of `agent sync --dry-run` that would change something (reads filtered out). */
export async function plannedChanges(storePath: string): Promise<string[]> {
  const r = await l3ctl(['agent', 'sync', '--dry-run'], { store: storePath });
  if (r.code !== 0) return [`agent sync --dry-run exited ${r.code}: ${r.stderr.trim()}`];
  return mutatingCommands(r.stdout);
}

/** `agent check` when this build has it: exit 0 and its output; null when the command does not exist. */
export async function agentCheck(storePath: string): Promise<{ code: number; out: string } | null> {
  const help = await l3ctl(['agent', '--help'], { store: storePath });
  if (!/^\s+check\b/m.test(help.stdout)) return null;
  const r = await l3ctl(['agent', 'check'], { store: storePath });
  return { code: r.code, out: r.stdout + r.stderr };
}
