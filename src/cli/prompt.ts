// Questions on the terminal. confirm() is the policy every destructive verb
// follows (--yes and --dry-run skip it; no terminal is exit 6); the terminal
// prompter asks with @inquirer/prompts on stderr, loaded only when it asks.
import { EXIT, L3ctlError } from '../model/errors.js';
import type { Choice, IO, Prompter } from './io.js';

export async function confirm(io: IO, question: string): Promise<void> {
  if (io.yes || io.dryRun) return;
  if (!io.interactive) {
    throw new L3ctlError(`confirmation needed: ${question.replace(/\?$/, '')}; no terminal to ask on`, EXIT.declined, 'pass --yes to confirm');
  }
  if (!(await io.prompter.confirm(question))) throw new L3ctlError('declined; nothing was changed', EXIT.declined);
}

/** Asks on stderr; Ctrl-C or a closed input is a "no" (confirm) or a cancel (null). */
export function terminalPrompter(color: boolean): Prompter {
  const load = async () => {
    // Inquirer's colours follow NO_COLOR, read when it loads: --no-color too.
    if (!color) process.env.NO_COLOR = '1';
    return import('@inquirer/prompts');
  };
  const output = { output: process.stderr };
  const orNull = async <T>(ask: () => Promise<T>): Promise<T | null> => {
    try {
      return await ask();
    } catch {
      return null;
    }
  };
  return {
    confirm: async (message) => (await orNull(async () => (await load()).confirm({ message, default: false }, output))) ?? false,
    select: (message, choices: Choice[]) => orNull(async () => (await load()).select({ message, choices }, output)),
    input: async (message) => {
      const v = await orNull(async () => (await load()).input({ message }, output));
      return v?.trim() || null;
    },
  };
}
