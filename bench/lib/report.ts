// One row per figure of issues 16/17: what was measured, the value, the goal
// and whether it is met. A section is a titled list of rows plus free notes
// (what the figure was compared with, load average, anything skipped).

export type Goal = { op: '<=' | '>=' | '=='; limit: number; unit: string } | null;

export interface Row {
  figure: string;
  /** Shown as is; null when the figure could not be taken (see `note`). */
  value: string | null;
  goal: Goal;
  /** null: no goal, or not measured. */
  met: boolean | null;
  note?: string;
}

export interface Section {
  title: string;
  rows: Row[];
  notes: string[];
}

export const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 100 ? 1 : 0)} ms`);
export const fmtRatio = (x: number) => `${x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2)}×`;

const goalText = (g: Goal) => (g ? `${g.op === '==' ? '=' : g.op === '<=' ? '≤' : '≥'} ${g.limit}${g.unit}` : '');

export function judge(value: number, goal: Goal): boolean | null {
  if (!goal) return null;
  if (goal.op === '<=') return value <= goal.limit;
  if (goal.op === '>=') return value >= goal.limit;
  return value === goal.limit;
}

/** A figure with a goal; `shown` defaults to the value formatted with the goal's unit. */
export function row(figure: string, value: number, goal: Goal, shown?: string, note?: string): Row {
  const text = shown ?? (goal?.unit === '×' ? fmtRatio(value) : `${value}${goal?.unit ?? ''}`);
  return { figure, value: text, goal, met: judge(value, goal), note };
}

/** A figure reported for information (no goal of its own). */
export const info = (figure: string, value: string, note?: string): Row => ({ figure, value, goal: null, met: null, note });

/** A figure that could not be taken, and why. */
export const missing = (figure: string, why: string, goal: Goal = null): Row => ({ figure, value: null, goal, met: null, note: why });

export const ratioGoal = (op: '<=' | '>=', limit: number): Goal => ({ op, limit, unit: '×' });

export function renderSection(s: Section): string {
  const head = ['figure', 'value', 'goal', 'met'];
  const cells = s.rows.map((r) => [
    r.figure,
    r.value ?? `n/a${r.note ? ` (${r.note})` : ''}`,
    goalText(r.goal),
    r.met === null ? (r.value === null && r.goal ? 'n/a' : '') : r.met ? 'yes' : 'NO',
  ]);
  const all = [head, ...cells];
  const w = head.map((_, i) => Math.max(...all.map((c) => [...c[i]!].length)));
  const pad = (v: string, i: number) => v + ' '.repeat(w[i]! - [...v].length);
  const line = (c: string[]) => c.map(pad).join('  ').trimEnd();
  const out = [`\n${s.title}`, line(head), w.map((n) => '-'.repeat(n)).join('  ')];
  out.push(...cells.map(line));
  const notes = [...s.rows.filter((r) => r.value !== null && r.note).map((r) => `${r.figure}: ${r.note}`), ...s.notes];
  for (const n of notes) out.push(`  · ${n}`);
  return out.join('\n') + '\n';
}

/** Progress on stderr; stdout carries only the tables. */
export const progress = (msg: string) => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** `num / den` against a ratio goal, shown with both times: `2.20× (152 ms / 69.0 ms)`. */
export function ratioRow(figure: string, num: number, den: number, goal: Goal, note?: string): Row {
  const r = num / den;
  return row(figure, r, goal, `${fmtRatio(r)} (${fmtMs(num)} / ${fmtMs(den)})`, note);
}
