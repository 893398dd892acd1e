// The shape of the command tree as data: what the command table (commands.ts)
// declares, what parse.ts and help.ts read, and what cmdtree.json (tab
// completion), the man page and the README list are generated from.

/**
 * What a value is, for completion and for the prompt that asks for a missing
 * argument: `router`, `router:fixed-ip` (routers with a subnet holding the
 * `fixed-ip` argument), `network`, `network:external`, `network:internal`,
 * `fip`, `fip:associated`, `port`, `route`, `config-key`, `config-value`,
 * `file`, `column`, `choices`, or `none` (free text).
 */
export type Kind = string;

export interface OptSpec {
  flags: string[];
  description: string;
  /** Name of the value it takes; absent for a flag. */
  value?: string;
  kind?: Kind;
  choices?: string[];
  repeat?: boolean;
  /** The command cannot run without it. */
  required?: boolean;
}

export interface ArgSpec {
  name: string;
  required: boolean;
  variadic: boolean;
  kind: Kind;
  choices?: string[];
  description?: string;
  /** The last argument: from its first word on, every word is its value, options included (`router exec R CMD ARG…`). */
  rest?: boolean;
}

export interface CmdSpec {
  name: string;
  summary: string;
  usage: string;
  examples: string[];
  options: OptSpec[];
  args: ArgSpec[];
  commands: CmdSpec[];
  /** -c columns of a command that prints objects, in their documented order. */
  columns?: string[];
  /** Long names of the global options that apply to it (its --help lists them). */
  globals?: string[];
}

export interface KeySpec {
  name: string;
  help: string;
  default: string | null;
  choices?: string[];
}

/** cmdtree.json: the tree and the config keys, all that tab completion needs. */
export interface CmdTree {
  tree: CmdSpec;
  configKeys: KeySpec[];
}
