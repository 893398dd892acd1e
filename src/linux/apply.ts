// Runs a plan's actions in few processes, in the order the agent needs:
// namespaces, sysctls, the driver's plug commands, the host's `ip -batch`
// (bridges, host ends), the router's `ip -batch` (links, addresses, routes;
// removals last), the devices' own sysctls, the driver's unplug commands, one
// `iptables-restore --noflush --counters`, floating IP addresses, conntrack,
// per-router daemons, gratuitous ARP, and the namespace's deletion last (a
// daemon is stopped while its namespace still exists).
import { ROUTER_ORDER, type Action, type ActionSet, type NatRule } from './actions.js';
import { applyDaemonAction } from './daemon.js';
import type { Files } from './files.js';
import { TABLES } from './iptables.js';
import { CommandError, NOT_FOUND, type RunResult, type Runner } from './runner.js';
import { ApplyError } from '../model/errors.js';
import { byText } from '../model/order.js';

const ipBatch = (ns: string | null) => (ns ? ['ip', '-n', ns, '-batch', '-'] : ['ip', '-batch', '-']);
/** How many of a plan's programs (conntrack flushes) run at once. */
const EXEC_AT_ONCE = 4;

const inNs = (ns: string | null, argv: string[]) => (ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv);
const batchInput = (lines: string[]) => lines.join('\n') + '\n';

export interface ApplyOptions {
  sendArpForHa: number;
  /** Daemon config and pid files (real or dry-run face, as the runner); needed by daemon actions. */
  files?: Files;
  /** A non-fatal problem (a missing conntrack): said, not failed on. */
  warn?: (text: string) => void;
}

type Of<P extends Action['phase']> = Extract<Action, { phase: P }>;
const pick = <P extends Action['phase']>(actions: Action[], phase: P) => actions.filter((a): a is Of<P> => a.phase === phase);

const ruleText = (r: NatRule) => (r.counters ? `${r.counters} ${r.rule}` : r.rule);

/** The restore payload for our chains and jumps: declared chains are flushed, so each is written whole; edited ones are not declared. */
export function restorePayload(actions: Action[]): string | null {
  const chains = pick(actions, 'nat');
  const edits = pick(actions, 'nat-edit');
  const jumps = pick(actions, 'nat-jumps');
  const out: string[] = [];
  for (const t of TABLES) {
    const c = chains.filter((a) => a.table === t).sort((a, b) => byText(a.chain, b.chain));
    const e = edits.filter((a) => a.table === t).sort((a, b) => byText(a.chain, b.chain));
    const j = jumps.filter((a) => a.table === t).sort((a, b) => byText(a.builtin, b.builtin));
    if (!c.length && !e.length && !j.length) continue;
    out.push(`*${t}`);
    for (const a of c) out.push(`:${a.chain} - [0:0]`);
    for (const a of c) out.push(...(a.rules ?? []).map(ruleText));
    for (const a of e) {
      for (const r of a.del) out.push(`-D ${a.chain}${r.slice(`-A ${a.chain}`.length)}`);
      for (const r of a.ins) out.push(`-I ${a.chain} ${r.position}${r.rule.slice(`-A ${a.chain}`.length)}`);
    }
    for (const a of j) {
      for (const r of a.del) out.push(`-D ${a.builtin}${r.slice(`-A ${a.builtin}`.length)}`);
      for (const r of a.ins) out.push(`-I ${a.builtin} ${r.position}${r.rule.slice(`-A ${a.builtin}`.length)}`);
    }
    for (const a of c) if (a.rules === null) out.push(`-X ${a.chain}`);
    out.push('COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : null;
}

/** The router namespace's batch lines, in ROUTER_ORDER (stable within one kind). */
export function routerLines(actions: Action[]): string[] {
  return pick(actions, 'router')
    .map((a, i) => ({ a, i }))
    .sort((x, y) => ROUTER_ORDER.indexOf(x.a.order) - ROUTER_ORDER.indexOf(y.a.order) || x.i - y.i)
    .map((x) => x.a.line);
}

const programMissing = (r: RunResult) => r.exitCode === NOT_FOUND || /exec of "[^"]+" failed: No such file/.test(r.stderr);

export async function applyActions(runner: Runner, plan: ActionSet, opts: ApplyOptions): Promise<void> {
  const actions = plan.actions;
  // What cannot be done fails the command before anything has changed.
  const fail = pick(actions, 'fail')[0];
  if (fail) throw fail.error;
  const ns = plan.ns;
  const created = pick(actions, 'netns-add').map((a) => a.ns);
  if (created.length === 1) await runner.run(['ip', 'netns', 'add', created[0]!]);
  else if (created.length > 1) await runner.run(ipBatch(null), { input: batchInput(created.map((n) => `netns add ${n}`)) });
  // Before the batches: promote_secondaries must be on when a port's old
  // primary address goes, or the new one (a secondary) goes with it.
  const sysctls = pick(actions, 'sysctl');
  for (const a of sysctls) if (a.warning) opts.warn?.(a.warning);
  if (sysctls.length) await runner.run(inNs(ns, ['sysctl', '-q', '-w', ...sysctls.map((a) => a.setting)]));
  for (const a of pick(actions, 'plug')) await runner.run(a.argv);
  const host = pick(actions, 'host').map((a) => a.line);
  if (host.length) await runner.run(ipBatch(plan.hostNs), { input: batchInput(host) });
  const hostSysctls = pick(actions, 'host-sysctl');
  if (hostSysctls.length) await runner.run(inNs(plan.hostNs, ['sysctl', '-q', '-w', ...hostSysctls.map((a) => a.setting)]));
  const router = routerLines(actions);
  if (router.length) await runner.run(ipBatch(ns), { input: batchInput(router) });
  const devSysctls = pick(actions, 'dev-sysctl');
  if (devSysctls.length) await runner.run(inNs(ns, ['sysctl', '-q', '-w', ...devSysctls.map((a) => a.setting)]));
  for (const a of pick(actions, 'unplug')) await runner.run(a.argv);
  const restore = restorePayload(actions);
  if (restore !== null) await runner.run(inNs(ns, ['iptables-restore', '-w', '--noflush', '--counters']), { input: restore });
  const fips = pick(actions, 'fip').map((a) => a.line);
  if (fips.length) await runner.run(ipBatch(ns), { input: batchInput(fips) });
  const warned = new Set<string>();
  const exec = async (a: Extract<Action, { phase: 'exec' }>) => {
    let r: RunResult;
    try {
      r = await runner.run(inNs(ns, a.argv), { okCodes: a.okCodes });
    } catch (err) {
      if (!a.optional || !(err instanceof CommandError && programMissing(err.result))) throw err;
      r = err.result;
    }
    // `ip netns exec` of a missing program exits 1, which conntrack's okCodes accept.
    if (a.optional && programMissing(r) && !warned.has(a.optional)) {
      opts.warn?.(a.optional);
      warned.add(a.optional);
    }
  };
  // Independent programs (conntrack flushes) a few at once, not one after
  // another (a floating IP's two took 16 ms in turn); any other in its turn.
  let together: Extract<Action, { phase: 'exec' }>[] = [];
  const runTogether = async () => {
    for (let i = 0; i < together.length; i += EXEC_AT_ONCE) await Promise.all(together.slice(i, i + EXEC_AT_ONCE).map(exec));
    together = [];
  };
  for (const a of pick(actions, 'exec')) {
    if (a.independent) together.push(a);
    else {
      await runTogether();
      await exec(a);
    }
  }
  await runTogether();
  for (const a of pick(actions, 'dad')) await detectDuplicate(runner, ns, a);
  const daemons = pick(actions, 'daemon');
  if (daemons.length && !opts.files) throw new Error('apply: daemon actions need the files face');
  for (const a of daemons) await applyDaemonAction({ runner, files: opts.files! }, a.op, a.spec);
  if (opts.sendArpForHa > 0) {
    const n = String(opts.sendArpForHa);
    const deadline = String(Math.ceil(opts.sendArpForHa * 1.5));
    for (const g of pick(actions, 'garp')) runner.background(inNs(ns, ['arping', '-q', '-A', '-I', g.dev, '-c', n, '-w', deadline, g.ip]));
  }
  for (const a of pick(actions, 'netns-del')) await runner.run(['ip', 'netns', 'del', a.ns]);
}

/** The MACs that answered an `arping -D` probe ("Unicast reply from IP [MAC]"), in lower case. */
export function dadRepliers(stdout: string): string[] {
  return [...stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1]!.toLowerCase());
}

/**
 * `arping -D`: one probe for the address, a second's wait for an answer. Run
 * once the address is on (the probe's sender is 0.0.0.0 all the same, and
 * a device never answers its own probe), so the usual case costs no extra
 * step; an answer from anyone but `ignoreMacs` is a collision.
 */
async function detectDuplicate(runner: Runner, ns: string | null, a: Extract<Action, { phase: 'dad' }>): Promise<void> {
  const r = await runner.run(inNs(ns, ['arping', '-D', '-I', a.dev, '-c', '1', '-w', '1', a.ip]), { okCodes: [1] });
  const others = dadRepliers(r.stdout).filter((m) => !a.ignoreMacs.includes(m));
  if (others.length) {
    throw new ApplyError(
      `HA address ${a.ip} of this node is already used on the HA network (answered by ${[...new Set(others)].join(', ')}): each node needs its own`,
      'give this node a free address of the HA network: l3ctl config set ha_node_address ADDRESS',
    );
  }
}
