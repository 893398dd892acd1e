// Our iptables section (filter + nat) for one router namespace: desired rules,
// the parsed `iptables-save`, and the `iptables-restore --noflush` payload
// between them. Pure: no I/O. Rules are generated in the exact text that
// `iptables-save` prints back (checked on iptables 1.8.9 nf_tables), so a
// save after a restore compares equal and the next pass restores nothing.
import { isIPv4, networkOf, parseCidr, toInt } from '../model/addr.js';
import { CHAIN_PREFIX, chain } from '../model/names.js';

export interface NatInput {
  gatewayDevice: string | null;
  gatewayIp: string | null;
  internalCidrs: string[];
  floatingIps: { fip: string; fixed: string }[];
  metadataPort: number | null;
}

export type TableName = 'filter' | 'nat';
export const TABLES: readonly TableName[] = ['filter', 'nat'];

/** A rule of ours in a built-in chain, with its 1-based position there. */
export interface Jump {
  position: number;
  /** As `iptables-save` prints it: `-A POSTROUTING -j l3ctl-snat`. */
  rule: string;
}

export interface TableSection {
  /** Each of our chains (`l3ctl-…`) with its rules in order, as `-A chain …` lines. */
  chains: Record<string, string[]>;
  /** Built-in chain -> our rules in it. Desired: positions 1..n. */
  jumps: Record<string, Jump[]>;
}

export type Section = Record<TableName, TableSection>;

export interface ParsedSave {
  ours: Section;
  /** Every rule of every built-in chain (ours and foreign), in order. */
  builtinRules: Record<TableName, Record<string, string[]>>;
  /** User chains that are not ours, in save order. */
  foreignChains: Record<TableName, string[]>;
  /** Rules in foreign user chains that jump into one of our chains. */
  foreignRefs: Record<TableName, string[]>;
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

/** Our section as the store wants it, rebuilt whole on every pass. */
/** No chain or jump of ours at all: what a torn-down shared namespace wants. */
export function emptySection(): Section {
  return { filter: { chains: {}, jumps: {} }, nat: { chains: {}, jumps: {} } };
}

export function desiredSection(input: NatInput): Section {
  const s: Section = { filter: emptyTable(), nat: emptyTable() };
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
    const p = input.metadataPort;
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`nat: bad metadata port ${p}`);
    // Saved form of `-s 0.0.0.0/0 -d 127.0.0.1 …`: save drops the any-source and adds /32.
    add('filter', 'INPUT', `-d 127.0.0.1/32 -p tcp -m tcp --dport ${p} -j ACCEPT`);
    add('nat', 'PREROUTING', `-d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports ${p}`);
  }

  const gw = input.gatewayDevice;
  if (gw !== null) {
    if (!DEVICE_RE.test(gw)) throw new Error(`nat: bad gateway device ${JSON.stringify(gw)}`);
    if (input.gatewayIp === null) throw new Error(`nat: gateway ${gw} has no IPv4 address`);
    checkIp('gateway IP', input.gatewayIp);
    add('nat', 'POSTROUTING', `! -i ${gw} ! -o ${gw} -m conntrack ! --ctstate DNAT -j ACCEPT`);
    const cidrs = input.internalCidrs.map((c) => {
      // A non-canonical CIDR would be saved differently and restored every pass.
      if (!parseCidr(c) || networkOf(c) !== c) throw new Error(`nat: not a canonical network CIDR: ${JSON.stringify(c)}`);
      return c;
    });
    cidrs.sort(byCidr);
    for (const c of cidrs) add('nat', 'snat', `-s ${c} -j SNAT --to-source ${input.gatewayIp}`);

    const fips = [...input.floatingIps];
    for (const f of fips) {
      checkIp('floating IP', f.fip);
      checkIp('fixed IP', f.fixed);
    }
    fips.sort((a, b) => toInt(a.fip) - toInt(b.fip) || toInt(a.fixed) - toInt(b.fixed));
    for (const { fip, fixed } of fips) {
      add('nat', 'PREROUTING', `-d ${fip}/32 -j DNAT --to-destination ${fixed}`);
      add('nat', 'OUTPUT', `-d ${fip}/32 -j DNAT --to-destination ${fixed}`);
      add('nat', 'float-snat', `-s ${fixed}/32 -j SNAT --to-source ${fip}`);
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

function emptyTable(): TableSection {
  return { chains: {}, jumps: {} };
}

const isOurs = (chainName: string) => chainName.startsWith(CHAIN_PREFIX);

/**
 * A desired section must be generated cleanly: duplicates would be saved
 * twice and never compare equal, so they are a generator bug, not weeded out.
 */
function checkSection(s: Section): void {
  for (const t of TABLES) {
    for (const [c, rules] of Object.entries(s[t].chains)) {
      if (!isOurs(c) || c.length > 28) throw new Error(`nat: not one of our chain names: ${c}`);
      const seen = new Set<string>();
      for (const r of rules) {
        if (!r.startsWith(`-A ${c} `)) throw new Error(`nat: rule ${JSON.stringify(r)} is not in chain ${c}`);
        if (seen.has(r)) throw new Error(`nat: duplicated desired rule in ${t}: ${r}`);
        seen.add(r);
      }
    }
    for (const [b, jumps] of Object.entries(s[t].jumps)) {
      if (isOurs(b)) throw new Error(`nat: ${b} is not a built-in chain`);
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

/** Split a rule on spaces outside double quotes (iptables-save quotes comments). */
function tokens(rule: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < rule.length; i++) {
    const ch = rule[i]!;
    if (ch === '\\' && quoted && i + 1 < rule.length) {
      cur += ch + rule[++i];
    } else if (ch === '"') {
      quoted = !quoted;
      cur += ch;
    } else if (ch === ' ' && !quoted) {
      if (cur) out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** The `-j`/`-g` target of a rule line, or null. */
function targetOf(rule: string): string | null {
  const tk = tokens(rule);
  for (let i = 0; i < tk.length - 1; i++) if (tk[i] === '-j' || tk[i] === '-g') return tk[i + 1]!;
  return null;
}

/** Parse full `iptables-save` output (all tables); only filter and nat hold our section. */
export function parseSave(saveText: string): ParsedSave {
  const parsed: ParsedSave = {
    ours: { filter: emptyTable(), nat: emptyTable() },
    builtinRules: { filter: {}, nat: {} },
    foreignChains: { filter: [], nat: [] },
    foreignRefs: { filter: [], nat: [] },
  };
  let table: string | null = null;
  let builtins = new Set<string>();
  let users = new Set<string>();
  const lines = saveText.split('\n');
  for (const [idx, raw] of lines.entries()) {
    const fail = (why: string): never => {
      throw new Error(`iptables-save line ${idx + 1}: ${why}: ${JSON.stringify(raw)}`);
    };
    // Normalise once: CR, trailing spaces, comments, `-c` counters.
    const line = raw.replace(/\r$/, '').trimEnd().replace(/^\[\d+:\d+\]\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (table !== null) fail('table not committed');
      table = line.slice(1);
      builtins = new Set();
      users = new Set();
      continue;
    }
    if (table === null) fail('outside a table');
    if (line === 'COMMIT') {
      table = null;
      continue;
    }
    const t = table === 'filter' || table === 'nat' ? (table as TableName) : null;
    if (line.startsWith(':')) {
      const m = /^:(\S+) (\S+)(?: \[\d+:\d+\])?$/.exec(line);
      if (!m) fail('bad chain line');
      const name = m![1]!;
      const policy = m![2]!;
      if (policy === '-') users.add(name);
      else builtins.add(name);
      if (!t) continue;
      if (policy === '-') {
        if (isOurs(name)) parsed.ours[t].chains[name] = [];
        else parsed.foreignChains[t].push(name);
      } else {
        parsed.builtinRules[t][name] = [];
      }
      continue;
    }
    const m = /^-A (\S+)(?: |$)/.exec(line);
    if (!m) fail('unexpected line');
    const c = m![1]!;
    if (!builtins.has(c) && !users.has(c)) fail(`rule in undeclared chain ${c}`);
    if (!t) continue;
    const target = targetOf(line);
    if (builtins.has(c)) {
      const rules = parsed.builtinRules[t][c]!;
      rules.push(line);
      if (target !== null && isOurs(target)) {
        (parsed.ours[t].jumps[c] ??= []).push({ position: rules.length, rule: line });
      }
    } else if (isOurs(c)) {
      parsed.ours[t].chains[c]!.push(line);
    } else if (target !== null && isOurs(target)) {
      parsed.foreignRefs[t].push(line);
    }
  }
  if (table !== null) throw new Error(`iptables-save: table ${table} not committed`);
  return parsed;
}

const sortedKeys = (o: Record<string, unknown>) => Object.keys(o).sort();

function renderTable(t: TableName, s: TableSection): string[] {
  const out: string[] = [];
  for (const b of sortedKeys(s.jumps)) {
    for (const j of s.jumps[b]!) out.push(`-t ${t} -I ${b} ${j.position}${j.rule.slice(`-A ${b}`.length)}`);
  }
  for (const c of sortedKeys(s.chains)) {
    out.push(`-t ${t} -N ${c}`);
    for (const r of s.chains[c]!) out.push(`-t ${t} ${r}`);
  }
  return out;
}

/**
 * Our section as iptables command lines, grouped by table then chain:
 * `-t nat -I POSTROUTING 1 -j l3ctl-POSTROUTING` (a jump and where it sits),
 * `-t nat -N l3ctl-snat`, `-t nat -A l3ctl-snat …`.
 */
export function renderSection(s: Section): string[] {
  return TABLES.flatMap((t) => renderTable(t, s[t]));
}

const sameLines = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Lines of `a` and `b` outside their longest common subsequence (so order changes show). */
function lineDiff(a: string[], b: string[]): { onlyA: string[]; onlyB: string[] } {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      onlyA.push(a[i++]!);
    } else {
      onlyB.push(b[j++]!);
    }
  }
  onlyA.push(...a.slice(i));
  onlyB.push(...b.slice(j));
  return { onlyA, onlyB };
}

/** Differences between desired and observed, as renderSection lines. */
export function diffSection(desired: Section, saveText: string): { missing: string[]; extra: string[] } {
  const observed = parseSave(saveText).ours;
  const { onlyA, onlyB } = lineDiff(renderSection(desired), renderSection(observed));
  return { missing: onlyA, extra: onlyB };
}

/** The `iptables-restore -w --noflush` payload that turns observed into desired, or null when our section is already equal (no restore must run then). */
export function restorePayload(desired: Section, saveText: string): string | null {
  checkSection(desired);
  const obs = parseSave(saveText);
  const out: string[] = [];
  for (const t of TABLES) {
    if (sameLines(renderTable(t, desired[t]), renderTable(t, obs.ours[t]))) continue;
    out.push(...tablePayload(t, desired[t], obs));
  }
  return out.length ? out.join('\n') + '\n' : null;
}

function tablePayload(t: TableName, want: TableSection, obs: ParsedSave): string[] {
  const have = obs.ours[t];
  const stale = sortedKeys(have.chains).filter((c) => !(c in want.chains));
  // Deleting such a chain would need the foreign rule gone: not ours to touch.
  for (const r of obs.foreignRefs[t]) {
    const target = targetOf(r);
    if (target !== null && stale.includes(target)) {
      throw new Error(`nat: stale chain ${target} (${t}) is still used by a rule that is not ours: ${r}`);
    }
  }
  const lines = [`*${t}`];
  // A declared chain is flushed under --noflush: every chain of ours is rewritten whole.
  for (const c of [...sortedKeys(want.chains), ...stale]) lines.push(`:${c} - [0:0]`);
  for (const c of sortedKeys(want.chains)) lines.push(...want.chains[c]!);
  const builtins = [...new Set([...Object.keys(want.jumps), ...Object.keys(have.jumps)])].sort();
  for (const b of builtins) {
    const w = want.jumps[b] ?? [];
    const h = have.jumps[b] ?? [];
    if (sameLines(w.map(jumpKey), h.map(jumpKey))) continue;
    // By rule text, not index: the index may shift if someone writes in between.
    for (const j of h) lines.push(`-D ${b}${j.rule.slice(`-A ${b}`.length)}`);
    for (const j of w) lines.push(`-I ${b} ${j.position}${j.rule.slice(`-A ${b}`.length)}`);
  }
  for (const c of stale) lines.push(`-X ${c}`);
  lines.push('COMMIT');
  return lines;
}

const jumpKey = (j: Jump) => `${j.position} ${j.rule}`;
