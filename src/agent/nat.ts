// Our iptables section (filter + nat) for one router namespace, rebuilt whole
// from the store on every pass. Pure: it only generates rules, in the exact
// text that `iptables-save` prints back (checked on iptables 1.8.9
// nf_tables), so a save after a restore compares equal and the next pass
// restores nothing. Parsing the save is linux/iptables.ts; the comparison is
// the planner's.
import { isIPv4, networkOf, parseCidr, toInt } from '../model/addr.js';
import { chain } from '../model/names.js';
import { metadataRules } from './metadata-rules.js';
import { TABLES, emptySection, isOurChain, targetOf, type Section, type TableName } from '../linux/iptables.js';

export interface NatInput {
  gatewayDevice: string | null;
  gatewayIp: string | null;
  internalCidrs: string[];
  floatingIps: { fip: string; fixed: string }[];
  /** The metadata proxy's port, or null (off, or no internal port to serve). */
  metadataPort: number | null;
  /** `--random-fully` on every SNAT rule (use_random_fully and an iptables that has it). */
  randomFully: boolean;
  /**
   * The router shares a namespace with other traffic (use_namespaces false):
   * every rule must match only traffic of our devices, so the host's own NAT
   * (Docker, libvirt MASQUERADE) keeps working.
   */
  shared: boolean;
}

const BUILTIN_JUMPS: Record<TableName, [string, string[]][]> = {
  filter: [
    ['INPUT', ['INPUT']],
    ['FORWARD', ['filter-top', 'FORWARD']],
    ['OUTPUT', ['filter-top', 'OUTPUT']],
  ],
  nat: [
    ['PREROUTING', ['PREROUTING']],
    ['OUTPUT', ['OUTPUT']],
    ['POSTROUTING', ['POSTROUTING', 'postrouting-bottom']],
  ],
};

const OUR_CHAINS: Record<TableName, string[]> = {
  filter: ['INPUT', 'OUTPUT', 'FORWARD', 'local', 'filter-top'],
  nat: ['PREROUTING', 'OUTPUT', 'POSTROUTING', 'snat', 'float-snat', 'postrouting-bottom'],
};

const DEVICE_RE = /^[A-Za-z0-9_.-]{1,15}$/;

function checkIp(what: string, ip: string): void {
  if (!isIPv4(ip)) throw new Error(`nat: ${what} is not an IPv4 address: ${JSON.stringify(ip)}`);
}

export { emptySection };

/** Our section as the store wants it. */
export function desiredSection(input: NatInput): Section {
  const s = emptySection();
  for (const t of TABLES) {
    for (const c of OUR_CHAINS[t]) s[t].chains[chain(c)] = [];
    for (const [builtin, targets] of BUILTIN_JUMPS[t]) {
      s[t].jumps[builtin] = targets.map((c, i) => ({ position: i + 1, rule: `-A ${builtin} -j ${chain(c)}` }));
    }
  }
  const add = (t: TableName, c: string, spec: string) => s[t].chains[chain(c)]!.push(`-A ${chain(c)} ${spec}`);

  add('filter', 'filter-top', `-j ${chain('local')}`);
  add('nat', 'postrouting-bottom', `-j ${chain('snat')}`);
  // Always first in snat: without it floating IPs lose their SNAT (bug 1218040).
  add('nat', 'snat', `-j ${chain('float-snat')}`);

  if (input.metadataPort !== null) {
    // Only instances reach the proxy: REDIRECT from internal ports, the port dropped for the rest.
    const m = metadataRules(input.metadataPort);
    s.filter.chains[chain('INPUT')]!.push(...m.filter);
    s.nat.chains[chain('PREROUTING')]!.push(...m.nat);
  }

  const gw = input.gatewayDevice;
  if (gw !== null) {
    if (!DEVICE_RE.test(gw)) throw new Error(`nat: bad gateway device ${JSON.stringify(gw)}`);
    if (input.gatewayIp === null) throw new Error(`nat: gateway ${gw} has no IPv4 address`);
    checkIp('gateway IP', input.gatewayIp);
    const rf = input.randomFully ? ' --random-fully' : '';
    // In a shared namespace only what leaves through our gateway is ours to NAT.
    const out = input.shared ? `-o ${gw} ` : '';
    add('nat', 'POSTROUTING', input.shared ? `! -i ${gw} -o qr-+ -m conntrack ! --ctstate DNAT -j ACCEPT` : `! -i ${gw} ! -o ${gw} -m conntrack ! --ctstate DNAT -j ACCEPT`);
    const cidrs = input.internalCidrs.map((c) => {
      // A non-canonical CIDR would be saved differently and restored every pass.
      if (!parseCidr(c) || networkOf(c) !== c) throw new Error(`nat: not a canonical network CIDR: ${JSON.stringify(c)}`);
      return c;
    });
    cidrs.sort(byCidr);
    for (const c of [...new Set(cidrs)]) add('nat', 'snat', `-s ${c} ${out}-j SNAT --to-source ${input.gatewayIp}${rf}`);
    // Neutron's fix of a Grizzly defect: networks behind an extra route leave NATed too.
    add('nat', 'snat', `-o ${gw} -j SNAT --to-source ${input.gatewayIp}${rf}`);

    const fips = [...input.floatingIps];
    for (const f of fips) {
      checkIp('floating IP', f.fip);
      checkIp('fixed IP', f.fixed);
    }
    fips.sort((a, b) => toInt(a.fip) - toInt(b.fip) || toInt(a.fixed) - toInt(b.fixed));
    for (const { fip, fixed } of fips) {
      add('nat', 'PREROUTING', `-d ${fip}/32 -j DNAT --to-destination ${fixed}`);
      add('nat', 'OUTPUT', `-d ${fip}/32 -j DNAT --to-destination ${fixed}`);
      add('nat', 'float-snat', `-s ${fixed}/32 ${out}-j SNAT --to-source ${fip}${rf}`);
    }
  }
  checkSection(s);
  return s;
}

function byCidr(a: string, b: string): number {
  const pa = parseCidr(a)!;
  const pb = parseCidr(b)!;
  return toInt(pa.addr) - toInt(pb.addr) || pa.prefix - pb.prefix;
}

/**
 * A desired section must be generated cleanly: duplicates would be saved
 * twice and never compare equal, so they are a generator bug, not weeded out.
 */
export function checkSection(s: Section): void {
  for (const t of TABLES) {
    for (const [c, rules] of Object.entries(s[t].chains)) {
      if (!isOurChain(c) || c.length > 28) throw new Error(`nat: not one of our chain names: ${c}`);
      const seen = new Set<string>();
      for (const r of rules) {
        if (!r.startsWith(`-A ${c} `)) throw new Error(`nat: rule ${JSON.stringify(r)} is not in chain ${c}`);
        if (seen.has(r)) throw new Error(`nat: duplicated desired rule in ${t}: ${r}`);
        seen.add(r);
      }
    }
    for (const [b, jumps] of Object.entries(s[t].jumps)) {
      if (isOurChain(b)) throw new Error(`nat: ${b} is not a built-in chain`);
      const seen = new Set<string>();
      jumps.forEach((j, i) => {
        const target = targetOf(j.rule);
        if (!j.rule.startsWith(`-A ${b} `) || target === null || !(target in s[t].chains)) {
          throw new Error(`nat: bad jump in ${t} ${b}: ${j.rule}`);
        }
        if (j.position !== i + 1) throw new Error(`nat: jump ${j.rule} must be at position ${i + 1}`);
        if (seen.has(j.rule)) throw new Error(`nat: duplicated desired rule in ${t}: ${j.rule}`);
        seen.add(j.rule);
      });
    }
  }
}

/** A rule of our section as one line naming its table: `-t nat -A l3ctl-snat …`. */
export const ruleLine = (t: TableName, rule: string) => `-t ${t} ${rule}`;
export const chainLine = (t: TableName, c: string) => `-t ${t} -N ${c}`;
export const jumpLine = (t: TableName, builtin: string, j: { position: number; rule: string }) => `-t ${t} -I ${builtin} ${j.position}${j.rule.slice(`-A ${builtin}`.length)}`;

/** Our section as lines, table first: jumps, then each chain and its rules (router show, tests). */
export function sectionLines(s: Section): string[] {
  const sorted = (o: Record<string, unknown>) => Object.keys(o).sort();
  return TABLES.flatMap((t) => [
    ...sorted(s[t].jumps).flatMap((b) => s[t].jumps[b]!.map((j) => jumpLine(t, b, j))),
    ...sorted(s[t].chains).flatMap((c) => [chainLine(t, c), ...s[t].chains[c]!.map((r) => ruleLine(t, r))]),
  ]);
}
