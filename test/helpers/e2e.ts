// E2E guard and kernel helpers: real namespaces, veth, bridges, iptables.
import type { TestContext } from 'node:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { sh, shOk, uniqueName } from './cli.js';
import { deleteNamespaces, killStoreDaemons } from './teardown.js';

export { deleteNamespaces };

const TOOLS = ['ip', 'iptables-save', 'iptables-restore', 'conntrack', 'arping', 'ping', 'sysctl'];

function missingTools(): string[] {
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  return TOOLS.filter((t) => !path.some((d) => existsSync(`${d}/${t}`)));
}

/** Why e2e tests cannot run here, or null. In CI that is a failure, never a skip. */
export function e2eUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  const m = missingTools();
  return m.length ? `missing tools: ${m.join(', ')}` : null;
}

/** Call first in every e2e test: skips outside CI when not root, fails in CI. */
export function requireE2E(t: TestContext): boolean {
  const why = e2eUnavailable();
  if (!why) return true;
  if (process.env.CI) throw new Error(`e2e test cannot run in CI: ${why}`);
  t.skip(why);
  return false;
}

export const namespaces = (): string[] => {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
};

/** TCP ports listened on in a namespace (`0.0.0.0:9697`), sorted: the metadata proxy is there or not. */
export function listening(ns: string): string[] {
  const out = sh(['ip', 'netns', 'exec', ns, 'ss', '-Hltn']).stdout;
  return out.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3]!).sort();
}

/** A test host: namespace NAME with one veth to BRIDGE (in HOSTNS), address and default route. */
export function addTestHost(o: { name: string; hostNs: string; bridge: string; cidr: string; gateway?: string }): void {
  shOk(['ip', 'netns', 'add', o.name]);
  const hostEnd = `v${o.name.slice(-10)}`.slice(0, 15);
  shOk(['ip', '-n', o.hostNs, 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', o.name]);
  shOk(['ip', '-n', o.hostNs, 'link', 'set', hostEnd, 'master', o.bridge]);
  shOk(['ip', '-n', o.hostNs, 'link', 'set', hostEnd, 'up']);
  shOk(['ip', '-n', o.name, 'link', 'set', 'lo', 'up']);
  shOk(['ip', '-n', o.name, 'addr', 'add', o.cidr, 'dev', 'eth0']);
  shOk(['ip', '-n', o.name, 'link', 'set', 'eth0', 'up']);
  if (o.gateway) shOk(['ip', '-n', o.name, 'route', 'add', 'default', 'via', o.gateway]);
}

/** Addresses, routes, links, our iptables (no counters) and listening TCP ports of a namespace, for before/after comparisons. */
export function kernelSnapshot(nsList: string[]): string {
  const out: string[] = [];
  for (const ns of [...nsList].sort()) {
    if (!namespaces().includes(ns)) {
      out.push(`## ${ns}: absent`);
      continue;
    }
    const links = JSON.parse(sh(['ip', '-n', ns, '-j', 'addr', 'show']).stdout || '[]') as { ifname: string; address: string; master?: string; flags: string[]; addr_info: { local: string; prefixlen: number; scope: string }[] }[];
    out.push(`## ${ns}`);
    for (const l of links.sort((a, b) => a.ifname.localeCompare(b.ifname))) {
      const addrs = l.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`).sort();
      out.push(`link ${l.ifname} ${l.address} ${l.flags.includes('UP') ? 'up' : 'down'} master=${l.master ?? '-'} ${addrs.join(' ')}`);
    }
    out.push(...sh(['ip', '-n', ns, 'route', 'show']).stdout.trim().split('\n').map((x) => `route ${x}`));
    const save = sh(['ip', 'netns', 'exec', ns, 'iptables-save']).stdout;
    out.push(...save.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]')));
    // The metadata proxy, by the port it serves (its pid changes on every restart).
    out.push(...listening(ns).map((a) => `listen ${a}`));
  }
  return out.join('\n');
}

/** `qrouter-*` and our test namespaces that a store's routers own. */
export function routerNamespace(id: string): string {
  return `qrouter-${id}`;
}

export { uniqueName };

/**
 * How every e2e topology starts: a host namespace of the test's own, gateways
 * plugged into the external network's own bridge, no gratuitous-ARP wait,
 * and the external network 203.0.113.0/24 (upstream gateway .1).
 */
export const baseCommands = (hostNs: string): string[][] => [
  ['config', 'set', 'host_namespace', hostNs],
  ['config', 'set', 'external_network_bridge', ''],
  ['config', 'set', 'send_arp_for_ha', '0'],
  ['network', 'add', 'ext', '--cidr', '203.0.113.0/24', '--gateway-ip', '203.0.113.1', '--external'],
];

/** Removes the namespaces of the store's routers and `extra` ones, even when the store is gone or damaged. */
export function removeTestKernel(storePath: string, extra: string[]): void {
  let ids: string[] = [];
  try {
    ids = (JSON.parse(readFileSync(storePath, 'utf8')) as { routers: { id: string }[] }).routers.map((r) => r.id);
  } catch {
    // no readable store: only the named namespaces are ours to remove
  }
  killStoreDaemons(storePath);
  deleteNamespaces([...ids.map((id) => `qrouter-${id}`), ...extra]);
}
