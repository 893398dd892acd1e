// How objects are printed. Two audiences:
//  - people (-f table, the default): a list shows a short set of columns with
//    headings and values rendered for reading (a View); --long adds the rest;
//    the table fits the terminal's width;
//  - programs (-f json, yaml, value, csv): every API field, unchanged.
// -c picks columns by API field name (the raw value) or by a table heading
// (the rendered text), in any format.
import { UsageError } from '../model/errors.js';
import { fitCells, plainLines } from './fit.js';
import type { IO } from './io.js';

export type Row = Record<string, unknown>;

/** One column of the table for people. */
export interface ViewColumn {
  heading: string;
  /** The API fields it shows: with --long they are not repeated raw. */
  fields: string[];
  text(row: Row): string;
  /** Only with --long. */
  long?: boolean;
}

/** The columns people see for a kind of object. */
export interface View {
  columns: ViewColumn[];
}

export interface PrintOptions {
  view?: View;
  /** --long: the view's long columns, then every API field no column shows. */
  long?: boolean;
}

/** A value in one table cell or value-format field. */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A value for people: lists joined, objects as key=value (no JSON braces). */
export function humanCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map((x) => (x !== null && typeof x === 'object' ? humanCell(x) : cell(x))).join(', ');
  if (typeof v === 'object') return Object.entries(v as Row).map(([k, x]) => `${k}=${x !== null && typeof x === 'object' ? humanCell(x) : cell(x)}`).join(' ');
  return String(v);
}

/** A column as printed: its key (field name or heading) and how to get its value. */
interface Col {
  key: string;
  value(row: Row): unknown;
  /** Its text in a table. */
  text(row: Row): string;
}

const fieldCol = (f: string, human = false): Col => ({ key: f, value: (r) => r[f], text: (r) => (human ? humanCell(r[f]) : cell(r[f])) });
const viewCol = (c: ViewColumn): Col => ({ key: c.heading, value: (r) => c.text(r), text: (r) => c.text(r) });

/** `Fixed IP`, `fixed-ip` and `fixed_ip` name the same heading. */
const norm = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, '');

/** The columns -c names: an API field by its exact name, else a heading of the view. */
function chosen(wanted: string[], fields: string[], o: PrintOptions): Col[] {
  const headings = o.view?.columns ?? [];
  return wanted.map((c) => {
    if (fields.includes(c)) return fieldCol(c);
    const v = headings.find((h) => norm(h.heading) === norm(c));
    if (v) return viewCol(v);
    const names = [...fields, ...headings.map((h) => h.heading)];
    throw new UsageError(`unknown column '${c}'`, `columns: ${[...new Set(names)].join(', ')}`);
  });
}

/** The table's columns without -c: the view (and with --long the rest), or every field. */
function tableCols(fields: string[], o: PrintOptions): Col[] {
  if (!o.view) return fields.map((f) => fieldCol(f));
  const cols = o.view.columns.filter((c) => o.long || !c.long);
  const shown = new Set(cols.flatMap((c) => c.fields));
  return [...cols.map(viewCol), ...(o.long ? fields.filter((f) => !shown.has(f)).map((f) => fieldCol(f, true)) : [])];
}

function columnsFor(io: IO, fields: string[], o: PrintOptions): Col[] {
  if (io.columns.length) return chosen(io.columns, fields, o);
  return io.format === 'table' ? tableCols(fields, o) : fields.map((f) => fieldCol(f));
}

const pickRow = (cols: Col[], r: Row): Row => Object.fromEntries(cols.map((c) => [c.key, c.value(r)]));

/** RFC 4180: quoted when it holds a comma, quote, line break or edge space. */
function csvField(v: unknown): string {
  const s = cell(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csvLines = (cols: Col[], rows: Row[]) => [cols.map((c) => csvField(c.key)), ...rows.map((r) => cols.map((c) => csvField(c.value(r))))].map((l) => l.join(',')).join('\n');

/**
 * YAML text. The yaml package is required, not imported: in the bundle a
 * dynamic import of its CommonJS build offers only a default export (and
 * would copy its 260 kB into a chunk); require loads it from node_modules.
 */
export async function yamlText(data: unknown): Promise<string> {
  const { createRequire } = await import('node:module');
  const { stringify } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return stringify(data).replace(/\n$/, '');
}

/** The table: a cli-table3 box on a terminal, plain aligned text otherwise; fitted to io.width. */
export async function renderTable(io: IO, headings: string[], rows: string[][]): Promise<string> {
  const box = io.stdout.isTTY;
  const { cells, widths } = fitCells([headings, ...rows], io.width ?? null, box);
  if (!box) return plainLines(cells, widths).join('\n');
  const { default: Table } = await import('cli-table3');
  // l3ctl decides colour (TTY, NO_COLOR, --no-color); chalk's own guess (it
  // turns colour off whenever CI is set, for one) must not overrule it.
  const head = io.color ? new (await import('chalk')).Chalk({ level: 1 }).bold : (s: string) => s;
  // Widths given, so that a wrapped cell never makes cli-table3 measure again.
  const t = new Table({ head: cells[0]!.map((c) => c.split('\n').map((l) => head(l)).join('\n')), colWidths: widths.map((w) => w + 2), style: { head: [], border: [] } });
  for (const r of cells.slice(1)) t.push(r);
  return t.toString();
}

/** A list of objects. `fields` are the API fields in their documented order. */
export async function printList(io: IO, fields: string[], rows: Row[], o: PrintOptions = {}): Promise<void> {
  const cols = columnsFor(io, fields, o);
  switch (io.format) {
    case 'json':
      return io.out(JSON.stringify(rows.map((r) => pickRow(cols, r)), null, 2));
    case 'yaml':
      return io.out(await yamlText(rows.map((r) => pickRow(cols, r))));
    case 'csv':
      return io.out(csvLines(cols, rows));
    case 'value':
      if (rows.length) io.out(rows.map((r) => cols.map((c) => cell(c.value(r))).join('\t')).join('\n'));
      return;
  }
  // An empty list still shows its header: "nothing" and "no output" look alike.
  io.out(await renderTable(io, cols.map((c) => c.key), rows.map((r) => cols.map((c) => c.text(r)))));
}

/** One object: in a table, Field/Value pairs (objects in a value rendered for people). */
export async function printObject(io: IO, fields: string[], obj: Row, o: PrintOptions = {}): Promise<void> {
  const cols = io.columns.length ? chosen(io.columns, fields, o) : fields.map((f) => fieldCol(f, true));
  switch (io.format) {
    case 'json':
      return io.out(JSON.stringify(pickRow(cols, obj), null, 2));
    case 'yaml':
      return io.out(await yamlText(pickRow(cols, obj)));
    case 'csv':
      return io.out(csvLines(cols, [obj]));
    case 'value':
      return io.out(cols.map((c) => cell(c.value(obj))).join('\t'));
  }
  // An object-valued field is shown as the view renders it (`ext 203.0.113.10`) when a view column shows just that field.
  const rendered = (c: Col) => {
    const v = obj[c.key];
    const own = v !== null && typeof v === 'object' ? o.view?.columns.find((x) => x.fields.length === 1 && x.fields[0] === c.key) : undefined;
    return own ? own.text(obj) : c.text(obj);
  };
  await printFields(io, cols.map((c) => [c.key, rendered(c)]));
}

/** Field/Value rows as a table (agent status and router show print some of their own). */
export async function printFields(io: IO, pairs: [string, string][]): Promise<void> {
  io.out(await renderTable(io, ['Field', 'Value'], pairs.map(([k, v]) => [k, v])));
}
