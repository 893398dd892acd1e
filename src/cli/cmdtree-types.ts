// The shape of the command tree that tab completion, the man page and the
// drift tests read (cmdtree.ts is generated in this shape by spec.ts).

export interface OptSpec {
  flags: string[];
  description: string;
  /** Name of the value it takes; absent for a flag. */
  value?: string;
  /** What the value is, for completion (router, network:external, file, choices …). */
  kind?: string;
  choices?: string[];
  repeat?: boolean;
}

export interface ArgSpec {
  name: string;
  required: boolean;
  variadic: boolean;
  kind: string;
  choices?: string[];
}

export interface CmdSpec {
  name: string;
  summary: string;
  usage: string;
  examples: string[];
  options: OptSpec[];
  args: ArgSpec[];
  commands: CmdSpec[];
  aliases?: string[];
  hidden?: boolean;
  columns?: string[];
}

export interface KeySpec {
  name: string;
  help: string;
  default: string | null;
  choices?: string[];
}
