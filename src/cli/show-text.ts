// `router show` for people. By default: what differs between the store and
// the kernel, line by line, and for each section a one-line summary of what
// matches (`nat: 17 rules, 11 chains as desired`). With --all: every line,
// desired and live side by side. What differs is what the plan's findings
// name (src/agent/show.ts): never a comparison of its own. Pure; fitted to
// the width given (null: no limit).
import type { RouterSide, RouterView, ViewLine } from '../agent/show.js';
import { wrapText } from './fit.js';

export interface ShowTextOptions {
  all: boolean;
  width: number | null;
  /** Paints a line that differs (red on a colour terminal). */
  mark: (line: string) => string;
}

const SECTIONS: [keyof RouterSide, string][] = [
  ['devices', 'devices'],
  ['routes', 'routes'],
  ['nat', 'nat'],
  ['daemons', 'daemons'],
];

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What `n` lines of a section are: `2 devices`, `17 rules, 11 chains`. */
function counted(section: keyof RouterSide, lines: string[]): string {
  if (section === 'nat') {
    const chains = lines.filter((l) => / -N /.test(l)).length;
    return [plural(lines.length - chains, 'rule'), ...(chains ? [plural(chains, 'chain')] : [])].join(', ');
  }
  const one = { devices: 'device', routes: 'route', nat: 'rule', daemons: 'daemon' }[section];
  return plural(lines.length, one);
}

interface Row {
  key: string;
  desired: string;
  live: string;
  differs: boolean;
}

function rowsOf(v: RouterView, section: keyof RouterSide): Row[] {
  const a = v.desired[section];
  const b = v.live[section];
  const text = (side: ViewLine[], k: string) => side.find((l) => l.key === k)?.text ?? '';
  const keys = [...new Set([...a.map((x) => x.key), ...b.map((x) => x.key)])].sort();
  return keys.map((k) => ({ key: k, desired: text(a, k), live: text(b, k), differs: v.drifted.has(k) }));
}

/** Lines of `text` at most `width` wide, the first after `first`, the others after as many spaces. */
export function hanging(first: string, text: string, width: number | null): string[] {
  const room = width === null ? Infinity : Math.max(8, width - first.length);
  const lines = room === Infinity ? [text] : wrapText(text, room);
  return lines.map((l, i) => (i === 0 ? first : ' '.repeat(first.length)) + l);
}

/** Desired and live side by side, each side wrapped to half the room. */
function sideBySide(rows: Row[], o: ShowTextOptions): string[] {
  const left = Math.max(8, 'desired'.length, ...rows.map((r) => r.desired.length));
  let lw = left;
  let rw = Math.max(4, ...rows.map((r) => r.live.length));
  if (o.width !== null && 2 + lw + 2 + rw > o.width) {
    const room = Math.max(16, o.width - 4);
    lw = Math.min(left, Math.max(8, Math.floor(room / 2)));
    rw = Math.max(8, room - lw);
  }
  const out = [`  ${'desired'.padEnd(lw)}  live`];
  for (const r of rows) {
    const a = r.desired ? wrapText(r.desired, lw) : [''];
    const b = r.live ? wrapText(r.live, rw) : [''];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const line = `${r.differs && i === 0 ? '!' : ' '} ${(a[i] ?? '').padEnd(lw)}  ${b[i] ?? ''}`.trimEnd();
      out.push(r.differs ? o.mark(line) : line);
    }
  }
  return out;
}

/** One section: its summary line, then the lines that differ (all of them with --all). */
function section(v: RouterView, name: keyof RouterSide, title: string, o: ShowTextOptions): string[] {
  const rows = rowsOf(v, name);
  if (o.all) return [`${title}:`, ...sideBySide(rows, o)];
  const differ = rows.filter((r) => r.differs);
  const same = rows.filter((r) => !r.differs).map((r) => r.desired || r.live);
  if (!rows.length) return [`${title}: none wanted, none present`];
  const matched = same.length ? `${counted(name, same)} as desired` : '';
  if (!differ.length) return [`${title}: ${matched}`];
  const out = [`${title}: ${plural(differ.length, 'line')} differ${differ.length === 1 ? 's' : ''}${matched ? `; ${matched}` : ''}`];
  for (const r of differ) {
    out.push(...hanging('  ! desired  ', r.desired || '(absent)', o.width).map(o.mark));
    out.push(...hanging('    live     ', r.live || '(absent)', o.width).map(o.mark));
  }
  return out;
}

/** The text of `router show` below its header lines. */
export function showSections(v: RouterView, o: ShowTextOptions): string[] {
  return SECTIONS.flatMap(([name, title]) => section(v, name, title, o));
}

/** `key  value` header lines, values wrapped under themselves. */
export function headerLines(pairs: [string, string][], width: number | null): string[] {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.flatMap(([k, val]) => hanging(`${k.padEnd(w)}  `, val, width));
}
