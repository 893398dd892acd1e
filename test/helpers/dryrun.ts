// The commands of a --dry-run (or -v) listing, with the stdin lines that
// follow each, and which of them only read: a converged host shows no other.
import { isReadCommand } from './reads.js';
export interface Listed {
  line: string;
  input: string[];
}

/** `+ argv` lines with their indented input lines (`-v` timings stripped). */
export function listed(text: string): Listed[] {
  const out: Listed[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('+ ')) out.push({ line: l.replace(/\s+\(\d[^)]*\)$/, ''), input: [] });
    else if (l.startsWith('  ') && out.length) out.at(-1)!.input.push(l.slice(2));
  }
  return out;
}

/** A `+ ` line of a listing that only reads (a batch needs its input too: see isReadCommand). */
export const isReadLine = (line: string) => line.startsWith('+ ') && isReadCommand(line.slice(2));

/** The commands that would change something: each `+ ` line, then its input lines (indented, as printed). */
export const mutatingCommands = (text: string): string[] => listed(text).filter((c) => !isReadCommand(c.line.slice(2), c.input)).flatMap((c) => [c.line, ...c.input.map((l) => `  ${l}`)]);
