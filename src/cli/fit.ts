// Tables that fit the terminal: cells wrapped at spaces (a word longer than
// its column is cut into pieces) so that the whole table, borders included,
// is no wider than the terminal. Pure text in, text out: the renderers draw
// the result (cli-table3 boxes on a TTY, plain aligned text otherwise).

/** Columns never shrink below this (or their natural width, when less). */
const MIN_COLUMN = 6;

/** The printed width of a string: ANSI colour codes take no room. */
export const textWidth = (s: string): number => (s.includes('\x1b') ? s.replace(/\x1b\[[0-9;]*m/g, '').length : s.length);

/** `text` in lines of at most `width` characters, broken at spaces where possible. */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/ +/)) {
      if (!word) continue;
      if (line && line.length + 1 + word.length <= w) {
        line += ' ' + word;
        continue;
      }
      if (line) out.push(line);
      line = '';
      let rest = word;
      while (rest.length > w) {
        out.push(rest.slice(0, w));
        rest = rest.slice(w);
      }
      line = rest;
    }
    out.push(line);
  }
  return out;
}

/** The room borders and gaps take: `│ a │ b │` (box) or `a  b` (plain). */
export const overhead = (n: number, box: boolean): number => (box ? 3 * n + 1 : 2 * Math.max(0, n - 1));

// Most cells are one line: measured without splitting (a 500-row list measures thousands).
const naturalWidth = (s: string) => (s.includes('\n') ? Math.max(0, ...s.split('\n').map(textWidth)) : textWidth(s));

/**
 * Column widths for cells (heading first) in a table at most `width` wide:
 * the natural widths when they fit, else the widest columns narrowed first,
 * none below MIN_COLUMN (a table that cannot fit even then is as narrow as
 * it gets). null width: no limit.
 */
export function columnWidths(cells: string[][], width: number | null, box: boolean): number[] {
  const n = cells[0]?.length ?? 0;
  const natural = Array.from({ length: n }, (_, i) => Math.max(1, ...cells.map((r) => naturalWidth(r[i] ?? ''))));
  if (width === null) return natural;
  const room = width - overhead(n, box);
  const w = [...natural];
  const floor = natural.map((x) => Math.min(x, MIN_COLUMN));
  let total = w.reduce((a, b) => a + b, 0);
  while (total > room) {
    // The widest column that may still give up a character.
    let widest = -1;
    for (let i = 0; i < n; i++) if (w[i]! > floor[i]! && (widest < 0 || w[i]! > w[widest]!)) widest = i;
    if (widest < 0) break;
    w[widest]!--;
    total--;
  }
  return w;
}

/** The cells wrapped to their column widths (each cell's lines joined by '\n'). */
export function fitCells(cells: string[][], width: number | null, box: boolean): { cells: string[][]; widths: number[] } {
  const widths = columnWidths(cells, width, box);
  // A one-line cell that fits its column is left as it is: wrapping it would change nothing.
  const fitted = (c: string, w: number) => (!c.includes('\n') && !c.includes('  ') && c.trim() === c && textWidth(c) <= w ? c : wrapText(c, w).join('\n'));
  return { cells: cells.map((r) => r.map((c, i) => fitted(c, widths[i]!))), widths };
}

/** Plain aligned text, two spaces between columns; a wrapped cell continues on the lines below. */
export function plainLines(cells: string[][], widths: number[]): string[] {
  const out: string[] = [];
  const last = widths.length - 1;
  for (const row of cells) {
    if (!row.some((c) => c.includes('\n'))) {
      out.push(row.map((c, i) => (i === last ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
      continue;
    }
    const parts = row.map((c) => c.split('\n'));
    const height = Math.max(1, ...parts.map((p) => p.length));
    for (let k = 0; k < height; k++) {
      out.push(parts.map((p, i) => (i === parts.length - 1 ? p[k] ?? '' : (p[k] ?? '').padEnd(widths[i]!))).join('  ').trimEnd());
    }
  }
  return out;
}

/**
 * The width output must fit, or null for none: COLUMNS when set (as ls and
 * most tools read it), else the terminal's own width; when stdout is no
 * terminal and COLUMNS is unset, lines are left whole for the program reading them.
 */
export function outputWidth(env: NodeJS.ProcessEnv, stdout: { isTTY: boolean; columns?: number }): number | null {
  const fromEnv = Number(env.COLUMNS);
  if (env.COLUMNS && Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (!stdout.isTTY) return null;
  return stdout.columns && stdout.columns > 0 ? stdout.columns : 80;
}
