// Our iptables section: desired (nat.ts) against the parsed save. One step per
// chain of ours whose rules differ (edited in place when that is shorter,
// else rewritten whole with the counters of the rules it keeps carried
// over), per built-in chain whose jumps differ, and
// per chain of ours that is no longer wanted. Unchanged chains are not
// touched, so their counters run on. Set comparisons only: linear in the
// number of rules.
import { ApplyError } from '../model/errors.js';
import { TABLES, targetOf, type ParsedSave, type Section, type TableName } from '../linux/iptables.js';
import { chainLine, jumpLine, ruleLine } from './nat.js';
import type { NatRule } from '../linux/actions.js';
import type { Finding, Step } from './steps.js';

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function ruleFindings(t: TableName, want: string[], have: string[]): Finding[] {
  const w = new Set(want);
  const h = new Set(have);
  return [
    ...want.filter((r) => !h.has(r)).map((r): Finding => ({ kind: 'missing-nat-rule', object: ruleLine(t, r), expected: ruleLine(t, r), live: null })),
    ...have.filter((r) => !w.has(r)).map((r): Finding => ({ kind: 'extra-nat-rule', object: ruleLine(t, r), expected: null, live: ruleLine(t, r) })),
  ];
}

/**
 * The rules to delete (by text) and insert (at 1-based positions, ascending)
 * that turn `have` into `want`, when that is no more lines than writing the
 * chain whole: one floating IP more on a router of 200 is three rules, not
 * 600, for iptables-restore to take in. Null (rewrite it) when either list
 * repeats a rule or the rules both hold are in another order.
 */
export function chainEdits(want: string[], have: string[]): { del: string[]; ins: { position: number; rule: string }[] } | null {
  const w = new Set(want);
  const h = new Set(have);
  if (w.size !== want.length || h.size !== have.length) return null;
  if (!sameList(want.filter((r) => h.has(r)), have.filter((r) => w.has(r)))) return null;
  const del = have.filter((r) => !w.has(r));
  const ins = want.flatMap((rule, i) => (h.has(rule) ? [] : [{ position: i + 1, rule }]));
  return del.length + ins.length <= want.length ? { del, ins } : null;
}

export function planNat(desired: Section, obs: ParsedSave): Step[] {
  const out: Step[] = [];
  for (const t of TABLES) {
    const want = desired[t];
    const have = obs.ours[t];
    const counters = obs.counters[t];
    for (const c of Object.keys(want.chains).sort()) {
      const w = want.chains[c]!;
      const h = have.chains[c];
      if (h && sameList(w, h)) continue;
      const findings = h === undefined
        ? [{ kind: 'missing-nat-chain', object: chainLine(t, c), expected: chainLine(t, c), live: null } as Finding, ...ruleFindings(t, w, [])]
        : ruleFindings(t, w, h);
      // Same rules in another order: the order is what differs.
      if (!findings.length) findings.push({ kind: 'nat-order', object: chainLine(t, c), expected: w.map((r) => ruleLine(t, r)).join('; '), live: h!.map((r) => ruleLine(t, r)).join('; ') });
      const edits = h && chainEdits(w, h);
      if (edits) {
        out.push({ findings, actions: [{ phase: 'nat-edit', table: t, chain: c, ...edits }] });
        continue;
      }
      const rules: NatRule[] = w.map((rule) => ({ rule, counters: counters.get(rule) }));
      out.push({ findings, actions: [{ phase: 'nat', table: t, chain: c, rules }] });
    }
    for (const c of Object.keys(have.chains).sort()) {
      if (c in want.chains) continue;
      // Deleting such a chain would need the foreign rule gone: not ours to touch.
      const ref = obs.foreignRefs[t].find((r) => targetOf(r) === c);
      const findings: Finding[] = [{ kind: 'extra-nat-chain', object: chainLine(t, c), expected: null, live: chainLine(t, c) }, ...ruleFindings(t, [], have.chains[c]!)];
      const action = ref
        ? { phase: 'fail' as const, error: new ApplyError(`stale chain ${c} (${t}) is still used by a rule that is not ours: ${ref}`, 'remove that rule by hand, then run l3ctl agent sync') }
        : { phase: 'nat' as const, table: t, chain: c, rules: null };
      out.push({ findings, actions: [action] });
    }
    for (const b of [...new Set([...Object.keys(want.jumps), ...Object.keys(have.jumps)])].sort()) {
      const w = want.jumps[b] ?? [];
      const h = have.jumps[b] ?? [];
      const wl = w.map((j) => jumpLine(t, b, j));
      const hl = h.map((j) => jumpLine(t, b, j));
      if (sameList(wl, hl)) continue;
      const wanted = new Set(wl);
      const live = new Set(hl);
      const findings: Finding[] = [
        ...wl.filter((l) => !live.has(l)).map((l): Finding => ({ kind: 'missing-nat-rule', object: l, expected: l, live: null })),
        ...hl.filter((l) => !wanted.has(l)).map((l): Finding => ({ kind: 'extra-nat-rule', object: l, expected: null, live: l })),
      ];
      // Jumps already in place at the top stay, with their counters; from the
      // first difference on they are deleted and inserted again. By rule text,
      // not index: the index may shift if someone writes in between.
      let keep = 0;
      while (keep < wl.length && keep < hl.length && wl[keep] === hl[keep]) keep++;
      out.push({ findings, actions: [{ phase: 'nat-jumps', table: t, builtin: b, del: h.slice(keep).map((j) => j.rule), ins: w.slice(keep) }] });
    }
  }
  return out;
}
