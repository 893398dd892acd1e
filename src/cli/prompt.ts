// Confirmations: asked on a TTY (prompt on stderr), refused without one.
import { EXIT, L3ctlError } from '../model/errors.js';
import type { Context } from './context.js';

export async function confirm(ctx: Context, question: string): Promise<void> {
  if (ctx.yes || ctx.dryRun) return;
  if (!ctx.interactive) {
    throw new L3ctlError(`confirmation needed: ${question.replace(/\?$/, '')}; no terminal to ask on`, EXIT.declined, 'pass --yes to confirm');
  }
  // Inquirer's colours follow NO_COLOR, read when it loads: --no-color too.
  if (!ctx.stderrColor) process.env.NO_COLOR = '1';
  const { confirm: ask } = await import('@inquirer/prompts');
  let ok = false;
  try {
    ok = await ask({ message: question, default: false }, { output: process.stderr });
  } catch {
    ok = false; // Ctrl-C or closed input at the prompt is a "no".
  }
  if (!ok) throw new L3ctlError('declined; nothing was changed', EXIT.declined);
}
