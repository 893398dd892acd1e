// Section 7 — issue 17's figures for `l3ctl apply`:
//   · 10 routers × 2 ports × 5 FIPs from an empty host by one `apply` against
//     the same build by separate commands (goal ≥ 10× faster);
//   · 250 floating IPs on one router in one apply (goal ≤ 2 s).
// Until `l3ctl apply` exists both rows print "n/a". The document is what
// `l3ctl export` prints for a store generated with the topology (export only
// reads the store), so this section needs no knowledge of the format.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { l3ctl, median } from './lib/proc.js';
import { withSandbox, type Sandbox } from './lib/kernel.js';
import { fmtMs, missing, progress, ratioGoal, ratioRow, row, type Section } from './lib/report.js';
import { manyFipsShape, neutronShape } from './lib/topology.js';
import type { State } from '../src/model/types.js';

const TITLE = '7. Declarative apply (issue 17)';
const FIG_MANY = 'apply 10 routers × 2 ports × 5 FIPs: separate commands / one apply';
const FIG_250 = 'one apply of 250 FIPs on one router (from empty)';

/** `l3ctl apply --help` succeeds and is apply's own help (an unknown command with --help prints the general help, exit 0). */
export async function applyAvailable(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'l3ctl-bench-apply-'));
  try {
    const r = await l3ctl(join(dir, 'state.json'), ['apply', '--help'], { check: false });
    return r.status === 0 && /^Usage: l3ctl apply\b/m.test(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The document `export` prints for `s` (JSON when export can be asked for it), and its file name extension. */
async function exportDocument(sb: Sandbox, s: State): Promise<{ text: string; ext: string }> {
  const scratch = join(sb.dir, 'export-source.json');
  sb.writeStore(s, scratch);
  for (const args of [['export', '--format', 'json'], ['export', '-f', 'json'], ['export']]) {
    const r = await l3ctl(scratch, args, { check: false });
    if (r.status === 0 && r.stdout.trim()) return { text: r.stdout, ext: /^\s*[{[]/.test(r.stdout) ? 'json' : 'yaml' };
  }
  throw new Error('l3ctl export printed no document');
}

/** A fresh store holding only this node's config (as `config set` leaves it). */
async function nodeStore(sb: Sandbox): Promise<void> {
  rmSync(sb.store, { force: true });
  for (const [k, v] of Object.entries(sb.config)) await l3ctl(sb.store, ['config', 'set', k, v, '-q']);
}

async function timedApply(sb: Sandbox, doc: { text: string; ext: string }): Promise<number> {
  const file = join(sb.dir, `site.${doc.ext}`);
  writeFileSync(file, doc.text);
  sb.clearKernel();
  await nodeStore(sb);
  const ms = (await l3ctl(sb.store, ['apply', file, '-q'])).ms;
  // The figure counts only if the result is right: the kernel matches the store.
  await l3ctl(sb.store, ['agent', 'check', '-q']);
  return ms;
}

/** The same topology by one command per object, as a script would build it (router ids kept, so cleanup knows the namespaces). */
async function byCommands(sb: Sandbox, s: State): Promise<{ ms: number; commands: number }> {
  await nodeStore(sb);
  const net = new Map(s.networks.map((n) => [n.id, n]));
  const calls: string[][] = [];
  for (const n of s.networks) calls.push(['network', 'add', n.name, '--cidr', n.subnets[0]!.cidr, ...(n.subnets[0]!.gateway_ip ? ['--gateway-ip', n.subnets[0]!.gateway_ip] : []), ...(n.external ? ['--external'] : [])]);
  for (const r of s.routers) {
    calls.push(['router', 'add', r.name, '--id', r.id]);
    if (r.gateway) calls.push(['gateway', 'set', r.name, net.get(r.gateway.network_id)!.name, '--ip', r.gateway.fixed_ips[0]!.ip_address]);
    for (const p of r.interfaces) calls.push(['interface', 'add', r.name, net.get(p.network_id)!.name, '--ip', p.fixed_ips[0]!.ip_address]);
  }
  const routerName = new Map(s.routers.map((r) => [r.id, r.name]));
  for (const f of s.floatingips) if (f.router_id) calls.push(['fip', 'associate', f.floating_ip_address, f.fixed_ip_address!, '--router', routerName.get(f.router_id)!]);
  let ms = 0;
  for (const c of calls) ms += (await l3ctl(sb.store, [...c, '-q'])).ms;
  return { ms, commands: calls.length };
}

export async function benchApply(rounds: number): Promise<Section> {
  if (!(await applyAvailable())) {
    const why = 'l3ctl apply not available';
    return { title: TITLE, rows: [missing(FIG_MANY, why, ratioGoal('>=', 10)), missing(FIG_250, why, { op: '<=', limit: 2, unit: ' s' })], notes: [] };
  }
  const t = { commands: [] as number[], apply: [] as number[], many: [] as number[] };
  let commands = 0;
  await withSandbox('apply', async (sb) => {
    const { state } = neutronShape(10, 2, 5, sb.config, 'ap');
    const big = manyFipsShape(250, sb.config);
    sb.track(state);
    sb.track(big);
    // Export first: without a document there is no figure, and the slow command build is not worth it.
    const docs = [await exportDocument(sb, state), await exportDocument(sb, big)] as const;
    // The command build takes a minute or two: once. The applies: `rounds` times.
    progress(`apply: the same build by separate commands (once)`);
    sb.clearKernel();
    const c = await byCommands(sb, state);
    t.commands.push(c.ms);
    commands = c.commands;
    for (let i = 0; i < rounds; i++) {
      progress(`apply: round ${i + 1}/${rounds}: one apply of ${state.routers.length} routers, one of 250 FIPs`);
      t.apply.push(await timedApply(sb, docs[0]));
      t.many.push(await timedApply(sb, docs[1]));
    }
  });
  const m = median(t.many);
  return {
    title: `${TITLE} (command build once, applies: median of ${rounds} rounds)`,
    rows: [
      ratioRow(FIG_MANY, median(t.commands), median(t.apply), ratioGoal('>=', 10), `${commands} commands`),
      row(FIG_250, m / 1000, { op: '<=', limit: 2, unit: ' s' }, fmtMs(m)),
    ],
    notes: [],
  };
}
