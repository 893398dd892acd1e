// The commands of a --dry-run (or -v) listing, with the stdin lines that
// follow each, and which of them only read: a converged host shows no other.
import { OBSERVE_SCRIPT } from '../../src/linux/observe.js';
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

/** Reads: `ip … -j …` (show, or a batch of shows; `-6 -j` for IPv6 routes), iptables-save, sysctl -n/-e, iptables --version, ip netns pids, ovs-vsctl … list. */
export const isReadLine = (line: string) =>
  (/^\+ (ip netns exec \S+ )?\/bin\/sh -c /.test(line) && line.includes(OBSERVE_SCRIPT)) ||
  /^\+ ip (-n \S+ )?(-6 )?-j /.test(line) ||
  /^\+ (ip netns exec \S+ )?(iptables-save|iptables-legacy-save|iptables-nft-save)( |$)/.test(line) ||
  /^\+ (ip netns exec \S+ )?sysctl -[ne] /.test(line) ||
  /^\+ iptables --version$/.test(line) ||
  /^\+ ip netns pids /.test(line) ||
  /^\+ ovs-vsctl .*--format=json/.test(line);

/** A read, and for a batch every line of it a show. */
const isRead = (c: Listed) => isReadLine(c.line) && (!/ -batch /.test(c.line) || c.input.every((l) => /\bshow\b/.test(l) && !/\b(add|del|delete|replace|set|flush|change)\b/.test(l)));

/** The commands that would change something: each `+ ` line, then its input lines (indented, as printed). */
export const mutatingCommands = (text: string): string[] => listed(text).filter((c) => !isRead(c)).flatMap((c) => [c.line, ...c.input.map((l) => `  ${l}`)]);
