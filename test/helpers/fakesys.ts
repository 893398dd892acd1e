// A strict fake system for unit tests: a Runner (src/linux/runner.ts) that
// keeps a model of the kernel objects l3ctl touches and interprets exactly
// the argv and stdin l3ctl produces, the way gh's run.Stub, Tailscale's
// fakeOS and kube-proxy's FakeIPTables do for theirs.
//
// Modelled: named network namespaces and the one l3ctl runs in; links
// (loopback, veth pairs across namespaces, bridges, dummies) with up, MAC,
// master, IPv4 addresses (primary/secondary, promote_secondaries) and IPv6
// ones; the main routing table of each IP version, whose connected routes
// come and go with addresses and link state as the kernel's do (IPv4: added
// for a primary address on an up link, removed with the address, a link down
// flushes every route through it, the last address gone flushes them too;
// IPv6, as checked on Linux 6.18: an address on a down link waits for the
// link to come up for its prefix route, a link going down loses its IPv6
// addresses (keep_addr_on_down 0) and routes, a deleted address takes its
// prefix route but not the routes through a nexthop in it, a nexthop must be
// covered by a connected route, the kernel's fe80::/64 on every up link;
// duplicate address detection is not modelled: an address is usable at
// once); iptables tables per namespace
// (fakeiptables.ts); the sysctls l3ctl reads and writes (IPv6 forwarding per
// namespace, accept_ra per device: a device made or moved in starts at 1);
// conntrack entries;
// background arping; the per-router daemons (haproxy, radvd, keepalived) as
// pretend processes in the namespace they were started in, with their files
// and signals (fake-host.ts: `files`, the Files face of the System).
//
// Strict: a command or batch line nobody modelled ("no fake for: …"), a read
// not marked as one (or the reverse: --dry-run would run it), and anything
// the kernel refuses (a duplicate add, a delete of what is not there, a
// nexthop not on a link, an iptables-restore refusal) are recorded and fail
// the test in verify() (fakeFor registers it), even when the code under test
// swallowed the error; so does a namespace l3ctl deletes with a daemon still
// running in it. The refusal is also answered as the real tools answer
// it (stderr, exit status, `Command failed -:N`), so error paths can be
// tested: expectRefusal() takes an expected one off the list.
//
// `sh()` runs a command as an operator would by hand (damage for drift
// tests): the same model, a wider grammar (`link set X down`, `iptables -t
// nat -F chain`, …), not recorded as l3ctl's calls.
import { FakeHost } from './fake-host.js';
import { isReadCommand } from './reads.js';
import type { TestContext } from 'node:test';
import { CommandError, NOT_FOUND, type RunOptions, type RunResult, type Runner } from '../../src/linux/runner.js';
import { OBSERVE_SCRIPT, SYSCTL_MARK } from '../../src/linux/observe.js';
import { compareCidr, contains, ipVersion, isIPv4, isMac, networkOf, parseCidr } from '../../src/model/addr.js';
import { RestoreError, RestoreUnmodelled, SAVE_ORDER, chainsInOrder, restore, save, type FakeTable, type TableKind } from './fakeiptables.js';

export interface FakeAddr {
  local: string;
  prefixlen: number;
  brd: string | null;
  scope: 'global' | 'host' | 'link';
  secondary: boolean;
  family: 4 | 6;
}

/** The kernel's scope numbers (RT_SCOPE_*): a wider scope is a smaller number. */
const SCOPE_RANK: Record<string, number> = { global: 0, site: 200, link: 253, host: 254 };

export type LinkKind = 'loopback' | 'veth' | 'bridge' | 'dummy';

export interface FakeLink {
  name: string;
  ifindex: number;
  kind: LinkKind;
  mac: string;
  /** The MAC was set with `link set … address` (shown in toString). */
  macSet: boolean;
  up: boolean;
  master: string | null;
  /** `link set … mtu N`; unset: the kernel's default (1500, 65536 for lo). */
  mtu?: number;
  /** Kernel order: primaries, then secondaries. */
  addrs: FakeAddr[];
  /** A veth's other end: its namespace key and name. */
  peer: { ns: string; name: string } | null;
  /** net.ipv6.conf.<name>.accept_ra (1 for a new device). */
  acceptRa: string;
  /** net.ipv6.conf.<name>.disable_ipv6 ('0' for a new device): '1' takes every IPv6 address off. */
  ipv6Off?: string;
  /** Device group (`link set dev X group N`); 0, the default, when unset. */
  group?: number;
}

export interface FakeRoute {
  /** Canonical CIDR (0.0.0.0/0 or ::/0 for default). */
  dst: string;
  family: 4 | 6;
  gateway: string | null;
  dev: string;
  protocol: 'kernel' | 'boot';
  scope: 'link' | 'universe';
  prefsrc: string | null;
}

/** A conntrack entry: original direction and reply direction. */
export interface Flow {
  src: string;
  dst: string;
  replySrc: string;
  replyDst: string;
}

export interface FakeNs {
  /** null: the namespace l3ctl runs in. */
  name: string | null;
  links: Map<string, FakeLink>;
  routes: FakeRoute[];
  tables: Map<TableKind, FakeTable>;
  sysctl: Map<string, string>;
  flows: Flow[];
  nextIfindex: number;
}

export interface FakeCall {
  argv: string[];
  input?: string;
  read: boolean;
  background: boolean;
  exitCode: number;
}

export interface FakeOptions {
  /** What `iptables --version` and the save header say. */
  iptablesVersion?: string;
  /** br_netfilter loaded: net.bridge.bridge-nf-call-iptables exists (1) in every namespace. */
  brNetfilter?: boolean;
  /** The conntrack program is installed. */
  conntrack?: boolean;
  /** net.ipv4.* values of a new namespace. */
  newNsSysctls?: Record<string, string>;
}

interface Fault {
  pattern: RegExp;
  stderr?: string;
  exitCode?: number;
  remaining: number;
}

/** ROOT: the key of the namespace l3ctl runs in. */
const ROOT = '';
const key = (ns: string | null) => ns ?? ROOT;
const IPV4_SYSCTLS = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.promote_secondaries', 'net.ipv4.conf.all.arp_ignore'];
const IPV6_FORWARDING = 'net.ipv6.conf.all.forwarding';
const ACCEPT_RA = /^net\.ipv6\.conf\.([^/\s]+)\.accept_ra$/;
const DISABLE_IPV6 = /^net\.ipv6\.conf\.([^/\s]+)\.disable_ipv6$/;
/** A device's own IPv6 key (not all or default): its name and which. */
const devKey = (k: string): { dev: string; key: 'acceptRa' | 'ipv6Off' } | null => {
  const m = ACCEPT_RA.exec(k) ?? DISABLE_IPV6.exec(k);
  if (!m || m[1] === 'all' || m[1] === 'default') return null;
  return { dev: m[1]!, key: k.endsWith('.accept_ra') ? 'acceptRa' : 'ipv6Off' };
};
/** IPv6 on in every namespace, as a kernel with IPv6 has it (an HA router's namespace turns it off). */
const IPV6_SYSCTLS = ['net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6'];
const BRIDGE_SYSCTL = 'net.bridge.bridge-nf-call-iptables';
const IFNAME_RE = /^[^\s/:]{1,15}$/;

/** The kernel (or ip, iptables, sysctl…) says no. `fatal`: ip exits at once (an argument error), exit 255. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly fatal = false,
  ) {
    super(message);
  }
}

/** Nobody modelled this: the test fails. */
class Unmodelled extends Error {}

const ok = (stdout = ''): RunResult => ({ stdout, stderr: '', exitCode: 0 });

/** How `ip route` writes a destination: `default`, a bare address for a /32 (/128). */
export function dstText(dst: string): string {
  if (dst === '0.0.0.0/0' || dst === '::/0') return 'default';
  return dst.endsWith('/32') && !dst.includes(':') ? dst.slice(0, -3) : dst.endsWith('/128') ? dst.slice(0, -4) : dst;
}

function routeText(r: FakeRoute): string {
  // `ip -6 route` shows the metric and preference, no scope or source.
  if (r.family === 6) return `${dstText(r.dst)}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}${r.protocol === 'kernel' ? ' proto kernel' : ''} metric ${r.gateway ? 1024 : 256} pref medium`;
  return `${dstText(r.dst)}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}${r.protocol === 'kernel' ? ' proto kernel' : ''}${r.scope === 'link' ? ' scope link' : ''}${r.prefsrc ? ` src ${r.prefsrc}` : ''}`;
}

/** fe80:: address the kernel derives from a MAC (EUI-64). */
function linkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const h = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  return `fe80::${h(b[0]! ^ 2, b[1]!)}:${h(b[2]!, 0xff)}:${h(0xfe, b[3]!)}:${h(b[4]!, b[5]!)}`;
}

export class FakeSystem implements Runner {
  /**
   * The daemons' side (pid and config files, /proc, namespace identities):
   * with `runner` and `storePath` the fake is the whole System a pass needs.
   * Its processes live in the fake's namespaces: `ip netns add` gives each a
   * new identity, `ip netns del` takes the name away from the processes in it.
   */
  files = new FakeHost();
  readonly storePath = '/fake/l3ctl/state.json';
  get runner(): Runner {
    return this;
  }
  /** Every command l3ctl ran, in order (sh() calls are not here). */
  readonly calls: FakeCall[] = [];
  /** Commands or lines nobody modelled, and reads not marked as reads (or the reverse). */
  readonly unmodelled: string[] = [];
  /** What the kernel refused (each also answered as the real tool answers). */
  readonly refusals: string[] = [];
  /**
   * Namespaces l3ctl deleted with a daemon still running in them: the kernel
   * allows it, but the process lives on where nobody can reach or find it.
   */
  readonly orphans: string[] = [];
  /** Background gratuitous ARPs: namespace, device, address, count. */
  readonly arpings: { ns: string | null; dev: string; ip: string; count: number }[] = [];
  /** Exit status of interactive() (router exec). */
  interactiveExit = 0;
  /** Who answers `arping -D` for an address (another node's HA port): address → MACs. */
  readonly dadReplies = new Map<string, string[]>();
  /** Every `arping -D` probe: namespace, device, address. */
  readonly dadProbes: { ns: string | null; dev: string; ip: string }[] = [];
  readonly iptablesVersion: string;
  private readonly brNetfilter: boolean;
  private conntrackInstalled: boolean;
  private readonly newNsSysctls: Record<string, string>;
  private readonly nss = new Map<string, FakeNs>();
  private readonly faults: Fault[] = [];
  private macSeq = 0;

  constructor(opts: FakeOptions = {}) {
    this.iptablesVersion = opts.iptablesVersion ?? 'v1.8.9 (nf_tables)';
    this.brNetfilter = opts.brNetfilter ?? true;
    this.conntrackInstalled = opts.conntrack ?? true;
    this.newNsSysctls = { 'net.ipv4.ip_forward': '0', 'net.ipv4.conf.all.promote_secondaries': '0', 'net.ipv4.conf.all.arp_ignore': '0', [IPV6_FORWARDING]: '0', ...opts.newNsSysctls };
    const root = this.makeNs(null);
    this.setUp(root, root.links.get('lo')!, true);
  }

  // ---- Runner ------------------------------------------------------------

  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const read = !!opts.read;
    if (read !== isReadCommand(argv.join(' '), (opts.input ?? '').split('\n').filter(Boolean))) this.unmodelled.push(`${read ? 'a change marked as a read' : 'a read not marked as one'} (--dry-run would get it wrong): ${argv.join(' ')}`);
    const { result: r, refusal } = this.exec(argv, opts.input, false);
    this.calls.push({ argv, input: opts.input, read, background: false, exitCode: r.exitCode });
    const accepted = r.exitCode === 0 || (opts.okCodes ?? []).includes(r.exitCode);
    if (!accepted && refusal) this.refusals.push(`${argv.join(' ')}: ${r.stderr.trim().split('\n').join(' / ')}`);
    if (!accepted) throw new CommandError(argv, r, opts.input);
    return r;
  }

  background(argv: string[]): void {
    this.calls.push({ argv, read: false, background: true, exitCode: 0 });
    const { ns, rest } = this.splitExec(argv);
    const m = rest.join(' ').match(/^arping -q -A -I (\S+) -c (\d+) -w (\d+) (\S+)$/);
    if (!m) {
      this.unmodelled.push(`no fake for (background): ${argv.join(' ')}`);
      return;
    }
    const n = this.nss.get(ns);
    const link = n?.links.get(m[1]!);
    // arping fails on its own in the background: l3ctl never hears of it, the test does.
    if (!n) this.refusals.push(`arping in a namespace that does not exist: ${argv.join(' ')}`);
    else if (!link || !link.up) this.refusals.push(`arping on a device that is missing or down: ${argv.join(' ')}`);
    else if (!link.addrs.some((a) => a.local === m[4])) this.refusals.push(`arping for an address not on ${m[1]}: ${argv.join(' ')}`);
    this.arpings.push({ ns: ns === ROOT ? null : ns, dev: m[1]!, ip: m[4]!, count: Number(m[2]) });
  }

  async namespaces(): Promise<Set<string>> {
    return new Set([...this.nss.keys()].filter((k) => k !== ROOT));
  }

  async interactive(argv: string[]): Promise<number> {
    this.calls.push({ argv, read: false, background: false, exitCode: this.interactiveExit });
    const { ns } = this.splitExec(argv);
    if (!this.nss.has(ns)) return 255;
    return this.interactiveExit;
  }

  // ---- the test's side ---------------------------------------------------

  /** An independent copy of the kernel state (no calls, problems or faults): one setup, many tests. */
  clone(): FakeSystem {
    const c = new FakeSystem({ iptablesVersion: this.iptablesVersion, brNetfilter: this.brNetfilter, conntrack: this.conntrackInstalled, newNsSysctls: this.newNsSysctls });
    c.nss.clear();
    for (const [k, n] of this.nss) c.nss.set(k, structuredClone(n));
    c.macSeq = this.macSeq;
    c.files = this.files.clone();
    return c;
  }

  /** A command run by hand (an operator damaging the kernel): a wider grammar, not recorded; throws if it fails. */
  async sh(argv: string[], input?: string): Promise<RunResult> {
    const { result: r } = this.exec(argv, input, true);
    if (r.exitCode !== 0) throw new Error(`fakesys sh: ${argv.join(' ')}: exit ${r.exitCode}: ${r.stderr.trim()}`);
    return r;
  }

  /**
   * The next `times` commands whose argv (joined by spaces) or one of whose
   * input lines matches fail as the real tool fails on that line: an ip
   * batch runs the lines before it, iptables-restore commits the tables
   * before it, anything else does nothing. Not a refusal: injected.
   */
  failOn(pattern: RegExp, opts: { stderr?: string; exitCode?: number; times?: number } = {}): void {
    this.faults.push({ pattern, stderr: opts.stderr, exitCode: opts.exitCode, remaining: opts.times ?? 1 });
  }

  /** Traffic through rules: adds to the counters of the rules of `chain` matching `match` (all when omitted). */
  bumpCounters(ns: string | null, table: TableKind, chain: string, opts: { match?: RegExp; packets?: number; bytes?: number } = {}): number {
    const c = this.ns(ns).tables.get(table)?.chains.get(chain);
    if (!c) throw new Error(`fakesys: no chain ${chain} in ${table} of ${ns ?? 'the root namespace'}`);
    let n = 0;
    for (const r of c.rules) {
      if (opts.match && !opts.match.test(`-A ${chain} ${r.spec}`)) continue;
      r.packets += opts.packets ?? 1;
      r.bytes += opts.bytes ?? 84;
      n++;
    }
    return n;
  }

  addFlow(ns: string | null, flow: Flow): void {
    this.ns(ns).flows.push(flow);
  }

  setConntrackInstalled(installed: boolean): void {
    this.conntrackInstalled = installed;
  }

  hasNs(ns: string | null): boolean {
    return this.nss.has(key(ns));
  }

  /** The model of one namespace (for inspection; change it through sh()). */
  ns(ns: string | null): FakeNs {
    const n = this.nss.get(key(ns));
    if (!n) throw new Error(`fakesys: no namespace ${ns}`);
    return n;
  }

  link(ns: string | null, name: string): FakeLink | undefined {
    return this.nss.get(key(ns))?.links.get(name);
  }

  /** Routes of the main table as `ip route` prints them, sorted. */
  routes(ns: string | null): string[] {
    return sortedRoutes(this.ns(ns).routes).map(routeText);
  }

  /** Rules of a chain (`-A chain …`), or of every chain of a table, with `[p:b] ` when `counters`. */
  rules(ns: string | null, table: TableKind, chain?: string, opts: { counters?: boolean } = {}): string[] {
    const t = this.ns(ns).tables.get(table);
    if (!t) return [];
    return chainsInOrder(t)
      .filter((c) => chain === undefined || c.name === chain)
      .flatMap((c) => c.rules.map((r) => `${opts.counters ? `[${r.packets}:${r.bytes}] ` : ''}-A ${c.name} ${r.spec}`));
  }

  /** User chains of a table, in save order. */
  chains(ns: string | null, table: TableKind): string[] {
    const t = this.ns(ns).tables.get(table);
    return t ? chainsInOrder(t).filter((c) => !c.builtin).map((c) => c.name) : [];
  }

  sysctl(ns: string | null, name: string): string | undefined {
    return this.ns(ns).sysctl.get(name);
  }

  /** `iptables-save -c` of a namespace. */
  saveText(ns: string | null): string {
    return save(this.ns(ns).tables, this.iptablesVersion, { counters: true });
  }

  /** The commands l3ctl ran that change something, with their input. */
  mutations(): string[] {
    return this.calls.filter((c) => !c.read).map((c) => `${c.argv.join(' ')}${c.input ? `\n${c.input.replace(/\n$/, '').split('\n').map((l) => `  ${l}`).join('\n')}` : ''}`);
  }

  clearCalls(): void {
    this.calls.length = 0;
    this.arpings.length = 0;
  }

  /** Takes one expected refusal off the list; throws when none matches. */
  expectRefusal(re: RegExp): string {
    const i = this.refusals.findIndex((r) => re.test(r));
    if (i < 0) throw new Error(`fakesys: expected a refusal matching ${re}; refusals: ${JSON.stringify(this.refusals)}`);
    return this.refusals.splice(i, 1)[0]!;
  }

  /** Fails when something unmodelled ran or the kernel refused something the test did not expect. */
  verify(): void {
    const problems = [...this.unmodelled.map((u) => `no fake for: ${u}`), ...this.refusals.map((r) => `kernel refused: ${r}`), ...this.orphans.map((o) => `left running: ${o}`)];
    if (problems.length) throw new Error(`fakesys: ${problems.length} problem(s):\n${problems.join('\n')}`);
  }

  /**
   * The whole state as text: namespaces by name, links by name (MAC shown
   * when set explicitly, or every MAC with macs 'all'), addresses and routes
   * sorted, sysctls, tables in save order with rules in order, the daemons
   * running in each (by command line: pids differ from run to run); then
   * daemons left in deleted namespaces, and the daemons' files and
   * directories (by path: pid files hold pids).
   */
  toString(opts: { counters?: boolean; macs?: 'set' | 'all' } = {}): string {
    const out = [...this.nss.keys()].sort().map((k) => this.nsText(k === ROOT ? null : k, opts));
    const lost = this.files.processesInDeletedNamespaces().map((p) => `  process ${p.argv.join(' ')}`).sort(cmp);
    if (lost.length) out.push(['netns (deleted)', ...lost].join('\n') + '\n');
    const paths = [...[...this.files.dirs].map((p) => ({ p, what: 'dir' })), ...[...this.files.files.keys()].map((p) => ({ p, what: 'file' }))].sort((x, y) => cmp(x.p, y.p));
    if (paths.length) out.push(['files', ...paths.map((x) => `  ${x.what} ${x.p}`)].join('\n') + '\n');
    return out.join('');
  }

  nsText(ns: string | null, opts: { counters?: boolean; macs?: 'set' | 'all' } = {}): string {
    const n = this.ns(ns);
    const out: string[] = [`netns ${ns ?? '(root)'}`];
    for (const l of [...n.links.values()].sort((a, b) => cmp(a.name, b.name))) {
      const peer = l.peer ? ` peer=${l.peer.name}${l.peer.ns === key(ns) ? '' : `@${l.peer.ns || '(root)'}`}` : '';
      const mac = l.macSet || opts.macs === 'all' ? ` mac=${l.mac}` : '';
      const ra = (l.acceptRa !== '1' ? ` accept_ra=${l.acceptRa}` : '') + (l.ipv6Off === '1' ? ' disable_ipv6=1' : '');
      out.push(`  link ${l.name} ${l.kind} ${l.up ? 'up' : 'down'}${l.master ? ` master=${l.master}` : ''}${peer}${mac}${ra}`);
      for (const a of [...l.addrs].sort((x, y) => x.family - y.family || cmp(`${x.local}/${x.prefixlen}`, `${y.local}/${y.prefixlen}`))) {
        out.push(`    inet${a.family === 6 ? '6' : ''} ${a.local}/${a.prefixlen}${a.brd ? ` brd ${a.brd}` : ''} scope ${a.scope}${a.secondary ? ' secondary' : ''}`);
      }
    }
    for (const r of this.routes(ns)) out.push(`  route ${r}`);
    for (const [k, v] of [...n.sysctl].sort((a, b) => cmp(a[0], b[0]))) out.push(`  sysctl ${k}=${v}`);
    for (const kind of SAVE_ORDER) {
      const t = n.tables.get(kind);
      if (!t) continue;
      out.push(`  table ${kind}`);
      for (const c of chainsInOrder(t)) {
        out.push(`    chain ${c.name}${c.builtin ? ` ${c.policy}` : ''}`);
        for (const r of c.rules) out.push(`      ${opts.counters === false ? '' : `[${r.packets}:${r.bytes}] `}-A ${c.name} ${r.spec}`);
      }
    }
    for (const f of n.flows) out.push(`  flow src=${f.src} dst=${f.dst} reply src=${f.replySrc} dst=${f.replyDst}`);
    out.push(...this.files.processesIn(key(ns)).map((p) => `  process ${p.argv.join(' ')}`).sort(cmp));
    return out.join('\n') + '\n';
  }

  // ---- dispatch ----------------------------------------------------------

  /** `ip netns exec NS prog…` -> NS and prog…; anything else runs in the root namespace. */
  private splitExec(argv: string[]): { ns: string; rest: string[] } {
    if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec' && argv[3]) return { ns: argv[3], rest: argv.slice(4) };
    return { ns: ROOT, rest: argv };
  }

  /** A fault was injected into a program inside the command being run (observe.ts's read): not a refusal. */
  private injectedInside = false;

  private takeFault(argv: string[], input: string | undefined): { fault: Fault; line: number } | null {
    const text = argv.join(' ');
    const lines = input ? input.replace(/\n$/, '').split('\n') : [];
    for (const f of this.faults) {
      if (f.remaining <= 0) continue;
      if (f.pattern.test(text)) {
        f.remaining--;
        return { fault: f, line: 0 };
      }
      const i = lines.findIndex((l) => f.pattern.test(l));
      if (i >= 0) {
        f.remaining--;
        return { fault: f, line: i + 1 };
      }
    }
    return null;
  }

  /** Runs a command; `refusal`: a failure is the system refusing (not injected, not a missing program). */
  private exec(argv: string[], input: string | undefined, operator: boolean): { result: RunResult; refusal: boolean } {
    const where = argv.join(' ');
    const fault = operator ? null : this.takeFault(argv, input);
    if (fault && fault.line === 0) {
      const prog = this.splitExec(argv).rest[0] ?? argv[0];
      return { result: { stdout: '', stderr: fault.fault.stderr ?? `${prog}: Operation not permitted (injected by fakesys)\n`, exitCode: fault.fault.exitCode ?? 1 }, refusal: false };
    }
    try {
      this.injectedInside = false;
      const result = this.dispatch(argv, input, operator, fault);
      const missingProgram = result.exitCode === NOT_FOUND || /^exec of "[^"]+" failed: No such file/.test(result.stderr);
      return { result, refusal: !fault && !this.injectedInside && !missingProgram };
    } catch (err) {
      if (err instanceof Unmodelled || err instanceof RestoreUnmodelled) {
        this.unmodelled.push(`${where}${err.message ? ` (${err.message})` : ''}`);
        return { result: { stdout: '', stderr: `fakesys: no fake for: ${where}: ${err.message}\n`, exitCode: 1 }, refusal: false };
      }
      throw err;
    }
  }

  private dispatch(argv: string[], input: string | undefined, operator: boolean, fault: { fault: Fault; line: number } | null): RunResult {
    if (argv[0] !== 'ip' || argv[1] === 'netns' && argv[2] === 'exec') {
      const { ns, rest } = this.splitExec(argv);
      if (!this.nss.has(ns)) return { stdout: '', stderr: `Cannot open network namespace "${ns}": No such file or directory\n`, exitCode: 255 };
      return this.program(ns, rest, input, operator, fault);
    }
    let ns = ROOT;
    let rest = argv.slice(1);
    if (rest[0] === '-n') {
      ns = rest[1] ?? '';
      rest = rest.slice(2);
      if (!this.nss.has(ns)) return { stdout: '', stderr: `Cannot open network namespace "${ns}": No such file or directory\n`, exitCode: 255 };
    }
    const words = rest.join(' ');
    if (ns === ROOT && (words.startsWith('netns add ') || words.startsWith('netns del ')) && rest.length === 3) {
      try {
        if (rest[1] === 'add') this.netnsAdd(rest[2]!);
        else this.netnsDel(rest[2]!, operator);
        return ok();
      } catch (err) {
        if (err instanceof Refusal) return { stdout: '', stderr: err.message + '\n', exitCode: 1 };
        throw err;
      }
    }
    if (ns === ROOT && rest[0] === 'netns' && rest[1] === 'pids' && rest.length === 3) {
      // The live processes of the pretend process table (FakeHost) in that namespace.
      const id = this.files.namespaces.get(rest[2]!);
      if (!id) return { stdout: '', stderr: `Cannot open network namespace "${rest[2]}": No such file or directory\n`, exitCode: 1 };
      const pids = [...this.files.procs].filter(([, p]) => !p.zombie && p.netns === id).map(([pid]) => `${pid}\n`);
      return ok(pids.join(''));
    }
    if (words === '-batch -') return this.batch(ns, input ?? '', operator, fault?.line ? fault : null);
    if (words === '-force -batch -') {
      // -force: every line is tried; the exit status says whether one failed (agent cleanup's deletes).
      let stderr = '';
      for (const line of (input ?? '').replace(/\n$/, '').split('\n')) {
        const r = this.batch(ns, `${line}\n`, operator, null);
        stderr += r.stderr;
      }
      return { stdout: '', stderr, exitCode: stderr ? 1 : 0 };
    }
    if (words === '-j addr show') return ok(JSON.stringify(this.linksJson(this.nss.get(ns)!)) + '\n');
    if (words === '-j route show table main') return ok(JSON.stringify(this.routesJson(this.nss.get(ns)!)) + '\n');
    // `ip -batch` takes no `-6` per line: the IPv6 routes are a read of their own.
    if (words === '-6 -j route show table main') return ok(JSON.stringify(this.routes6Json(this.nss.get(ns)!)) + '\n');
    // No neighbour (ARP) entries are modelled: none learnt yet (diagnose reads them).
    if (words === '-j neigh show') return ok('[]\n');
    // Reads in one batch, one JSON array a line, as ip -j -batch prints them.
    if (words === '-j -batch -') {
      const n = this.nss.get(ns)!;
      const out: string[] = [];
      for (const l of (input ?? '').split('\n').filter(Boolean)) {
        if (l === 'addr show') out.push(JSON.stringify(this.linksJson(n)));
        else if (l === 'route show table main') out.push(JSON.stringify(this.routesJson(n)));
        else throw new Unmodelled(`read batch line ${l}`);
      }
      return ok(out.join('\n') + '\n');
    }
    // `ip [-n NS] link del DEV` alone: what a driver runs to clear a port's name before it plugs it again.
    if ((operator && ['link', 'addr', 'route'].includes(rest[0] ?? '')) || (rest.length === 3 && rest[0] === 'link' && rest[1] === 'del')) {
      try {
        this.ipLine(this.nss.get(ns)!, rest, operator);
        return ok();
      } catch (err) {
        if (err instanceof Refusal) return { stdout: '', stderr: err.message + '\n', exitCode: err.fatal ? 255 : 2 };
        throw err;
      }
    }
    throw new Unmodelled('');
  }

  /** `ip -batch -`: line by line; the first failing line stops it, the lines before it took effect. */
  private batch(ns: string, input: string, operator: boolean, fault: { fault: Fault; line: number } | null): RunResult {
    const lines = input.replace(/\n$/, '').split('\n');
    const n = this.nss.get(ns)!;
    for (const [i, line] of lines.entries()) {
      if (fault && fault.line === i + 1) {
        return { stdout: '', stderr: fault.fault.stderr ?? `RTNETLINK answers: Operation not permitted (injected by fakesys)\nCommand failed -:${i + 1}\n`, exitCode: fault.fault.exitCode ?? 1 };
      }
      const words = line.trim().split(/\s+/).filter(Boolean);
      if (!words.length) continue;
      try {
        if (words[0] === 'netns' && ns === ROOT && words.length === 3 && (words[1] === 'add' || words[1] === 'del')) {
          if (words[1] === 'add') this.netnsAdd(words[2]!);
          else this.netnsDel(words[2]!, operator);
        } else this.ipLine(n, words, operator);
      } catch (err) {
        if (err instanceof Refusal) return { stdout: '', stderr: err.fatal ? `${err.message}\n` : `${err.message}\nCommand failed -:${i + 1}\n`, exitCode: err.fatal ? 255 : 1 };
        if (err instanceof Unmodelled) throw new Unmodelled(`batch line ${i + 1}: ${line}`);
        throw err;
      }
    }
    return ok();
  }

  /** A program other than ip, run in namespace `ns`. */
  private program(ns: string, argv: string[], input: string | undefined, operator: boolean, fault: { fault: Fault; line: number } | null): RunResult {
    const n = this.nss.get(ns)!;
    const [prog, ...args] = argv;
    const a = args.join(' ');
    // Per-router daemons and their signals: the pretend process table of FakeHost.
    if (['haproxy', 'radvd', 'keepalived', 'kill'].includes(prog!)) {
      return { stdout: '', stderr: '', exitCode: 0, ...this.files.respond(ns === ROOT ? argv : ['ip', 'netns', 'exec', ns, ...argv]) };
    }
    if (prog === 'iptables-save' && (a === '-c' || operator)) {
      const counters = args.includes('-c');
      const t = args.indexOf('-t');
      return ok(save(n.tables, this.iptablesVersion, { counters, table: t >= 0 ? (args[t + 1] as TableKind) : undefined }));
    }
    if (prog === 'iptables-restore' && (a === '-w --noflush --counters' || (operator && args.includes('--noflush')))) {
      try {
        restore(n.tables, input ?? '', {
          counters: args.includes('--counters') || args.includes('-c'),
          operator,
          failAt: fault?.line ? { line: fault.line, stderr: fault.fault.stderr ?? `iptables-restore: line ${fault.line} failed: Operation not permitted (injected by fakesys)\n`, exitCode: fault.fault.exitCode ?? 1 } : null,
        });
        return ok();
      } catch (err) {
        if (err instanceof RestoreError) return { stdout: '', stderr: err.stderr.endsWith('\n') ? err.stderr : err.stderr + '\n', exitCode: err.exitCode };
        throw err;
      }
    }
    if (prog === 'iptables' && a === '--version') return ok(`iptables ${this.iptablesVersion}\n`);
    // The backend iptables does not use (diagnose looks for l3ctl's rules there): empty.
    if ((prog === 'iptables-legacy-save' || prog === 'iptables-nft-save') && !args.length) return ok('');
    if (prog === 'iptables' && operator && args[0] === '-t') {
      // iptables -t TABLE -A/-D/-I/-F/-N/-X …: one line of a restore.
      const payload = `*${args[1]}\n${args.slice(2).join(' ')}\nCOMMIT\n`;
      try {
        restore(n.tables, payload, { counters: false, operator: true });
        return ok();
      } catch (err) {
        if (err instanceof RestoreError) return { stdout: '', stderr: err.stderr + '\n', exitCode: err.exitCode };
        throw err;
      }
    }
    if (prog === 'sysctl') return this.sysctlCmd(n, args, operator);
    if (prog === '/bin/sh' && args[0] === '-c' && args[1] === OBSERVE_SCRIPT) {
      // observe.ts's one read of a namespace: its three programs, each as modelled, stopping at the first that fails.
      const parts = [
        () => this.dispatch(ns === ROOT ? ['ip', '-j', '-batch', '-'] : ['ip', '-n', ns, '-j', '-batch', '-'], 'addr show\nroute show table main\n', operator, null),
        () => {
          // A fault a test aimed at the iptables-save inside (`exec NS iptables-save`) fails it there.
          const inner = operator ? null : this.takeFault(ns === ROOT ? ['iptables-save', '-c'] : ['ip', 'netns', 'exec', ns, 'iptables-save', '-c'], undefined);
          if (inner) this.injectedInside = true;
          if (inner) return { stdout: '', stderr: inner.fault.stderr ?? 'iptables-save: Operation not permitted (injected by fakesys)\n', exitCode: inner.fault.exitCode ?? 1 };
          return this.program(ns, ['iptables-save', '-c'], undefined, operator, null);
        },
        () => ok(`${SYSCTL_MARK}\n`),
        () => this.sysctlCmd(n, ['-e', ...args.slice(3)], operator),
      ];
      let stdout = '';
      let stderr = '';
      for (const part of parts) {
        const r = part();
        stdout += r.stdout;
        stderr += r.stderr;
        if (r.exitCode !== 0) return { stdout, stderr, exitCode: r.exitCode };
      }
      return { stdout, stderr, exitCode: 0 };
    }
    if (prog === 'arping' && args[0] === '-D') {
      const m = /^-D -I (\S+) -c 1 -w 1 (\S+)$/.exec(a);
      if (!m) throw new Unmodelled('arping -D arguments');
      const link = n.links.get(m[1]!);
      if (!link || !link.up) return { stdout: '', stderr: `arping: ${m[1]}: No such device or not up\n`, exitCode: 2 };
      this.dadProbes.push({ ns: ns === ROOT ? null : ns, dev: m[1]!, ip: m[2]! });
      const macs = this.dadReplies.get(m[2]!) ?? [];
      const lines = [`ARPING ${m[2]} from 0.0.0.0 ${m[1]}`, ...macs.map((x) => `Unicast reply from ${m[2]} [${x.toUpperCase()}]  0.512ms`), 'Sent 1 probes (1 broadcast(s))', `Received ${macs.length} response(s)`];
      return { stdout: lines.join('\n') + '\n', stderr: '', exitCode: macs.length ? 1 : 0 };
    }
    if (prog === 'conntrack') {
      const m = /^-D -([dq]) (\S+)$/.exec(a);
      if (!m || !isIPv4(m[2]!)) throw new Unmodelled('conntrack arguments');
      if (!this.conntrackInstalled) {
        return ns === ROOT
          ? { stdout: '', stderr: 'conntrack: command not found\n', exitCode: NOT_FOUND }
          : { stdout: '', stderr: 'exec of "conntrack" failed: No such file or directory\n', exitCode: 1 };
      }
      const before = n.flows.length;
      n.flows = n.flows.filter((f) => (m[1] === 'd' ? f.dst : f.replyDst) !== m[2]);
      const k = before - n.flows.length;
      return { stdout: '', stderr: `conntrack v1.4.7 (conntrack-tools): ${k} flow entries have been deleted.\n`, exitCode: k ? 0 : 1 };
    }
    throw new Unmodelled('');
  }

  private sysctlCmd(n: FakeNs, args: string[], operator: boolean): RunResult {
    const known = (k: string) => IPV4_SYSCTLS.includes(k) || IPV6_SYSCTLS.includes(k) || k === BRIDGE_SYSCTL || k === IPV6_FORWARDING || devKey(k) !== null;
    const missing = (k: string) => `sysctl: cannot stat /proc/sys/${k.replace(/\./g, '/')}: No such file or directory\n`;
    /** A device's own key lives with the device (gone with it); the rest with the namespace. */
    const get = (k: string): string | undefined => {
      const d = devKey(k);
      if (!d) return n.sysctl.get(k);
      const l = n.links.get(d.dev);
      return l && (d.key === 'acceptRa' ? l.acceptRa : l.ipv6Off ?? '0');
    };
    // -n: values only; -e: `key = value`, keys that do not exist left out without a word.
    if ((args[0] === '-n' || args[0] === '-e') && args.length > 1) {
      let stdout = '';
      let stderr = '';
      for (const k of args.slice(1)) {
        if (!known(k)) throw new Unmodelled(`sysctl ${k}`);
        const v = get(k);
        if (v === undefined) stderr += args[0] === '-e' ? '' : missing(k);
        else stdout += args[0] === '-e' ? `${k} = ${v}\n` : `${v}\n`;
      }
      return { stdout, stderr, exitCode: stderr ? 1 : 0 };
    }
    const sets = args[0] === '-q' && args[1] === '-w' ? args.slice(2) : operator && args[0] === '-w' ? args.slice(1) : null;
    if (!sets || !sets.length) throw new Unmodelled('sysctl arguments');
    let stderr = '';
    for (const s of sets) {
      const m = /^([\w.-]+)=(\d+)$/.exec(s);
      if (!m || !known(m[1]!)) throw new Unmodelled(`sysctl ${s}`);
      const d = devKey(m[1]!);
      const link = d ? n.links.get(d.dev) : undefined;
      if (d ? !link : !n.sysctl.has(m[1]!)) stderr += missing(m[1]!);
      else if (link && d) {
        link[d.key] = m[2]!;
        if (d.key === 'ipv6Off' && m[2] === '1') link.addrs = link.addrs.filter((a) => a.family !== 6);
      } else n.sysctl.set(m[1]!, m[2]!);
    }
    return { stdout: '', stderr, exitCode: stderr ? 1 : 0 };
  }

  // ---- namespaces and links ----------------------------------------------

  private makeNs(name: string | null): FakeNs {
    const n: FakeNs = { name, links: new Map(), routes: [], tables: new Map(), sysctl: new Map(), flows: [], nextIfindex: 1 };
    for (const k of [...IPV4_SYSCTLS, IPV6_FORWARDING]) n.sysctl.set(k, this.newNsSysctls[k]!);
    for (const k of IPV6_SYSCTLS) n.sysctl.set(k, '0');
    if (this.brNetfilter) n.sysctl.set(BRIDGE_SYSCTL, '1');
    this.nss.set(key(name), n);
    this.newLink(n, 'lo', 'loopback', '00:00:00:00:00:00');
    return n;
  }

  private netnsAdd(name: string): void {
    if (this.nss.has(name)) throw new Refusal(`Cannot create namespace file "/run/netns/${name}": File exists`);
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Unmodelled(`namespace name ${name}`);
    this.makeNs(name);
    this.files.addNamespace(name);
  }

  private netnsDel(name: string, operator: boolean): void {
    const n = this.nss.get(name);
    if (!n) throw new Refusal(`Cannot remove namespace file "/run/netns/${name}": No such file or directory`);
    // An operator may do it (a stray for the next pass to find); l3ctl stops its daemons first.
    if (!operator) for (const p of this.files.processesIn(name)) this.orphans.push(`ip netns del ${name} with pid ${p.pid} still running in it: ${p.argv.join(' ')}`);
    // Its virtual devices die with it, and a veth takes its other end along.
    for (const l of [...n.links.values()]) if (l.peer && l.peer.ns !== name) this.removeLink(this.nss.get(l.peer.ns)!, l.peer.name, false);
    this.nss.delete(name);
    this.files.namespaces.delete(name);
  }

  private newLink(n: FakeNs, name: string, kind: LinkKind, mac?: string): FakeLink {
    const l: FakeLink = { name, ifindex: n.nextIfindex++, kind, mac: mac ?? this.nextMac(), macSet: false, up: false, master: null, addrs: [], peer: null, acceptRa: '1' };
    n.links.set(name, l);
    return l;
  }

  private nextMac(): string {
    const s = ++this.macSeq;
    return `fa:ce:00:${[s >> 16, s >> 8, s].map((b) => (b & 255).toString(16).padStart(2, '0')).join(':')}`;
  }

  private dev(n: FakeNs, name: string): FakeLink {
    const l = n.links.get(name);
    if (!l) throw new Refusal(`Cannot find device "${name}"`);
    return l;
  }

  private removeLink(n: FakeNs, name: string, withPeer = true): void {
    const l = n.links.get(name);
    if (!l) return;
    n.links.delete(name);
    n.routes = n.routes.filter((r) => r.dev !== name);
    if (l.kind === 'bridge') for (const p of n.links.values()) if (p.master === name) p.master = null;
    if (withPeer && l.peer) {
      const pn = this.nss.get(l.peer.ns);
      if (pn) this.removeLink(pn, l.peer.name, false);
    }
  }

  private carrier(n: FakeNs, l: FakeLink): boolean {
    if (!l.up) return false;
    if (l.kind === 'veth') return !!l.peer && !!this.nss.get(l.peer.ns)?.links.get(l.peer.name)?.up;
    if (l.kind === 'bridge') return [...n.links.values()].some((p) => p.master === l.name && this.carrier(n, p));
    return true;
  }

  private setUp(n: FakeNs, l: FakeLink, up: boolean): void {
    if (l.up === up) return;
    l.up = up;
    if (!up) {
      // A link going down takes every route through it along, and its IPv6 addresses (keep_addr_on_down 0).
      n.routes = n.routes.filter((r) => r.dev !== l.name);
      l.addrs = l.addrs.filter((a) => a.family === 4);
      return;
    }
    if (l.kind === 'loopback' && !l.addrs.length) l.addrs.push({ local: '127.0.0.1', prefixlen: 8, brd: null, scope: 'host', secondary: false, family: 4 });
    for (const a of l.addrs) if (!a.secondary) this.addConnected(n, l, a);
  }

  /** The prefix route the kernel adds for a primary address on an up link (IPv6: no source, metric 256). */
  private addConnected(n: FakeNs, l: FakeLink, a: FakeAddr): void {
    // Whatever the address's scope (the kernel adds a link-scope prefix route for a `scope host` one too).
    if (!l.up || l.kind === 'loopback' || a.prefixlen === (a.family === 4 ? 32 : 128)) return;
    const dst = networkOf(`${a.local}/${a.prefixlen}`);
    if (n.routes.some((r) => r.dst === dst && r.dev === l.name && r.gateway === null)) return;
    n.routes.push({ dst, family: a.family, gateway: null, dev: l.name, protocol: 'kernel', scope: 'link', prefsrc: a.family === 4 ? a.local : null });
  }

  // ---- ip lines ----------------------------------------------------------

  /** One `ip` command line (`link …`, `addr …`, `route …`), as in a batch. */
  private ipLine(n: FakeNs, w: string[], operator: boolean): void {
    const [obj, verb] = w;
    const line = w.join(' ');
    const shape = (re: RegExp, wide?: RegExp) => {
      const m = re.exec(line) ?? (operator && wide ? wide.exec(line) : null);
      if (!m) throw new Unmodelled(line);
      return m;
    };
    if (obj === 'link' && verb === 'add') {
      const m = shape(/^link add (\S+) type (bridge) forward_delay 0$|^link add (\S+) type veth peer name (\S+)(?: netns (\S+))?$/, /^link add (\S+) type (bridge|dummy)$/);
      const name = m[1] ?? m[3]!;
      if (!IFNAME_RE.test(name)) throw new Refusal(`Error: argument "${name}" is wrong: "name" not a valid ifname`, true);
      if (m[2]) {
        if (n.links.has(name)) throw new Refusal('RTNETLINK answers: File exists');
        this.newLink(n, name, m[2] as LinkKind);
        return;
      }
      const peer = m[4]!;
      if (!IFNAME_RE.test(peer)) throw new Refusal(`Error: argument "${peer}" is wrong: "name" not a valid ifname`, true);
      const pk = m[5] ?? key(n.name);
      const pn = this.nss.get(pk);
      if (!pn) throw new Refusal(`Error: argument "${m[5]}" is wrong: Invalid "netns" value`, true);
      if (n.links.has(name) || pn.links.has(peer) || (pn === n && name === peer)) throw new Refusal('RTNETLINK answers: File exists');
      const a = this.newLink(n, name, 'veth');
      const b = this.newLink(pn, peer, 'veth');
      a.peer = { ns: pk, name: peer };
      b.peer = { ns: key(n.name), name };
      return;
    }
    if (obj === 'link' && verb === 'set' && w[2] === 'dev' && w[4] === 'group') {
      const m = shape(/^link set dev (\S+) group (\d+)$/);
      this.dev(n, m[1]!).group = Number(m[2]);
      return;
    }
    if (obj === 'link' && verb === 'set') {
      const m = shape(/^link set (\S+) (up|address (\S+)|master (\S+)|netns (\S+)|mtu (\d+))$/, /^link set (\S+) (down|nomaster)$/);
      const l = this.dev(n, m[1]!);
      if (m[2] === 'up' || m[2] === 'down') this.setUp(n, l, m[2] === 'up');
      else if (m[6] !== undefined) {
        const mtu = Number(m[6]);
        if (mtu < 68 || mtu > 65535) throw new Refusal('Error: mtu greater than device maximum.');
        l.mtu = mtu;
      }
      else if (m[2] === 'nomaster') l.master = null;
      else if (m[3] !== undefined) {
        if (!isMac(m[3])) throw new Refusal(`Error: argument "${m[3]}" is wrong: invalid address`, true);
        l.mac = m[3].toLowerCase();
        l.macSet = true;
      } else if (m[4] !== undefined) {
        const br = n.links.get(m[4]);
        if (!br) throw new Refusal(`Error: argument "${m[4]}" is wrong: Device does not exist`, true);
        if (br.kind !== 'bridge') throw new Refusal('RTNETLINK answers: Operation not supported');
        l.master = br.name;
      } else {
        const to = this.nss.get(m[5]!);
        if (!to) throw new Refusal(`Error: argument "${m[5]}" is wrong: Invalid "netns" value`, true);
        if (to === n) return;
        if (to.links.has(l.name)) throw new Refusal('RTNETLINK answers: File exists');
        // Moving a link drops its addresses, routes, master and up state.
        this.removeLink(n, l.name, false);
        Object.assign(l, { addrs: [], master: null, up: false, ifindex: to.nextIfindex++, acceptRa: '1' });
        to.links.set(l.name, l);
        if (l.peer) {
          const other = this.nss.get(l.peer.ns)?.links.get(l.peer.name);
          if (other) other.peer = { ns: key(to.name), name: l.name };
        }
      }
      return;
    }
    if (obj === 'link' && (verb === 'del' || verb === 'delete') && w[2] === 'group') {
      // Every device of the group at once, veth peers too; none in it: ENODEV.
      const g = Number(shape(/^link del group (\d+)$/)[1]);
      const members = [...n.links.values()].filter((l) => (l.group ?? 0) === g);
      if (!members.length) throw new Refusal('RTNETLINK answers: No such device');
      if (members.some((l) => l.kind === 'loopback')) throw new Refusal('RTNETLINK answers: Operation not supported');
      for (const l of members) this.removeLink(n, l.name);
      return;
    }
    if (obj === 'link' && (verb === 'del' || verb === 'delete')) {
      const m = shape(/^link del (\S+)$/, /^link (?:del|delete) (?:dev )?(\S+)$/);
      this.dev(n, m[1]!);
      this.removeLink(n, m[1]!);
      return;
    }
    if (obj === 'addr' && verb === 'add' && w[2]?.includes(':')) {
      // IPv6: never a brd from l3ctl (an operator's is ignored), duplicate address detection not modelled.
      const m = shape(/^addr add (\S+)\/(\d+) scope (global) dev (\S+)$/, /^addr add (\S+)\/(\d+)(?: brd \S+)?(?: scope (\w+))? dev (\S+)(?: nodad)?$/);
      const [, local, len, scope, dev] = m;
      if (ipVersion(local!) !== 6 || Number(len) > 128) throw new Refusal(`Error: any valid prefix is expected rather than "${local}/${len}".`, true);
      const l = this.dev(n, dev!);
      const prefixlen = Number(len);
      if (l.addrs.some((a) => a.family === 6 && a.local === local && a.prefixlen === prefixlen)) throw new Refusal('Error: ipv6: address already assigned.');
      const a: FakeAddr = { local: local!, prefixlen, brd: null, scope: (scope ?? 'global') as FakeAddr['scope'], secondary: false, family: 6 };
      l.addrs.push(a);
      this.addConnected(n, l, a);
      return;
    }
    if (obj === 'addr' && verb === 'add') {
      const m = shape(/^addr add (\S+)\/(\d+) brd (\S+) scope (global) dev (\S+)$/, /^addr add (\S+)\/(\d+)(?: brd (\S+))?(?: scope (\w+))? dev (\S+)$/);
      const [, local, len, brd, scope, dev] = m;
      if (!isIPv4(local!) || Number(len) > 32) throw new Refusal(`Error: any valid prefix is expected rather than "${local}/${len}".`, true);
      const l = this.dev(n, dev!);
      const prefixlen = Number(len);
      if (l.addrs.some((a) => a.local === local && a.prefixlen === prefixlen)) throw new Refusal('Error: ipv4: Address already assigned.');
      const net = networkOf(`${local}/${prefixlen}`);
      const primary = l.addrs.find((a) => a.family === 4 && !a.secondary && a.prefixlen === prefixlen && networkOf(`${a.local}/${a.prefixlen}`) === net);
      // A secondary's scope may not be wider than its primary's.
      if (primary && SCOPE_RANK[primary.scope] > SCOPE_RANK[scope ?? 'global']) throw new Refusal('Error: ipv4: Invalid scope value.');
      const secondary = !!primary;
      const a: FakeAddr = { local: local!, prefixlen, brd: brd ?? null, scope: (scope ?? 'global') as FakeAddr['scope'], secondary, family: 4 };
      const firstSecondary = l.addrs.findIndex((x) => x.secondary);
      if (secondary || firstSecondary < 0) l.addrs.push(a);
      else l.addrs.splice(firstSecondary, 0, a);
      if (!secondary) this.addConnected(n, l, a);
      return;
    }
    if (obj === 'addr' && verb === 'del' && w[2]?.includes(':')) {
      const m = shape(/^addr del (\S+)\/(\d+) dev (\S+)$/);
      const l = this.dev(n, m[3]!);
      const i = l.addrs.findIndex((a) => a.family === 6 && a.local === m[1] && a.prefixlen === Number(m[2]));
      if (i < 0) throw new Refusal('Error: ipv6: address not found.');
      const [gone] = l.addrs.splice(i, 1);
      // Its prefix route goes (unless another address holds the prefix); routes through a nexthop in it stay.
      const net = networkOf(`${gone!.local}/${gone!.prefixlen}`);
      if (!l.addrs.some((a) => a.family === 6 && networkOf(`${a.local}/${a.prefixlen}`) === net)) n.routes = n.routes.filter((r) => !(r.dst === net && r.dev === l.name && r.gateway === null));
      return;
    }
    if (obj === 'addr' && verb === 'del') {
      const m = shape(/^addr del (\S+)\/(\d+) dev (\S+)$/);
      const l = this.dev(n, m[3]!);
      const i = l.addrs.findIndex((a) => a.family === 4 && a.local === m[1] && a.prefixlen === Number(m[2]));
      if (i < 0) throw new Refusal('Error: ipv4: Address not found.');
      const [gone] = l.addrs.splice(i, 1);
      const dropped = [gone!.local];
      if (!gone!.secondary) {
        const net = networkOf(`${gone!.local}/${gone!.prefixlen}`);
        const same = l.addrs.filter((a) => a.family === 4 && a.secondary && a.prefixlen === gone!.prefixlen && networkOf(`${a.local}/${a.prefixlen}`) === net);
        if (same.length && n.sysctl.get('net.ipv4.conf.all.promote_secondaries') === '1') {
          same[0]!.secondary = false;
        } else {
          // Without promote_secondaries the secondaries go with their primary.
          l.addrs = l.addrs.filter((a) => !same.includes(a));
          dropped.push(...same.map((a) => a.local));
        }
        // Routes using a removed address as their source go (fib_sync_down_addr).
        n.routes = n.routes.filter((r) => !(r.prefsrc && dropped.includes(r.prefsrc)));
        const promoted = same.find((a) => !a.secondary);
        if (promoted) this.addConnected(n, l, promoted);
      } else {
        n.routes = n.routes.filter((r) => r.prefsrc !== gone!.local);
      }
      // The last IPv4 address gone: IPv4 is off on the link, its IPv4 routes with it.
      if (!l.addrs.some((a) => a.family === 4 && a.scope !== 'link')) n.routes = n.routes.filter((r) => !(r.family === 4 && r.dev === l.name));
      return;
    }
    if (obj === 'route' && (verb === 'replace' || (operator && verb === 'add'))) {
      const m = shape(
        /^route replace (?:to )?(\S+) (?:via (\S+)(?: dev (\S+))?|dev (\S+) (?:proto kernel scope link src (\S+)|proto kernel metric 256))$/,
        /^route (?:replace|add) (?:to )?(\S+) (?:via (\S+)(?: dev (\S+))?|dev (\S+)(?: proto kernel)?(?: scope link)?(?: src (\S+))?(?: metric \d+)?)$/,
      );
      // `default` takes its family from the nexthop (a batch line has no -6).
      const family = (m[2] ?? m[1]!).includes(':') ? 6 : 4;
      const dst = this.routeDst(m[1]!, family);
      let route: FakeRoute;
      if (m[2] !== undefined) {
        if (ipVersion(m[2]) !== family) throw new Refusal(`Error: ${family === 4 ? 'inet' : 'inet6'} address is expected rather than "${m[2]}".`, true);
        if (m[3] !== undefined) this.dev(n, m[3]);
        // The nexthop must be on a link: covered by a link-scope route (through `dev` when given).
        const onLink = n.routes
          .filter((r) => r.family === family && r.gateway === null && r.scope === 'link' && contains(r.dst, m[2]!) && (m[3] === undefined || r.dev === m[3]))
          .sort((a, b) => parseCidr(b.dst)!.prefix - parseCidr(a.dst)!.prefix);
        if (!onLink.length) throw new Refusal(family === 4 ? 'Error: Nexthop has invalid gateway.' : 'RTNETLINK answers: No route to host');
        route = { dst, family, gateway: m[2], dev: onLink[0]!.dev, protocol: 'boot', scope: 'universe', prefsrc: null };
      } else {
        const l = this.dev(n, m[4]!);
        if (!l.up) throw new Refusal('Error: Nexthop device is not up.');
        const src = m[5];
        if (src !== undefined && ![...n.links.values()].some((x) => x.addrs.some((a) => a.local === src))) throw new Refusal('Error: Invalid prefsrc address.');
        route = { dst, family, gateway: null, dev: l.name, protocol: line.includes('proto kernel') ? 'kernel' : 'boot', scope: 'link', prefsrc: src ?? null };
      }
      const i = n.routes.findIndex((r) => r.dst === dst);
      if (i >= 0 && verb === 'add') throw new Refusal('RTNETLINK answers: File exists');
      if (i >= 0) n.routes[i] = route;
      else n.routes.push(route);
      return;
    }
    if (obj === 'route' && (verb === 'del' || verb === 'delete')) {
      const m = shape(/^route del (\S+) via (\S+)$/, /^route (?:del|delete) (?:to )?(\S+)(?: via (\S+))?(?: dev (\S+))?$/);
      const dst = this.routeDst(m[1]!, (m[2] ?? m[1]!).includes(':') ? 6 : 4);
      const i = n.routes.findIndex((r) => r.dst === dst && (m[2] === undefined || r.gateway === m[2]) && (m[3] === undefined || r.dev === m[3]));
      if (i < 0) throw new Refusal('RTNETLINK answers: No such process');
      n.routes.splice(i, 1);
      return;
    }
    throw new Unmodelled(line);
  }

  /** A route destination as ip reads it: `default`, a bare address (/32, /128) or a network CIDR. */
  private routeDst(s: string, family: 4 | 6 = 4): string {
    if (s === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
    const c = s.includes('/') ? s : `${s}/${s.includes(':') ? 128 : 32}`;
    const p = parseCidr(c);
    if (!p) throw new Refusal(`Error: any valid prefix is expected rather than "${s}".`, true);
    if (networkOf(c) !== `${p.addr}/${p.prefix}`) throw new Refusal('Error: Invalid prefix for given prefix length.');
    return c;
  }

  // ---- what `ip -j` prints -----------------------------------------------

  private linksJson(n: FakeNs): unknown[] {
    return [...n.links.values()].sort((a, b) => a.ifindex - b.ifindex).map((l) => {
      const carrier = this.carrier(n, l);
      const lo = l.kind === 'loopback';
      const flags = lo ? (l.up ? ['LOOPBACK', 'UP', 'LOWER_UP'] : ['LOOPBACK']) : carrier ? ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'] : l.up ? ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'] : ['BROADCAST', 'MULTICAST'];
      const peer = l.peer ? this.nss.get(l.peer.ns)?.links.get(l.peer.name) : undefined;
      const inet = l.addrs.filter((a) => a.family === 4).map((a) => ({
        family: 'inet',
        local: a.local,
        prefixlen: a.prefixlen,
        ...(a.brd ? { broadcast: a.brd } : {}),
        scope: a.scope,
        ...(a.secondary ? { secondary: true } : {}),
        label: l.name,
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      }));
      // Global IPv6 addresses first, then the kernel's own (::1, the EUI-64 link-local of an up link).
      const own6 = l.addrs.filter((a) => a.family === 6).map((a) => ({ family: 'inet6', local: a.local, prefixlen: a.prefixlen, scope: a.scope }));
      const kernels = !l.up ? [] : lo ? [{ family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' }] : [{ family: 'inet6', local: linkLocal(l.mac), prefixlen: 64, scope: 'link' }];
      const inet6 = l.ipv6Off === '1' ? [] : [...own6, ...kernels];
      return {
        ifindex: l.ifindex,
        // As ip prints a veth's peer: by name beside it, by index and netnsid in another namespace.
        ...(peer && l.peer!.ns === key(n.name) ? { link: l.peer!.name } : peer ? { link_index: peer.ifindex } : {}),
        ifname: l.name,
        flags,
        mtu: l.mtu ?? (lo ? 65536 : 1500),
        qdisc: l.up ? 'noqueue' : 'noop',
        ...(l.master ? { master: l.master } : {}),
        operstate: lo ? (l.up ? 'UNKNOWN' : 'DOWN') : carrier ? 'UP' : l.up && l.kind === 'veth' ? 'LOWERLAYERDOWN' : 'DOWN',
        group: l.group ? String(l.group) : 'default',
        txqlen: 1000,
        link_type: lo ? 'loopback' : 'ether',
        address: l.mac,
        broadcast: lo ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff',
        ...(l.peer && l.peer.ns !== key(n.name) ? { link_netnsid: 0 } : {}),
        addr_info: [...inet, ...inet6.map((a) => ({ ...a, valid_life_time: 4294967295, preferred_life_time: 4294967295 }))],
      };
    });
  }

  /** `ip -6 -j route show table main`: ours, and the kernel's fe80::/64 on every up link. */
  private routes6Json(n: FakeNs): unknown[] {
    const kernels: FakeRoute[] = [...n.links.values()].filter((l) => l.up && l.kind !== 'loopback').map((l) => ({ dst: 'fe80::/64', family: 6, gateway: null, dev: l.name, protocol: 'kernel', scope: 'link', prefsrc: null }));
    return sortedRoutes([...n.routes.filter((r) => r.family === 6), ...kernels]).map((r) => ({ ...this.routeJson(n, r), metric: r.gateway ? 1024 : 256, pref: 'medium' }));
  }

  /** What `ip -j route` prints of a route of either family. */
  private routeJson(n: FakeNs, r: FakeRoute): Record<string, unknown> {
    const l = n.links.get(r.dev);
    return {
      dst: dstText(r.dst),
      ...(r.gateway ? { gateway: r.gateway } : {}),
      dev: r.dev,
      ...(r.protocol === 'kernel' ? { protocol: 'kernel' } : {}),
      ...(r.scope === 'link' && r.family === 4 ? { scope: 'link' } : {}),
      ...(r.prefsrc ? { prefsrc: r.prefsrc } : {}),
      flags: l && !this.carrier(n, l) ? ['linkdown'] : [],
    };
  }

  private routesJson(n: FakeNs): unknown[] {
    return sortedRoutes(n.routes.filter((r) => r.family === 4)).map((r) => this.routeJson(n, r));
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The kernel's dump order: IPv4 before IPv6, then by destination address, then prefix length. */
function sortedRoutes(routes: FakeRoute[]): FakeRoute[] {
  return [...routes].sort((a, b) => compareCidr(a.dst, b.dst) || cmp(a.dev, b.dev));
}

/** A fake for one test: verify() runs when the test ends, so an unmodelled command or a refusal fails it. */
export function fakeFor(t: TestContext, opts: FakeOptions = {}): FakeSystem {
  const f = new FakeSystem(opts);
  t.after(() => f.verify());
  return f;
}
