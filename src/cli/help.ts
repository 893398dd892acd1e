// `--help`, `l3ctl help NOUN VERB` and the help printed after "needs a
// command": usage, summary, arguments, options, verbs and examples, all read
// off the command table.
import { HELP_OPTION, PROGRAM } from './commands.js';
import { argText, flagsText, usageOf, type Command } from './define.js';

function section(title: string, rows: [string, string][]): string[] {
  if (!rows.length) return [];
  const w = Math.max(...rows.map(([a]) => a.length));
  return ['', `${title}:`, ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`.trimEnd())];
}

/** The help of the command at `path` (words after `l3ctl`; [] is the program). */
export function helpText(path: string[], root: Command = PROGRAM): string {
  let cmd = root;
  for (const w of path) cmd = cmd.commands.find((c) => c.name === w) ?? cmd;
  const choices = (xs?: string[]) => (xs ? ` (${xs.join(', ')})` : '');
  const lines = [
    `Usage: ${['l3ctl', ...path].join(' ')} ${usageOf(cmd)}`,
    '',
    cmd.summary,
    ...section('Arguments', cmd.args.filter((a) => a.description).map((a) => [a.name, `${a.description}${choices(a.choices)}`])),
    ...section('Options', [...cmd.options, HELP_OPTION].map((o) => [flagsText(o), `${o.description}${choices(o.choices)}${o.required ? ' (required)' : ''}`])),
    ...section('Commands', [
      ...cmd.commands.map((c): [string, string] => [[c.name, ...(c.commands.length ? ['[command]'] : c.args.map(argText))].join(' '), c.summary]),
      ...(cmd.commands.length ? [['help [command]', 'show help for a command'] as [string, string]] : []),
    ]),
  ];
  if (cmd.globals && root === PROGRAM) {
    // The global options this verb makes use of, valid before or after it.
    const globals = cmd.globals.map((g) => root.options.find((o) => o.flags.includes(g))!).filter(Boolean);
    lines.push(...section('Global options (before or after the command)', globals.map((o) => [flagsText(o), `${o.description}${choices(o.choices)}`])));
    lines.push('  (every global option: l3ctl --help)');
  } else if (path.length && root === PROGRAM) lines.push('', 'Global options (before or after the command): see l3ctl --help');
  if (cmd.examples.length) lines.push('', ...cmd.examples.map((e) => `Example: ${e}`));
  return lines.join('\n') + '\n';
}
