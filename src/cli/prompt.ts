// Questions on the terminal. confirm() is the policy every destructive verb
// follows (--yes and --dry-run skip it; no terminal is exit 6; Ctrl-C is exit
// 130); the terminal prompter asks with @inquirer (inquirer.ts) on stderr, loaded
// only when it asks.
import { EXIT, L3ctlError } from '../model/errors.js';
import type { Choice, IO, Prompter } from './io.js';

/** Ctrl-C at a question: exit 130, as everywhere else; nothing was changed yet. */
export class PromptInterrupted extends L3ctlError {
  constructor() {
    super('interrupted (Ctrl-C); nothing was changed', EXIT.interrupted);
  }
}

/**
 * The one policy of every destructive verb: --yes and --dry-run skip the
 * question; without a terminal (or with --no-input) it is exit 6; on one the
 * operator is asked, and "no" is exit 6, Ctrl-C exit 130.
 */
export async function confirm(io: IO, question: string): Promise<void> {
  if (io.yes || io.dryRun) return;
  if (!io.interactive) {
    throw new L3ctlError(`confirmation needed: ${question.replace(/\?$/, '')}; no terminal to ask on`, EXIT.declined, 'pass --yes to confirm');
  }
  if (!(await io.prompter.confirm(question))) throw new L3ctlError('declined; nothing was changed', EXIT.declined);
}

/**
 * A question only worth asking on a terminal (moving a floating IP): without
 * one the command goes ahead, as scripts expect; on one "no" is exit 6.
 */
export async function confirmOnTerminal(io: IO, question: string): Promise<void> {
  if (io.yes || io.dryRun || !io.interactive) return;
  if (!(await io.prompter.confirm(question))) throw new L3ctlError('declined; nothing was changed', EXIT.declined);
}

/** Inquirer's error for Ctrl-C (its other failures, such as a closed input, are a "no"). */
const isCtrlC = (err: unknown) => (err as Error)?.name === 'ExitPromptError' && /SIGINT/.test((err as Error).message);

/** Asks on stderr; Ctrl-C throws PromptInterrupted; a closed input is a "no" (confirm) or a cancel (null). */
export function terminalPrompter(color: boolean): Prompter {
  const load = async () => {
    // Inquirer's colours follow NO_COLOR, read when it loads: --no-color too.
    if (!color) process.env.NO_COLOR = '1';
    return import('./inquirer.js');
  };
  const output = { output: process.stderr };
  const orNull = async <T>(ask: () => Promise<T>): Promise<T | null> => {
    try {
      return await ask();
    } catch (err) {
      if (isCtrlC(err)) throw new PromptInterrupted();
      return null;
    }
  };
  return {
    confirm: async (message) => (await orNull(async () => (await load()).confirm({ message, default: false }, output))) ?? false,
    select: (message, choices: Choice[]) => orNull(async () => (await load()).select({ message, choices, pageSize: 12 }, output)),
    input: async (message, opts) => {
      const v = await orNull(async () => (await load()).input({ message, ...(opts?.default ? { default: opts.default } : {}) }, output));
      return v?.trim() || null;
    },
  };
}
