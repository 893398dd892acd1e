// Router advertisements of one router: the radvd config (pure text) with one
// interface block per internal port that has IPv6 subnets with an RA mode,
// the flags following Neutron's meaning of each mode.
import ipaddr from 'ipaddr.js';
import type { Ipv6Mode } from '../model/types.js';
import { daemonSpec, type DaemonSpec } from './daemon.js';
import { byText } from '../model/order.js';

export interface RaSubnet {
  /** Canonical IPv6 network CIDR: 2001:db8:1::/64. */
  cidr: string;
  /** null: not advertised (addresses come from elsewhere). */
  raMode: Ipv6Mode | null;
  /** Advertised as RDNSS for SLAAC subnets (at most 3 in all, as Neutron). */
  dnsNameservers?: string[];
}

export interface RaPort {
  /** The qr- device in the router namespace. */
  device: string;
  subnets: RaSubnet[];
  /** The network's MTU; advertised when it is at least IPv6's minimum (1280). */
  mtu?: number;
}

export interface RaOptions {
  /** Seconds; Neutron's defaults are 30 and 100. */
  minInterval?: number;
  maxInterval?: number;
}

const MAX_RDNSS = 3;
const IPV6_MIN_MTU = 1280;
const DEVICE_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function checkPrefix(cidr: string, mode: Ipv6Mode): void {
  let addr: ipaddr.IPv6;
  let len: number;
  try {
    [addr, len] = ipaddr.IPv6.parseCIDR(cidr);
  } catch {
    throw new Error(`radvd: not an IPv6 CIDR: ${JSON.stringify(cidr)}`);
  }
  const net = ipaddr.IPv6.networkAddressFromCIDR(cidr);
  // Written as given: a non-canonical prefix would make the config differ from pass to pass.
  if (`${net.toRFC5952String()}/${len}` !== cidr || addr.toRFC5952String() !== net.toRFC5952String()) {
    throw new Error(`radvd: not a canonical IPv6 network CIDR: ${cidr} (expected ${net.toRFC5952String()}/${len})`);
  }
  // Hosts form SLAAC addresses from a 64-bit interface identifier.
  if (mode !== 'dhcpv6-stateful' && len !== 64) throw new Error(`radvd: ${mode} needs a /64 prefix, not ${cidr}`);
}

/** The radvd config for a router's ports, or null when no port has anything to advertise (no radvd then). */
export function radvdConfig(ports: RaPort[], opts: RaOptions = {}): string | null {
  const min = opts.minInterval ?? 30;
  const max = opts.maxInterval ?? 100;
  // radvd's own bounds (RFC 4861 6.2.1): it refuses to start outside them.
  if (!Number.isInteger(max) || max < 4 || max > 1800) throw new Error(`radvd: MaxRtrAdvInterval ${max} is not within 4..1800`);
  if (!Number.isInteger(min) || min < 3 || min > 0.75 * max) throw new Error(`radvd: MinRtrAdvInterval ${min} is not within 3..0.75*${max}`);

  const blocks: string[] = [];
  // Sorted, so that the same router always gives the same text and a pass with no change reloads nothing.
  for (const port of [...ports].sort((a, b) => byText(a.device, b.device))) {
    if (!DEVICE_RE.test(port.device)) throw new Error(`radvd: bad device name ${JSON.stringify(port.device)}`);
    const subnets = port.subnets.filter((s): s is RaSubnet & { raMode: Ipv6Mode } => s.raMode !== null).sort((a, b) => byText(a.cidr, b.cidr));
    if (subnets.length === 0) continue;
    for (const s of subnets) checkPrefix(s.cidr, s.raMode);
    const modes = new Set(subnets.map((s) => s.raMode));
    const dns = subnets.filter((s) => s.raMode === 'slaac').flatMap((s) => s.dnsNameservers ?? []).slice(0, MAX_RDNSS);
    for (const d of dns) if (!ipaddr.IPv6.isValid(d)) throw new Error(`radvd: not an IPv6 DNS server: ${d}`);

    const b = [`interface ${port.device}`, '{', '    AdvSendAdvert on;', `    MinRtrAdvInterval ${min};`, `    MaxRtrAdvInterval ${max};`];
    if (port.mtu !== undefined && port.mtu >= IPV6_MIN_MTU) b.push(`    AdvLinkMTU ${port.mtu};`);
    // Other-config: ask DHCPv6 for DNS and the like; managed: ask DHCPv6 for the address too.
    if (modes.has('dhcpv6-stateless')) b.push('    AdvOtherConfigFlag on;');
    if (modes.has('dhcpv6-stateful')) b.push('    AdvManagedFlag on;');
    if (dns.length) b.push(`    RDNSS ${dns.join(' ')} {};`);
    for (const s of subnets) {
      // Autonomous: hosts form their own address from the prefix (not with stateful DHCPv6).
      const auto = s.raMode === 'dhcpv6-stateful' ? 'off' : 'on';
      b.push(`    prefix ${s.cidr}`, '    {', '        AdvOnLink on;', `        AdvAutonomous ${auto};`, '    };');
    }
    b.push('};');
    blocks.push(b.join('\n'));
  }
  if (blocks.length === 0) return null;
  return `# Router advertisements, written by l3ctl: edits are overwritten.\n${blocks.join('\n\n')}\n`;
}

/** The radvd of one router as daemon.ts runs it, or null when it needs none (then stop any). */
export function radvdSpec(ns: string | null, dir: string, ports: RaPort[], opts: RaOptions = {}): DaemonSpec | null {
  const config = radvdConfig(ports, opts);
  return config === null ? null : daemonSpec('radvd', ns, dir, config);
}
