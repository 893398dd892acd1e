// Section 4 (--neutron) — side by side with the real Neutron L3 agent, in the
// same run: the anchor harness (../shared/anchors/neutron/harness.py, Debian's
// python3-neutron) on 10 routers × 2 ports × 5 FIPs with gratuitous ARP off,
// and l3ctl doing each phase's work on the same topology (same addresses,
// lib/topology.ts neutronShape):
//   a  configure all from nothing     agent sync from an empty kernel
//   b  router 0 gets one more FIP     one `fip associate` process
//   c  that FIP is removed again      one `fip disassociate` process
//   d  no-change update of all        converged `agent sync`
//   e  delete all routers             one `router delete` of all ten
// Figures are Neutron time / l3ctl time (l3ctl: median of several rounds).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { l3ctl, median, ROOT, run } from './lib/proc.js';
import { withSandbox } from './lib/kernel.js';
import { fmtMs, info, missing, progress, ratioGoal, ratioRow, type Goal, type Section } from './lib/report.js';
import { neutronShape, routerNamespaces } from './lib/topology.js';

const R = 10, I = 2, F = 5;
const PY = '/usr/bin/python3'; // Debian's interpreter: python3-neutron lives in its dist-packages

export function findHarness(): string | null {
  const candidates = [process.env.NEUTRON_HARNESS, join(ROOT, '..', 'shared', 'anchors', 'neutron', 'harness.py'), join(ROOT, '..', '..', 'shared', 'anchors', 'neutron', 'harness.py'), '/work/shared/anchors/neutron/harness.py'];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? null;
}

/** As the anchor's run.sh: install python3-neutron (and the agent package) when missing. */
async function ensureNeutron(): Promise<void> {
  if ((await run(['dpkg', '-s', 'python3-neutron'], { check: false })).status === 0) return;
  progress('neutron: installing python3-neutron neutron-l3-agent (apt-get)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run(['apt-get', 'update', '-q'], { env });
  await run(['apt-get', 'install', '-y', '-q', 'python3-neutron', 'neutron-l3-agent'], { env });
}

type Phase = 'a' | 'b' | 'c' | 'd' | 'e';
const PHASES: { p: Phase; key: string; what: string; goal: Goal }[] = [
  { p: 'a', key: 'a_configure_all_s', what: 'a configure all from empty (agent sync)', goal: ratioGoal('>=', 50) },
  { p: 'b', key: 'b_add_fip_s', what: 'b add one FIP (one fip associate process)', goal: ratioGoal('>=', 2) },
  { p: 'c', key: 'c_remove_fip_s', what: 'c remove it (one fip disassociate process)', goal: null },
  { p: 'd', key: 'd_resync_all_s', what: 'd no-change resync (agent sync)', goal: ratioGoal('>=', 10) },
  { p: 'e', key: 'e_delete_all_s', what: 'e delete all ten (one router delete)', goal: ratioGoal('>=', 10) },
];

async function l3ctlPhases(t: Record<Phase, number[]>, from: number, to: number, rounds: number): Promise<void> {
  return withSandbox('neutron', async (sb) => {
    const { state, spare } = neutronShape(R, I, F, sb.config, 'nr');
    for (let i = from; i < to; i++) {
      progress(`neutron: l3ctl phases a-e, round ${i + 1}/${rounds}`);
      sb.clearKernel();
      sb.writeStore(state);
      t.a.push((await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms);
      t.b.push((await l3ctl(sb.store, ['fip', 'associate', spare.fip, spare.fixed, '--router', spare.router, '-q'])).ms);
      t.c.push((await l3ctl(sb.store, ['fip', 'disassociate', spare.fip, '-q'])).ms);
      t.d.push((await l3ctl(sb.store, ['agent', 'sync', '-q'])).ms);
      t.e.push((await l3ctl(sb.store, ['router', 'delete', ...state.routers.map((r) => r.name), '--yes', '-q'])).ms);
      const left = routerNamespaces(state).filter((ns) => existsSync(`/run/netns/${ns}`));
      if (left.length) throw new Error(`router delete left ${left.length} namespaces`);
    }
  });
}

export async function benchNeutron(rounds: number): Promise<Section> {
  const title = `4. Against the Neutron L3 agent: ${R} routers × ${I} ports × ${F} FIPs, --garp-count 0 (Neutron / l3ctl)`;
  const harness = findHarness();
  if (!harness) return { title, rows: PHASES.map((ph) => missing(ph.what, 'harness.py not found; set NEUTRON_HARNESS', ph.goal)), notes: [] };
  await ensureNeutron();
  // l3ctl's rounds on both sides of the harness, so that both meet the same load on this shared machine.
  const ours: Record<Phase, number[]> = { a: [], b: [], c: [], d: [], e: [] };
  const before = Math.ceil(rounds / 2);
  await l3ctlPhases(ours, 0, before, rounds);
  progress(`neutron: running ${harness} -R ${R} -I ${I} -F ${F} --garp-count 0 (a minute or more)`);
  const h = await run([PY, harness, '-R', String(R), '-I', String(I), '-F', String(F), '--garp-count', '0'], { check: false });
  await l3ctlPhases(ours, before, rounds, rounds);
  const line = h.stdout.trim().split('\n').pop() ?? '';
  let res: Record<string, number | string>;
  try {
    res = JSON.parse(line);
  } catch {
    const why = `harness exit ${h.status}: ${h.stderr.trim().split('\n').slice(-2).join(' | ')}`;
    return { title, rows: PHASES.map((ph) => missing(ph.what, why, ph.goal)), notes: [] };
  }
  const rows = PHASES.map((ph) => ratioRow(ph.what, Number(res[ph.key]) * 1000, median(ours[ph.p]), ph.goal));
  rows.push(info('Neutron privsep warm-up (not counted)', fmtMs(Number(res.privsep_warmup_s) * 1000)));
  return {
    title,
    rows,
    notes: [
      `Neutron ${res.neutron_version}, mode ${res.mode}, privsep pool ${res.privsep_thread_pool_size}, one run (${fmtMs(h.ms)} in all); l3ctl: median of ${rounds} rounds, ${before} before the harness and ${rounds - before} after`,
      "Neutron's phases are timed inside its warm daemon; l3ctl's are whole processes. Neutron also installs mangle/raw chains l3ctl (the Grizzly agent's rule set) does not",
    ],
  };
}
