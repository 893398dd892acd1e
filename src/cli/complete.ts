// Tab completion fast path: `l3ctl __complete WORD… CURRENT` prints the
// candidates for CURRENT, one per line, as `value<TAB>description`; a single
// line `:files` asks the shell for file names instead.
//
// A tab press must feel instant: this walks the generated cmdtree.ts (no
// commander, and config keys from there too), reads the store with
// loadStateSync (JSON.parse, no lock, no valibot) and imports nothing else;
// it never spawns a program. Every module loaded costs startup time.
import type { Router, State } from '../model/types.js';
import { loadStateSync, resolveStorePath } from '../store/store.js';
import { CONFIG_KEYS, TREE } from './cmdtree.js';
import type { ArgSpec, CmdSpec, OptSpec } from './cmdtree-types.js';

export type Candidate = [value: string, description: string];
export const FILES = ':files';

interface Parsed {
  chain: CmdSpec[]; // program, noun, verb …
  positionals: string[];
  store?: string;
  pending?: OptSpec; // the option whose value is being typed
  afterDashDash: boolean;
  used: Set<OptSpec>;
}

function findOpt(chain: CmdSpec[], flag: string): OptSpec | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    const o = chain[i]!.options.find((x) => x.flags.includes(flag));
    if (o) return o;
  }
  return undefined;
}

const isStoreOpt = (o: OptSpec) => o.flags.includes('--store');

function parse(words: string[]): Parsed {
  const p: Parsed = { chain: [TREE], positionals: [], afterDashDash: false, used: new Set() };
  for (const w of words) {
    if (p.pending) {
      if (isStoreOpt(p.pending)) p.store = w;
      p.pending = undefined;
      continue;
    }
    if (p.afterDashDash) {
      p.positionals.push(w);
      continue;
    }
    if (w === '--') {
      p.afterDashDash = true;
      continue;
    }
    if (w.startsWith('-') && w !== '-') {
      const eq = w.indexOf('=');
      const flag = eq > 0 ? w.slice(0, eq) : w;
      const o = findOpt(p.chain, flag);
      if (o) {
        p.used.add(o);
        if (o.value && eq < 0) p.pending = o;
        else if (o.value && isStoreOpt(o)) p.store = w.slice(eq + 1);
      }
      continue;
    }
    const node = p.chain[p.chain.length - 1]!;
    const sub = p.positionals.length === 0 ? node.commands.find((c) => c.name === w || c.aliases?.includes(w)) : undefined;
    if (sub) p.chain.push(sub);
    else p.positionals.push(w);
  }
  return p;
}

function routerByRef(s: State, ref: string | undefined): Router | undefined {
  if (!ref) return undefined;
  const r = s.routers.find((x) => x.name === ref || x.id === ref.toLowerCase());
  if (r) return r;
  const hits = ref.length >= 4 ? s.routers.filter((x) => x.id.startsWith(ref.toLowerCase())) : [];
  return hits.length === 1 ? hits[0] : undefined;
}

function routerOf(p: Parsed, s: State): Router | undefined {
  return routerByRef(s, p.positionals[0]);
}

/** Live values from the store for one kind of value. */
function values(kind: string, p: Parsed, cur: string, load: () => State | null, choices?: string[]): Candidate[] | typeof FILES {
  const leaf = p.chain[p.chain.length - 1]!;
  switch (kind) {
    case 'choices':
      return (choices ?? []).map((c) => [c, '']);
    case 'file':
      return FILES;
    case 'column':
      return (leaf.columns ?? []).map((c) => [c, '']);
    case 'config-key':
      return CONFIG_KEYS.map((k) => [k.name, k.help]);
    case 'config-value': {
      const k = CONFIG_KEYS.find((x) => x.name === p.positionals[0]);
      if (!k) return [];
      if (k.choices) return k.choices.map((c) => [c, c === k.default ? 'default' : '']);
      return k.default !== null ? [[k.default, 'default']] : [];
    }
  }
  const s = load();
  if (!s) return [];
  switch (kind) {
    case 'router': {
      const names: Candidate[] = s.routers.map((r) => [r.name, `router ${r.id}`]);
      // Ids only once the word looks like one: names stay an uncluttered list.
      const ids: Candidate[] = cur && /^[0-9a-f-]+$/i.test(cur) ? s.routers.map((r) => [r.id, `router ${r.name}`]) : [];
      return [...names, ...ids];
    }
    case 'network':
    case 'network:external':
    case 'network:internal': {
      const want = kind === 'network' ? null : kind === 'network:external';
      const nets = s.networks.filter((n) => want === null || n.external === want);
      const ids: Candidate[] = cur && /^[0-9a-f-]+$/i.test(cur) ? nets.map((n) => [n.id, `network ${n.name}`]) : [];
      return [...nets.map((n): Candidate => [n.name, `${n.external ? 'external ' : ''}${n.cidr}`]), ...ids];
    }
    case 'fip':
    case 'fip:associated':
      return s.floatingips
        .filter((f) => kind === 'fip' || f.fixed_ip_address !== null)
        .map((f) => [f.floating_ip_address, f.fixed_ip_address ? `-> ${f.fixed_ip_address}` : 'not associated']);
    case 'port': {
      // interface remove ROUTER NETWORK|PORT: the networks it is plugged into, and port ids.
      const r = routerOf(p, s);
      if (!r) return [];
      const net = (id: string) => s.networks.find((n) => n.id === id);
      const byNet: Candidate[] = r.interfaces.map((x) => [net(x.network_id)?.name ?? x.network_id, `port ${x.ip_address}`]);
      const byId: Candidate[] = cur && /^[0-9a-f-]+$/i.test(cur) ? r.interfaces.map((x) => [x.id, `port on ${net(x.network_id)?.name ?? '?'} ${x.ip_address}`]) : [];
      return [...byNet, ...byId];
    }
    case 'route': {
      const r = routerOf(p, s);
      return r ? r.routes.map((x) => [x.destination, `via ${x.nexthop}`]) : [];
    }
  }
  return [];
}

function argAt(node: CmdSpec, i: number): ArgSpec | undefined {
  const last = node.args[node.args.length - 1];
  return node.args[i] ?? (last?.variadic ? last : undefined);
}

/** Candidates for the last word, given every word after `l3ctl`. */
export function complete(words: string[], env: NodeJS.ProcessEnv = process.env): Candidate[] | typeof FILES {
  const cur = words.length ? words[words.length - 1]! : '';
  const p = parse(words.slice(0, -1));
  let state: State | null | undefined;
  const load = () => {
    if (state === undefined) state = loadStateSync(p.store ?? (env.L3CTL_STORE || resolveStorePath()));
    return state;
  };
  const node = p.chain[p.chain.length - 1]!;
  const filter = (c: Candidate[] | typeof FILES) => {
    if (c === FILES) return c;
    const seen = new Set<string>();
    return c.filter(([v]) => v.startsWith(cur) && !seen.has(v) && seen.add(v));
  };

  if (p.pending) return filter(values(p.pending.kind ?? 'none', p, cur, load, p.pending.choices));
  if (p.afterDashDash) return [];
  // --opt=value in one word.
  const eq = /^(--[^=]+)=(.*)$/.exec(cur);
  if (eq) {
    const o = findOpt(p.chain, eq[1]!);
    if (!o?.value) return [];
    const v = values(o.kind ?? 'none', { ...p }, eq[2]!, load, o.choices);
    return v === FILES ? v : filter(v.map(([x, d]) => [`${eq[1]}=${x}`, d]));
  }
  if (cur.startsWith('-')) {
    // The command's own options first, then the global ones; --version only on its own.
    const help: OptSpec = { flags: ['-h', '--help'], description: 'show help' };
    const opts = [...p.chain, { options: [help] }]
      .reverse()
      .flatMap((c) => c.options)
      .filter((o) => (o.repeat || !p.used.has(o)) && (p.chain.length === 1 || !o.flags.includes('--version')));
    const short = /^-[^-]?$/.test(cur) && cur.length === 2;
    return filter(opts.flatMap((o) => o.flags.filter((f) => (short ? f.startsWith('-') : f.startsWith('--'))).map((f): Candidate => [f, o.description])));
  }
  if (node.commands.length && p.positionals.length === 0) {
    return filter(node.commands.filter((c) => !c.hidden).map((c) => [c.name, c.summary]));
  }
  const arg = argAt(node, p.positionals.length);
  if (!arg) return [];
  return filter(values(arg.kind, p, cur, load, arg.choices));
}

export function main(words: string[]): void {
  let out: string;
  try {
    const c = complete(words);
    out = c === FILES ? FILES + '\n' : c.map(([v, d]) => (d ? `${v}\t${d.replace(/\s+/g, ' ')}` : v) + '\n').join('');
  } catch {
    out = ''; // A completion never prints an error into the operator's command line.
  }
  process.stdout.write(out);
}
