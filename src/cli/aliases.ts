// Hidden aliases for the old quantum/neutron client's verbs: they say what
// the new form is (stderr) and run it, so old habits and scripts keep working.
import type { Command } from 'commander';

export const ALIASES: Record<string, string[]> = {
  'router-create': ['router', 'add'],
  'router-delete': ['router', 'delete'],
  'router-interface-add': ['interface', 'add'],
  'router-interface-delete': ['interface', 'remove'],
  'router-gateway-set': ['gateway', 'set'],
  'router-gateway-clear': ['gateway', 'clear'],
  'floatingip-associate': ['fip', 'associate'],
  'floatingip-disassociate': ['fip', 'disassociate'],
};

/** argv (after `l3ctl`) with the alias word replaced by the new noun and verb. */
export function rewrite(words: string[], alias: string): string[] {
  const i = words.indexOf(alias);
  return i < 0 ? words : [...words.slice(0, i), ...ALIASES[alias]!, ...words.slice(i + 1)];
}

export function register(program: Command): void {
  for (const [alias, target] of Object.entries(ALIASES)) {
    program
      .command(alias, { hidden: true })
      .description(`old name of: l3ctl ${target.join(' ')}`)
      .helpOption(false)
      .allowUnknownOption(true)
      .allowExcessArguments(true)
      .argument('[args...]')
      .action(async () => {
        // Everything the operator typed, global options included, in its place.
        const words = rewrite(process.argv.slice(2), alias);
        process.stderr.write(`l3ctl: '${alias}' is now '${target.join(' ')}': l3ctl ${words.join(' ')}\n`);
        const { buildProgram } = await import('./main.js');
        await buildProgram().parseAsync(words, { from: 'user' });
      });
  }
}
