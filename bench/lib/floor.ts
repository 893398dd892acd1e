// The floors of section 3, as shell scripts that bash runs: what a careful
// operator would write by hand to build a topology with the fewest processes
// (one `ip -batch` per namespace plus one `iptables-restore` and one sysctl
// per router namespace), and to read a converged one (one iptables-save and
// one `ip -j` read per namespace).
//
// Links, addresses and routes come from the store; the iptables tables are
// those l3ctl itself built for the same store (captured with iptables-save),
// so the floor loads exactly the same rules whatever rules l3ctl chooses.
import type { Network, Port, State } from '../../src/model/types.js';
import { broadcastOf, prefixOf } from '../../src/model/addr.js';
import { isReadLine } from '../../test/helpers/dryrun.js';

const short = (id: string) => id.slice(0, 11);
const bridge = (n: Network) => n.bridge ?? `brq${short(n.id)}`;

function heredoc(cmd: string, lines: string[]): string {
  return `${cmd} <<'EOF'\n${lines.join('\n')}\nEOF\n`;
}

/** Build script; `rules` maps a router namespace to its iptables-save text. */
export function floorBuildScript(s: State, hostNs: string, rules: Map<string, string>): string {
  const nets = new Map(s.networks.map((n) => [n.id, n]));
  const routers = s.routers.filter((r) => r.admin_state_up);
  let out = '#!/bin/bash\nset -euo pipefail\n';
  out += heredoc('ip -batch -', [`netns add ${hostNs}`, ...routers.map((r) => `netns add qrouter-${r.id}`)]);
  const host = ['link set lo up'];
  for (const n of s.networks) host.push(`link add ${bridge(n)} type bridge forward_delay 0`, `link set ${bridge(n)} up`);
  for (const r of routers) {
    const ports: [Port, string][] = [...r.interfaces.map((p) => [p, 'qr-'] as [Port, string]), ...(r.gateway ? [[r.gateway, 'qg-'] as [Port, string]] : [])];
    for (const [p, pre] of ports) {
      host.push(`link add tap${short(p.id)} type veth peer name ${pre}${short(p.id)} netns qrouter-${r.id}`);
      host.push(`link set tap${short(p.id)} master ${bridge(nets.get(p.network_id)!)}`, `link set tap${short(p.id)} up`);
    }
  }
  out += heredoc(`ip -n ${hostNs} -batch -`, host);
  for (const r of routers) {
    const ns = `qrouter-${r.id}`;
    const cmds = ['link set lo up'];
    const addrs: string[] = [];
    const port = (p: Port, dev: string) => {
      const cidr = nets.get(p.network_id)!.subnets[0]!.cidr;
      cmds.push(`link set ${dev} address ${p.mac_address}`, `link set ${dev} up`);
      addrs.push(`addr add ${p.fixed_ips[0]!.ip_address}/${prefixOf(cidr)} brd ${broadcastOf(cidr)} scope global dev ${dev}`);
    };
    for (const p of r.interfaces) port(p, `qr-${short(p.id)}`);
    if (r.gateway) {
      const dev = `qg-${short(r.gateway.id)}`;
      port(r.gateway, dev);
      for (const f of s.floatingips) if (f.router_id === r.id) addrs.push(`addr add ${f.floating_ip_address}/32 brd ${f.floating_ip_address} scope global dev ${dev}`);
      const gw = nets.get(r.gateway.network_id)!.subnets[0]!.gateway_ip;
      if (gw) addrs.push(`route replace default via ${gw} dev ${dev}`);
    }
    out += heredoc(`ip -n ${ns} -batch -`, [...cmds, ...addrs]);
    const table = rules.get(ns);
    if (table === undefined) throw new Error(`no iptables rules captured for ${ns}`);
    out += heredoc(`ip netns exec ${ns} iptables-restore`, table.trimEnd().split('\n'));
    out += `ip netns exec ${ns} sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.promote_secondaries=1\n`;
  }
  return out;
}

/** Read script: per router namespace one iptables-save and one `ip -j addr`; one `ip -j addr` of the host namespace. */
export function floorReadScript(s: State, hostNs: string): string {
  const ns = s.routers.filter((r) => r.admin_state_up).map((r) => `qrouter-${r.id}`);
  return `#!/bin/bash
set -euo pipefail
ip -n ${hostNs} -j addr show >/dev/null
for ns in ${ns.join(' ')}; do
  ip netns exec "$ns" iptables-save >/dev/null
  ip -n "$ns" -j addr show >/dev/null
done
`;
}

/** Commands of an `l3ctl -v` run (stderr `+ argv  (ms, exit n)` lines). */
export function verboseCommands(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('+ '))
    .map((l) => l.slice(2).replace(/\s+\(\d+(\.\d+)? ms, exit -?\d+\)$/, ''));
}

/** True for a command that only reads kernel state (the dry-run tests' rule). Anything not recognised counts as mutating. */
export const isReadOnly = (cmd: string): boolean => isReadLine(`+ ${cmd}`);
