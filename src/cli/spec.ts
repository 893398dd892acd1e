// The command table (commands.ts) as plain data: the tree tab completion
// walks (cmdtree.json), the man page and the README's command list.
import { CONFIG_KEYS } from '../model/config.js';
import type { CmdSpec, CmdTree, KeySpec } from './cmdtree-types.js';
import { PROGRAM } from './commands.js';
import { usageOf, type Command } from './define.js';

/** The program (or one command) as data, without its code. */
export function specOf(c: Command = PROGRAM): CmdSpec {
  const spec: CmdSpec = {
    name: c.name,
    summary: c.summary,
    usage: usageOf(c),
    examples: c.examples,
    options: c.options,
    args: c.args,
    commands: c.commands.map((x) => specOf(x)),
  };
  if (c.columns) spec.columns = c.columns;
  if (c.globals) spec.globals = c.globals;
  return spec;
}

/** Every command with its path, depth first, in table order. */
export function walkSpec(root: CmdSpec, path: string[] = []): { path: string[]; spec: CmdSpec }[] {
  return root.commands.flatMap((c) => [{ path: [...path, c.name], spec: c }, ...walkSpec(c, [...path, c.name])]);
}

/** Config keys as completion needs them (so that it need not load model/config.ts). */
export function keySpecs(): KeySpec[] {
  return CONFIG_KEYS.map((k) => ({ name: k.name, help: k.help, default: k.default, ...(k.choices ? { choices: [...k.choices] } : {}) }));
}

/** The text of cmdtree.json. */
export function cmdtreeJson(): string {
  const data: CmdTree = { tree: specOf(), configKeys: keySpecs() };
  return JSON.stringify(data, null, 1) + '\n';
}
