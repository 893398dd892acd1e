// The iptables half of the fake system (fakesys.ts): the tables of one
// network namespace, `iptables-save -c` rendered as iptables 1.8.9
// (nf_tables) prints it, and `iptables-restore --noflush --counters`
// executed against those tables the way the kernel does (checked on this
// machine's kernel; see the report in the commit that added this file):
//
// - a table is one transaction: committed whole at COMMIT or not at all; a
//   failure leaves the tables committed before it in place;
// - a declared user chain (`:c - [0:0]`) is created or flushed, an undeclared
//   one keeps its rules and their counters;
// - `[p:b]` before a rule sets its counters; others start at [0:0];
// - rules are stored as iptables-save prints them back (addresses with /32,
//   any-address dropped, -s -d -i -o -p first, the implicit `-m tcp`), so a
//   generator that writes another form never compares equal, as on a kernel;
// - `-D` of a rule that is not there, `-I` past the end, `-X` of a chain that
//   has rules or is still jumped to, a jump to a chain that does not exist,
//   NAT targets outside the nat table or reached from a hook that does not
//   allow them, and jump loops are refused, with iptables' own messages,
//   exit codes and line numbers (nf_tables reports a missing jump target at
//   the COMMIT line, a hook or loop error at the line that closed the path).
import { networkOf, parseCidr, isIPv4 } from '../../src/model/addr.js';

export type TableKind = 'raw' | 'mangle' | 'filter' | 'nat';

/** The order iptables-nft-save prints tables in. */
export const SAVE_ORDER: TableKind[] = ['mangle', 'raw', 'filter', 'nat'];

export const BUILTIN_CHAINS: Record<TableKind, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

export interface FakeRule {
  /** As iptables-save prints it, without the `-A CHAIN ` in front. */
  spec: string;
  packets: number;
  bytes: number;
  /** The payload line that added it, during the restore that adds it. */
  line?: number;
}

export interface FakeChain {
  name: string;
  builtin: boolean;
  policy: string;
  packets: number;
  bytes: number;
  rules: FakeRule[];
}

export interface FakeTable {
  kind: TableKind;
  chains: Map<string, FakeChain>;
}

/** A refusal of iptables-restore: what it prints and its exit status. */
export class RestoreError extends Error {
  constructor(
    readonly stderr: string,
    readonly exitCode: number,
  ) {
    super(stderr);
  }
}

/** A payload line the fake has no model for: the test fails. */
export class RestoreUnmodelled extends Error {}

export function newTable(kind: TableKind): FakeTable {
  const chains = new Map<string, FakeChain>();
  for (const c of BUILTIN_CHAINS[kind]) chains.set(c, { name: c, builtin: true, policy: 'ACCEPT', packets: 0, bytes: 0, rules: [] });
  return { kind, chains };
}

export function cloneTable(t: FakeTable): FakeTable {
  const chains = new Map<string, FakeChain>();
  for (const [n, c] of t.chains) chains.set(n, { ...c, rules: c.rules.map((r) => ({ spec: r.spec, packets: r.packets, bytes: r.bytes })) });
  return { kind: t.kind, chains };
}

/** Chains in save order: built-ins in their order, then user chains by strcmp. */
export function chainsInOrder(t: FakeTable): FakeChain[] {
  const builtins = BUILTIN_CHAINS[t.kind].map((n) => t.chains.get(n)!);
  const users = [...t.chains.values()].filter((c) => !c.builtin).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...builtins, ...users];
}

/** Split on spaces outside double quotes. */
export function tokens(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && quoted && i + 1 < s.length) cur += ch + s[++i];
    else if (ch === '"') {
      quoted = !quoted;
      cur += ch;
    } else if (ch === ' ' && !quoted) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

const BASE: Record<string, string> = {
  '-s': '-s', '--source': '-s', '--src': '-s',
  '-d': '-d', '--destination': '-d', '--dst': '-d',
  '-i': '-i', '--in-interface': '-i',
  '-o': '-o', '--out-interface': '-o',
  '-p': '-p', '--protocol': '-p',
};
const BASE_ORDER = ['-s', '-d', '-i', '-o', '-p'];
const PORT_OPTS = new Set(['--dport', '--sport', '--destination-port', '--source-port', '--tcp-flags', '--syn']);

function canonicalAddr(v: string): string {
  const withLen = v.includes('/') ? v : `${v}/32`;
  const p = parseCidr(withLen);
  if (!p) throw new RestoreError(`iptables-restore v1.8.9 (nf_tables): host/network \`${v}' not found`, 2);
  return networkOf(withLen);
}

/** A rule's match and target part as iptables-save prints it back. */
export function canonicalSpec(spec: string): string {
  const tk = tokens(spec);
  const base = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < tk.length; i++) {
    const neg = tk[i] === '!' && i + 1 < tk.length && tk[i + 1]! in BASE;
    const opt = neg ? tk[++i]! : tk[i]!;
    const key = BASE[opt];
    if (!key) {
      rest.push(tk[i]!);
      continue;
    }
    let v = tk[++i];
    if (v === undefined) throw new RestoreError(`iptables-restore v1.8.9 (nf_tables): option "${opt}" requires an argument`, 2);
    if (key === '-s' || key === '-d') {
      v = canonicalAddr(v);
      if (v === '0.0.0.0/0' && !neg) continue;
    }
    base.set(key, `${neg ? '! ' : ''}${key} ${v}`);
  }
  const proto = base.get('-p')?.split(' ').at(-1);
  if ((proto === 'tcp' || proto === 'udp') && !rest.some((t, i) => t === '-m' && rest[i + 1] === proto)) {
    const at = rest.findIndex((t) => PORT_OPTS.has(t));
    if (at >= 0) rest.splice(at, 0, '-m', proto);
  }
  return [...BASE_ORDER.filter((k) => base.has(k)).map((k) => base.get(k)!), ...rest].join(' ');
}

/** The `-j`/`-g` target of a rule spec, or null. */
export function targetOfSpec(spec: string): string | null {
  const tk = tokens(spec);
  for (let i = 0; i < tk.length - 1; i++) if (tk[i] === '-j' || tk[i] === '-g') return tk[i + 1]!;
  return null;
}

/** Targets that are extensions, not chains; NAT ones only in nat, and only from some hooks. */
const EXTENSION_TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'QUEUE', 'REJECT', 'LOG', 'MARK', 'CONNMARK', 'CT', 'NOTRACK', 'TCPMSS', 'CHECKSUM', 'DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT']);
const NAT_HOOKS: Record<string, Set<string>> = {
  DNAT: new Set(['PREROUTING', 'OUTPUT']),
  REDIRECT: new Set(['PREROUTING', 'OUTPUT']),
  SNAT: new Set(['POSTROUTING', 'INPUT']),
  MASQUERADE: new Set(['POSTROUTING']),
};

const CHAIN_NAME_MAX = 28;

function nftError(line: number, what: string, errno: string, chain: string): RestoreError {
  return new RestoreError(`iptables-restore v1.8.9 (nf_tables): \nline ${line}: ${what} failed (${errno}): ${what.startsWith('CHAIN') ? 'chain' : 'rule in chain'} ${chain}`, 4);
}
const legacyError = (line: number, why: string) => new RestoreError(`iptables-restore: line ${line} failed: ${why}.`, 1);
const paramError = (line: number, why: string) =>
  new RestoreError(`iptables-restore v1.8.9 (nf_tables): ${why}\nError occurred at line: ${line}\nTry \`iptables-restore -h' or 'iptables-restore --help' for more information.`, 2);

export interface RestoreOptions {
  /** `-c`/`--counters`: `[p:b]` prefixes set counters. */
  counters: boolean;
  /** Operator mode: also -F, -N and -D by number (l3ctl never writes them). */
  operator?: boolean;
  /** A payload line to refuse, as if the kernel had (fault injection): its 1-based number. */
  failAt?: { line: number; stderr: string; exitCode: number } | null;
}

/**
 * Runs a restore payload against `tables` (changed in place, table by
 * table). Throws RestoreError as iptables-restore fails, RestoreUnmodelled
 * on a line the fake does not know.
 */
export function restore(tables: Map<TableKind, FakeTable>, payload: string, opts: RestoreOptions): void {
  const lines = payload.split('\n');
  let work: FakeTable | null = null;
  let usedJumps: { target: string; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const text = lines[i]!.replace(/\r$/, '').trim();
    if (text === '' || text.startsWith('#')) continue;
    if (opts.failAt && opts.failAt.line === n) throw new RestoreError(opts.failAt.stderr, opts.failAt.exitCode);
    if (text.startsWith('*')) {
      if (work) throw new RestoreError(`iptables-restore: COMMIT expected at line ${n}`, 1);
      const kind = text.slice(1) as TableKind;
      if (!(kind in BUILTIN_CHAINS)) throw new RestoreUnmodelled(`table ${text}`);
      work = cloneTable(tables.get(kind) ?? newTable(kind));
      usedJumps = [];
      continue;
    }
    if (!work) throw new RestoreUnmodelled(`line ${n} outside a table: ${text}`);
    if (text === 'COMMIT') {
      // nf_tables resolves jump targets when the batch is committed.
      for (const j of usedJumps) if (!work.chains.has(j.target)) throw paramError(n, `Chain '${j.target}' does not exist`);
      checkHooks(work);
      for (const c of work.chains.values()) for (const r of c.rules) delete r.line;
      tables.set(work.kind, work);
      work = null;
      continue;
    }
    if (text.startsWith(':')) {
      const m = /^:(\S+) (\S+)(?: \[(\d+):(\d+)\])?$/.exec(text);
      if (!m) throw new RestoreUnmodelled(`chain line ${n}: ${text}`);
      const [, name, policy, p, b] = m;
      const builtin = BUILTIN_CHAINS[work.kind].includes(name!);
      if (builtin) {
        if (policy === '-') throw paramError(n, `Can't set policy \`-' on built-in chain \`${name}'`);
        const c = work.chains.get(name!)!;
        c.policy = policy!;
        if (opts.counters && p !== undefined) Object.assign(c, { packets: Number(p), bytes: Number(b) });
        continue;
      }
      if (policy !== '-') throw paramError(n, `Can't set policy \`${policy}' on non-builtin chain \`${name}'`);
      if (name!.length > CHAIN_NAME_MAX) throw paramError(n, `chain name \`${name}' too long (must be under 29 chars)`);
      const c = work.chains.get(name!);
      // --noflush: a declared chain is flushed, its counters with it.
      if (c) c.rules = [];
      else work.chains.set(name!, { name: name!, builtin: false, policy: '-', packets: 0, bytes: 0, rules: [] });
      continue;
    }
    const cm = /^\[(\d+):(\d+)\]\s+(.*)$/.exec(text);
    const cmd = cm ? cm[3]! : text;
    const counters = opts.counters && cm ? { packets: Number(cm[1]), bytes: Number(cm[2]) } : { packets: 0, bytes: 0 };
    const tk = tokens(cmd);
    const op = tk[0];
    const chainName = tk[1];
    if (!chainName) throw new RestoreUnmodelled(`line ${n}: ${text}`);
    const chain = work.chains.get(chainName);
    if (op === '-A' || op === '-I') {
      let specTokens = tk.slice(2);
      let pos = 1;
      if (op === '-I' && /^\d+$/.test(specTokens[0] ?? '')) {
        pos = Number(specTokens[0]);
        specTokens = specTokens.slice(1);
      }
      const spec = canonicalSpec(specTokens.join(' '));
      const target = targetOfSpec(spec);
      if (target !== null && !EXTENSION_TARGETS.has(target)) usedJumps.push({ target, line: n });
      if (!chain) throw legacyError(n, 'No chain/target/match by that name');
      if (target && target in NAT_HOOKS && work.kind !== 'nat') throw nftError(n, op === '-A' ? 'RULE_APPEND' : 'RULE_INSERT', 'Invalid argument', chainName);
      if (target && BUILTIN_CHAINS[work.kind].includes(target)) throw paramError(n, `Chain '${target}' does not exist`);
      const rule: FakeRule = { spec, ...counters, line: n };
      if (op === '-A') chain.rules.push(rule);
      else {
        if (pos < 1 || pos > chain.rules.length + 1) throw legacyError(n, 'Index of insertion too big');
        chain.rules.splice(pos - 1, 0, rule);
      }
      continue;
    }
    if (op === '-D') {
      const rest = tk.slice(2);
      if (rest.length === 1 && /^\d+$/.test(rest[0]!) && opts.operator) {
        if (!chain) throw legacyError(n, 'No chain/target/match by that name');
        const k = Number(rest[0]);
        if (k < 1 || k > chain.rules.length) throw legacyError(n, 'Index of deletion too big');
        chain.rules.splice(k - 1, 1);
        continue;
      }
      const spec = canonicalSpec(rest.join(' '));
      const target = targetOfSpec(spec);
      if (target !== null && !EXTENSION_TARGETS.has(target) && !work.chains.has(target)) {
        const commit = lines.findIndex((l, k) => k > i && l.trim() === 'COMMIT');
        throw paramError(commit < 0 ? lines.length : commit + 1, `Chain '${target}' does not exist`);
      }
      if (!chain) throw legacyError(n, 'No chain/target/match by that name');
      const k = chain.rules.findIndex((r) => r.spec === spec);
      if (k < 0) throw legacyError(n, 'Bad rule (does a matching rule exist in that chain?)');
      chain.rules.splice(k, 1);
      continue;
    }
    if (op === '-X' && tk.length === 2) {
      if (!chain || chain.builtin) throw legacyError(n, 'No chain/target/match by that name');
      const referenced = [...work.chains.values()].some((c) => c.rules.some((r) => targetOfSpec(r.spec) === chainName));
      if (chain.rules.length || referenced) throw nftError(n, 'CHAIN_DEL', 'Device or resource busy', chainName);
      work.chains.delete(chainName);
      continue;
    }
    if (opts.operator && op === '-F' && tk.length === 2) {
      if (!chain) throw legacyError(n, 'No chain/target/match by that name');
      chain.rules = [];
      continue;
    }
    if (opts.operator && op === '-N' && tk.length === 2) {
      if (chain) throw legacyError(n, 'Chain already exists');
      work.chains.set(chainName, { name: chainName, builtin: false, policy: '-', packets: 0, bytes: 0, rules: [] });
      continue;
    }
    throw new RestoreUnmodelled(`line ${n}: ${text}`);
  }
  if (work) throw new RestoreError(`iptables-restore: COMMIT expected at line ${lines.length}`, 1);
}

/**
 * What the kernel checks when a rule is linked to a hook: NAT targets only
 * from the hooks that allow them, no jump loops. Reported at the payload
 * line that completed the offending path, as nf_tables does.
 */
function checkHooks(t: FakeTable): void {
  const jumpsOf = (c: FakeChain) => c.rules.filter((r) => {
    const x = targetOfSpec(r.spec);
    return x !== null && t.chains.has(x) && !t.chains.get(x)!.builtin;
  });
  for (const hook of BUILTIN_CHAINS[t.kind]) {
    // Depth-first along jumps, with the latest payload line on the path.
    const walk = (c: FakeChain, path: string[], latest: number): void => {
      for (const r of c.rules) {
        const line = Math.max(latest, r.line ?? 0);
        const target = targetOfSpec(r.spec);
        const allowed = target ? NAT_HOOKS[target] : undefined;
        if (allowed && !allowed.has(hook) && line > 0) throw nftError(line, 'RULE_INSERT', 'Invalid argument', c.name);
      }
      for (const r of jumpsOf(c)) {
        const next = t.chains.get(targetOfSpec(r.spec)!)!;
        const line = Math.max(latest, r.line ?? 0);
        if (path.includes(next.name)) throw nftError(line || 1, 'RULE_INSERT', 'Too many links', c.name);
        walk(next, [...path, next.name], line);
      }
    };
    walk(t.chains.get(hook)!, [hook], 0);
  }
}

const DATE = 'Tue Nov 24 16:06:06 2026';

/** `iptables-save [-c] [-t table]` of these tables, as iptables-nft prints it. */
export function save(tables: Map<TableKind, FakeTable>, version: string, opts: { counters: boolean; table?: TableKind }): string {
  const out: string[] = [];
  for (const kind of SAVE_ORDER) {
    const t = tables.get(kind);
    if (!t || (opts.table && opts.table !== kind)) continue;
    out.push(`# Generated by iptables-save ${version} on ${DATE}`, `*${kind}`);
    const chains = chainsInOrder(t);
    for (const c of chains) out.push(`:${c.name} ${c.builtin ? c.policy : '-'} [${c.builtin ? `${c.packets}:${c.bytes}` : '0:0'}]`);
    for (const c of chains) for (const r of c.rules) out.push(`${opts.counters ? `[${r.packets}:${r.bytes}] ` : ''}-A ${c.name} ${r.spec}`);
    out.push('COMMIT', `# Completed on ${DATE}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** Is `s` an IPv4 address (for conntrack arguments and the like)? */
export const isAddr = (s: string) => isIPv4(s);
