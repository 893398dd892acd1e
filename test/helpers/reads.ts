// What counts as a read of the kernel, in one place: the fake kernel holds
// l3ctl to it (a read must be marked as one, so --dry-run runs it, and a
// change must not be), and the tests and the benchmark count the mutating
// commands of a `-v` or `--dry-run` listing with it.
import { OBSERVE_SCRIPT } from '../../src/linux/observe.js';

const IN_NS = '(ip netns exec \\S+ )?';
const READS = [
  new RegExp(`^${IN_NS}(iptables-save|iptables-legacy-save|iptables-nft-save)( -c)?$`),
  new RegExp(`^${IN_NS}sysctl -[ne] `),
  /^ip (-n \S+ )?(-6 )?-j (\S+ (show|get)( |$)|-batch -$)/,
  /^iptables --version$/,
  /^ip netns pids /,
  /^ovs-vsctl .*--format=json/,
];

/**
 * A command (its argv joined by spaces, as `-v` prints it after `+ `) that
 * only reads; `input`: its stdin lines, which for an `ip -batch` must all be
 * shows.
 */
export function isReadCommand(line: string, input: string[] = []): boolean {
  if (line.includes(OBSERVE_SCRIPT)) return new RegExp(`^${IN_NS}/bin/sh -c `).test(line);
  if (!READS.some((re) => re.test(line))) return false;
  return !/ -batch -$/.test(line) || input.every((l) => /\bshow\b/.test(l) && !/\b(add|del|delete|replace|set|flush|change)\b/.test(l));
}
