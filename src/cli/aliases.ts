// Hidden aliases for the old quantum/neutron client's verbs. The command line
// is rewritten before it is parsed (as gh expands its aliases), so an alias
// is exactly its new form: same parsing, same errors, one program.
import { GLOBAL_OPTIONS } from './commands.js';

export const ALIASES: Record<string, string[]> = {
  'router-create': ['router', 'add'],
  'router-delete': ['router', 'delete'],
  'router-interface-add': ['interface', 'add'],
  'router-interface-delete': ['interface', 'remove'],
  'router-gateway-set': ['gateway', 'set'],
  'router-gateway-clear': ['gateway', 'clear'],
  'floatingip-associate': ['fip', 'associate'],
  'floatingip-disassociate': ['fip', 'disassociate'],
  // The old client's read verbs (and deletes whose arguments carry over as they are).
  'router-list': ['router', 'list'],
  'router-show': ['router', 'show'],
  'router-port-list': ['interface', 'list'],
  'floatingip-list': ['fip', 'list'],
  'floatingip-delete': ['fip', 'delete'],
  'net-list': ['network', 'list'],
  'net-show': ['network', 'show'],
  'net-delete': ['network', 'delete'],
};

/** Index of the first word that is neither a global option nor its value. */
function commandWord(args: string[]): number {
  const takesValue = new Set(GLOBAL_OPTIONS.filter((o) => o.value).flatMap((o) => o.flags));
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w === '--') return -1;
    if (!w.startsWith('-') || w === '-') return i;
    if (takesValue.has(w)) i++;
  }
  return -1;
}

/** The words after `l3ctl` with an old verb replaced by its new noun and verb, and a note saying so; null when there is none. */
export function expandAlias(args: string[]): { args: string[]; note: string } | null {
  const i = commandWord(args);
  const target = i >= 0 ? ALIASES[args[i]!] : undefined;
  if (!target) return null;
  const words = [...args.slice(0, i), ...target, ...args.slice(i + 1)];
  return { args: words, note: `l3ctl: '${args[i]}' is now '${target.join(' ')}': l3ctl ${words.join(' ')}` };
}
