// The building blocks of the command table (commands.ts). A command is data
// (name, summary, examples, arguments and options with what their values
// are, columns) plus, for its code, a loader of its noun's module and a pick
// of the verb's function in it: nothing here or in the table imports a noun.
import type { ArgSpec, CmdSpec, Kind, OptSpec } from './cmdtree-types.js';
import type { IO } from './io.js';

/**
 * A verb: its typed options (arguments and options by camel-cased name, as
 * parse.ts fills them) and the command's dependencies. A number returned is
 * the exit status; errors are thrown (main maps them to exit statuses).
 */
export type Verb<O = any> = (opts: O, io: IO) => Promise<number | void>;

export interface Command {
  name: string;
  summary: string;
  examples: string[];
  args: ArgSpec[];
  options: OptSpec[];
  columns?: string[];
  /** Long names of the global options that mean something to this verb (its --help lists them). */
  globals?: string[];
  commands: Command[];
  /** On top-level commands: imports the module with the code of it and its verbs. */
  load?: () => Promise<unknown>;
  /** On leaves: the verb's function in that module. */
  run?: (module: any) => Verb;
}

export interface VerbDecl<M> {
  name: string;
  summary: string;
  examples: string[];
  args?: ArgSpec[];
  options?: OptSpec[];
  columns?: string[];
  /** It changes the system (--dry-run shows how). */
  mutates?: boolean;
  /** It may ask for a confirmation (--yes answers it). */
  confirms?: boolean;
  /** It prints a document whose format -f picks, without columns (export, diff). */
  formats?: boolean;
  run: (module: M) => Verb;
}

/** The global options that apply to a verb, by long name, in GLOBAL_OPTIONS' order. */
function globalsOf<M>(d: VerbDecl<M>): string[] {
  const asks = d.confirms || (d.args ?? []).some((a) => a.required && a.kind !== 'none' && !a.rest);
  return [
    '--store',
    ...(d.columns || d.formats ? ['--format'] : []),
    ...(d.columns ? ['--column'] : []),
    ...(d.mutates ? ['--dry-run'] : []),
    ...(d.confirms ? ['--yes'] : []),
    ...(asks ? ['--no-input'] : []),
    '--no-color',
    '--verbose',
    '--quiet',
  ];
}

const leafOf = <M>(d: VerbDecl<M>): Command => ({
  name: d.name,
  summary: d.summary,
  examples: d.examples,
  args: d.args ?? [],
  options: d.options ?? [],
  ...(d.columns ? { columns: d.columns } : {}),
  globals: globalsOf(d),
  commands: [],
  run: d.run,
});

/** A noun and its verbs, whose code is `load`ed only when one of them runs. */
export function noun<M>(name: string, doc: { summary: string; examples: string[] }, load: () => Promise<M>, verbs: VerbDecl<M>[]): Command {
  return { name, summary: doc.summary, examples: doc.examples, args: [], options: [], commands: verbs.map(leafOf), load };
}

/** A top-level command without verbs (`completion SHELL`). */
export function command<M>(decl: VerbDecl<M>, load: () => Promise<M>): Command {
  return { ...leafOf(decl), load };
}

/** `<name>`, `[name]`, `<name...>`: an argument, and what its value is. */
export function arg(spec: string, kind: Kind = 'none', more: { choices?: readonly string[]; description?: string; rest?: boolean } = {}): ArgSpec {
  const m = /^([<[])([a-z][a-z-]*)(\.\.\.)?[>\]]$/.exec(spec);
  if (!m) throw new Error(`bad argument spec ${spec}`);
  const a: ArgSpec = { name: m[2]!, required: m[1] === '<', variadic: !!m[3], kind: more.choices ? 'choices' : kind };
  if (more.choices) a.choices = [...more.choices];
  if (more.description) a.description = more.description;
  if (more.rest) {
    if (!a.variadic) throw new Error(`${spec}: only a variadic argument takes the rest of the line`);
    a.rest = true;
  }
  return a;
}

/** `-f, --format <format>`: an option; `kind` says what its value is (completion). */
export function opt(
  flags: string,
  description: string,
  more: { kind?: Kind; choices?: readonly string[]; repeat?: boolean; required?: boolean } = {},
): OptSpec {
  const m = /^((?:-[A-Za-z], )?--[a-z][a-z0-9-]*)(?: <([a-z-]+)>)?$/.exec(flags);
  if (!m) throw new Error(`bad option spec ${flags}`);
  const o: OptSpec = { flags: m[1]!.split(', '), description };
  if (m[2]) {
    o.value = m[2];
    o.kind = more.choices ? 'choices' : more.kind ?? 'none';
    if (more.choices) o.choices = [...more.choices];
  }
  if (more.repeat) o.repeat = true;
  if (more.required) o.required = true;
  return o;
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The key an option's value has in a verb's options: `--gateway-ip` → gatewayIp, `--no-input` → input. */
export const optionKey = (o: OptSpec): string => camel(o.flags[o.flags.length - 1]!.replace(/^--(no-)?/, ''));
/** `--no-input`: a flag that turns something off. */
export const negated = (o: OptSpec): boolean => o.flags[o.flags.length - 1]!.startsWith('--no-');
/** `fixed-ip` → fixedIp. */
export const argKey = (a: ArgSpec): string => camel(a.name);
/** As the option is written in help and errors: `-f, --format <format>`. */
export const flagsText = (o: OptSpec): string => `${o.flags.join(', ')}${o.value ? ` <${o.value}>` : ''}`;

export const argText = (a: ArgSpec): string => {
  const n = `${a.name}${a.variadic ? '...' : ''}`;
  return a.required ? `<${n}>` : `[${n}]`;
};

/** `[options] <router> [ip]`; `[options] [command]` for a command with verbs. */
export function usageOf(c: Command | CmdSpec): string {
  if (c.commands.length) return '[options] [command]';
  return ['[options]', ...c.args.map(argText)].join(' ');
}
