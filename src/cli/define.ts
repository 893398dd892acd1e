// One way to declare a command: its one-line summary and examples live with
// it, so --help, the man page and the README list come from one place.
import type { Command } from 'commander';
import { makeContext, type Context, type GlobalOptions } from './context.js';

export interface CommandDoc {
  summary: string;
  examples: string[];
}

const docs = new WeakMap<Command, CommandDoc>();

export function docOf(cmd: Command): CommandDoc | undefined {
  return docs.get(cmd);
}

export function define(parent: Command, spec: string, doc: CommandDoc): Command {
  const cmd = parent.command(spec).description(doc.summary);
  docs.set(cmd, doc);
  if (doc.examples.length) {
    cmd.addHelpText('after', '\n' + doc.examples.map((e) => `Example: ${e}`).join('\n'));
  }
  return cmd;
}

/** A noun (`router`, `fip` …): a command with subcommands and a summary. */
export function noun(parent: Command, name: string, doc: CommandDoc): Command {
  return define(parent, name, doc);
}

/** Wraps a handler: builds the context from global + local options. */
export function handler<A extends unknown[]>(fn: (ctx: Context, opts: Record<string, any>, ...args: A) => Promise<void> | void) {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as GlobalOptions & Record<string, any>;
    const args = all.slice(0, cmd.registeredArguments.length) as A;
    await fn(makeContext(opts), opts, ...args);
  };
}
