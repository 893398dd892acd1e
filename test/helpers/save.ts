// iptables-save text as the kernel prints it once our section is in place
// (the NAT module's tests prove that form against a real kernel).
import { TABLES, type Section } from '../../src/linux/iptables.js';

const BUILTIN = { filter: ['INPUT', 'FORWARD', 'OUTPUT'], nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] };

export function saveText(sec: Section): string {
  const out: string[] = [];
  for (const t of TABLES) {
    out.push(`*${t}`, ...BUILTIN[t].map((c) => `:${c} ACCEPT [0:0]`), ...Object.keys(sec[t].chains).sort().map((c) => `:${c} - [0:0]`));
    for (const c of BUILTIN[t]) out.push(...(sec[t].jumps[c] ?? []).map((j) => j.rule));
    for (const c of Object.keys(sec[t].chains).sort()) out.push(...sec[t].chains[c]!);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}
