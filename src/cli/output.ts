// table | json | value, with -c selecting and ordering columns.
import { UsageError } from '../model/errors.js';
import type { IO } from './io.js';

export type Row = Record<string, unknown>;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function pick(rows: Row[], all: string[], wanted: string[]): { cols: string[]; rows: Row[] } {
  if (!wanted.length) return { cols: all, rows };
  for (const c of wanted) {
    if (!all.includes(c)) throw new UsageError(`unknown column '${c}'`, `columns: ${all.join(', ')}`);
  }
  return { cols: wanted, rows: rows.map((r) => Object.fromEntries(wanted.map((c) => [c, r[c]]))) };
}

function plainTable(cols: string[], rows: Row[]): string {
  const cells = [cols, ...rows.map((r) => cols.map((c) => cell(r[c])))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((v, i) => (i === row.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

async function ttyTable(io: IO, cols: string[], rows: Row[]): Promise<string> {
  const { default: Table } = await import('cli-table3');
  // l3ctl decides colour (TTY, NO_COLOR, --no-color); chalk's own guess (it
  // turns colour off whenever CI is set, for one) must not overrule it.
  const head = io.color ? new (await import('chalk')).Chalk({ level: 1 }).bold : (s: string) => s;
  const t = new Table({ head: cols.map((c) => head(c)), style: { head: [], border: [] } });
  for (const r of rows) t.push(cols.map((c) => cell(r[c])));
  return t.toString();
}

/** A list of objects. `all` is the documented column order. */
export async function printList(io: IO, all: string[], rows: Row[]): Promise<void> {
  const sel = pick(rows, all, io.columns);
  if (io.format === 'json') return io.out(JSON.stringify(sel.rows, null, 2));
  if (io.format === 'value') {
    if (sel.rows.length) io.out(sel.rows.map((r) => sel.cols.map((c) => cell(r[c])).join('\t')).join('\n'));
    return;
  }
  if (!sel.rows.length && !io.stdout.isTTY) return;
  io.out(io.stdout.isTTY ? await ttyTable(io, sel.cols, sel.rows) : plainTable(sel.cols, sel.rows));
}

/** One object: table shows Field/Value pairs. */
export async function printObject(io: IO, all: string[], obj: Row): Promise<void> {
  const sel = pick([obj], all, io.columns);
  const o = sel.rows[0]!;
  if (io.format === 'json') return io.out(JSON.stringify(o, null, 2));
  if (io.format === 'value') return io.out(sel.cols.map((c) => cell(o[c])).join('\t'));
  const rows = sel.cols.map((c) => ({ Field: c, Value: o[c] }));
  io.out(io.stdout.isTTY ? await ttyTable(io, ['Field', 'Value'], rows) : plainTable(['Field', 'Value'], rows));
}
