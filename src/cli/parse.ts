// The command line, parsed against the command table (commands.ts): the
// command to run, its arguments and options by name, and the global options,
// which are valid before or after the command. Errors are UsageErrors worded
// for the operator, with a "did you mean" or usage hint.
import { UsageError } from '../model/errors.js';
import type { ArgSpec, OptSpec } from './cmdtree-types.js';
import { HELP_OPTION, PROGRAM, type FORMATS } from './commands.js';
import { argKey, flagsText, negated, optionKey, usageOf, type Command } from './define.js';
import { didYouMean } from './similar.js';

export type Format = (typeof FORMATS)[number];

export interface Globals {
  store?: string;
  format: Format;
  /** -f was given (export picks its format from -o's extension otherwise). */
  formatGiven?: boolean;
  column: string[];
  dryRun: boolean;
  yes: boolean;
  /** false with --no-input. */
  input: boolean;
  /** false with --no-color. */
  color: boolean;
  verbose: boolean;
  quiet: boolean;
}

export type Parsed =
  | { action: 'version' }
  /** Help for `path` (its words after `l3ctl`), on stdout. */
  | { action: 'help'; path: string[]; command: Command }
  | {
      action: 'run';
      path: string[];
      /** The top-level command: its `load` brings the code. */
      top: Command;
      command: Command;
      /** The verb's arguments and options, by camel-cased name. */
      values: Record<string, unknown>;
      globals: Globals;
    };

/** A usage error; `helpFor` names a command whose help follows the error on stderr. */
export class ParseError extends UsageError {
  constructor(message: string, hint?: string, readonly helpFor?: string[]) {
    super(message, hint);
  }
}

/** A required argument is missing: on a terminal it is asked for instead (ask.ts). */
export class MissingArgument extends ParseError {
  constructor(
    readonly arg: ArgSpec,
    readonly path: string[],
    usage: string,
    readonly globals: Globals,
    /** The arguments before it, by name: what the question may take into account. */
    readonly given: Record<string, string> = {},
  ) {
    super(`missing required argument '${arg.name}'`, `usage: ${usage}`);
  }
}

const commandLine = (path: string[]) => ['l3ctl', ...path].join(' ');

export function parse(args: string[], root: Command = PROGRAM): Parsed {
  const chain: Command[] = [root];
  const path: string[] = [];
  const positionals: string[] = [];
  const values: Record<string, unknown> = {};
  const globals: Record<string, unknown> = { format: 'table', column: [], dryRun: false, yes: false, input: true, color: true, verbose: false, quiet: false };
  let help = false;
  let dashdash = false;
  let unknown: string | undefined;
  const node = () => chain[chain.length - 1]!;
  const isLeaf = () => node().commands.length === 0;
  // A verb's own options first (they may shadow a global one), then the global ones.
  const scope = (): OptSpec[] => [...(isLeaf() ? node().options : []), HELP_OPTION, ...root.options];

  let version = false;
  const set = (o: OptSpec, value: string | undefined) => {
    if (o.flags.includes('--version') && root.options.includes(o)) {
      version = true;
      return;
    }
    if (o === HELP_OPTION) {
      help = true;
      return;
    }
    const into = root.options.includes(o) ? globals : values;
    const key = optionKey(o);
    if (!o.value) {
      into[key] = !negated(o);
      return;
    }
    if (o.choices && !o.choices.includes(value!)) {
      throw new ParseError(`option '${flagsText(o)}' argument '${value}' is invalid. Allowed choices are ${o.choices.join(', ')}.`);
    }
    into[key] = o.repeat ? [...((into[key] as string[] | undefined) ?? []), value!] : value;
    if (into === globals && key === 'format') globals.formatGiven = true;
  };
  const valueOf = (o: OptSpec, i: number, inline: string | undefined): [string, number] => {
    if (inline !== undefined && inline !== '') return [inline, i];
    if (i + 1 >= args.length) throw new ParseError(`option '${flagsText(o)}' argument missing`);
    return [args[i + 1]!, i + 1];
  };

  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (dashdash) {
      positionals.push(w);
    } else if (w === '--') {
      dashdash = true;
    } else if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq > 0 ? w.slice(0, eq) : w;
      const o = scope().find((x) => x.flags.includes(name));
      if (!o) {
        unknown ??= name;
        continue;
      }
      if (!o.value && eq > 0) throw new ParseError(`option '${flagsText(o)}' takes no value`);
      if (!o.value) set(o, undefined);
      else {
        const [v, next] = eq > 0 ? [w.slice(eq + 1), i] : valueOf(o, i, undefined);
        set(o, v);
        i = next;
      }
    } else if (w.startsWith('-') && w.length > 1 && !(isLeaf() && /^-\d+(\.\d+)?$/.test(w))) {
      // Short options, bundled (-yq) or with their value attached (-fjson, -c name).
      // A negative number is a value (`config set send_arp_for_ha -1` is refused for its range, not as an option).
      for (let j = 1; j < w.length; j++) {
        const o = scope().find((x) => x.flags.includes(`-${w[j]}`));
        if (!o) {
          unknown ??= `-${w[j]}`;
          break;
        }
        if (!o.value) {
          set(o, undefined);
          continue;
        }
        const [v, next] = valueOf(o, i, w.slice(j + 1));
        set(o, v);
        i = next;
        break;
      }
    } else if (!isLeaf()) {
      if (w === 'help' && !help) {
        // `l3ctl help [NOUN [VERB]]`: the words that follow name the command.
        help = true;
        continue;
      }
      const sub = node().commands.find((c) => c.name === w);
      if (!sub) {
        // --version anywhere (before --) wins over a mistyped command.
        if (version || args.slice(i, idx(args, '--')).includes('--version')) return { action: 'version' };
        if (unknown) throw unknownOption(unknown, scope(), path);
        throw new ParseError(
          `unknown command '${w}'`,
          didYouMean(w, node().commands.map((c) => c.name)) ?? `${commandLine(path)} --help lists the commands`,
        );
      }
      chain.push(sub);
      path.push(w);
    } else {
      positionals.push(w);
      // `router exec R CMD ARG…`: from CMD on, every word is the command's, options included.
      if (restStarts(node(), positionals.length - 1)) dashdash = true;
    }
  }

  if (version) return { action: 'version' };
  const cmd = node();
  if (help) return { action: 'help', path, command: cmd };
  if (!isLeaf()) {
    if (unknown) throw unknownOption(unknown, scope(), path);
    throw new ParseError(`'${commandLine(path)}' needs a command`, undefined, path);
  }
  if (unknown) throw unknownOption(unknown, scope(), path);
  for (const o of cmd.options) {
    if (o.required && values[optionKey(o)] === undefined) throw new ParseError(`required option '${flagsText(o)}' not specified`);
  }
  const usage = `${commandLine(path)} ${usageOf(cmd)}`;
  cmd.args.forEach((a, i) => {
    if (a.required && positionals[i] === undefined) {
      throw new MissingArgument(a, path, usage, globals as unknown as Globals, Object.fromEntries(cmd.args.slice(0, i).map((x, j) => [x.name, positionals[j]!])));
    }
  });
  const last = cmd.args[cmd.args.length - 1];
  if (positionals.length > cmd.args.length && !last?.variadic) {
    const n = cmd.args.length;
    throw new ParseError(`too many arguments for '${cmd.name}'. Expected ${n} argument${n === 1 ? '' : 's'} but got ${positionals.length}.`, `usage: ${usage}`);
  }
  cmd.args.forEach((a, i) => {
    const given = a.variadic ? positionals.slice(i) : positionals[i];
    for (const v of [given ?? []].flat()) {
      if (a.choices && !a.choices.includes(v)) {
        throw new ParseError(`command-argument value '${v}' is invalid for argument '${a.name}'. Allowed choices are ${a.choices.join(', ')}.`, `usage: ${usage}`);
      }
    }
    values[argKey(a)] = given;
  });
  return { action: 'run', path, top: chain[1]!, command: cmd, values, globals: globals as unknown as Globals };
}

/** The positional at index `i` is the first word of an argument that takes the rest of the line. */
function restStarts(cmd: Command, i: number): boolean {
  const last = cmd.args[cmd.args.length - 1];
  return !!last?.rest && i === cmd.args.length - 1;
}

function idx(args: string[], w: string): number {
  const i = args.indexOf(w);
  return i < 0 ? args.length : i;
}

function unknownOption(flag: string, scope: OptSpec[], path: string[]): ParseError {
  // A one-letter option is too short to guess at.
  const near = flag.startsWith('--') ? didYouMean(flag, scope.flatMap((o) => o.flags).filter((f) => f.startsWith('--'))) : undefined;
  return new ParseError(`unknown option '${flag}'`, near ?? `${commandLine(path)} --help lists the options`);
}
