// A missing required argument on a terminal is asked for (a router, network
// or floating IP picked from the store; anything else typed in) instead of
// being a usage error. Without a terminal, or with --no-input, it stays exit 2.
import type { Command } from 'commander';
import { loadStateSync, resolveStorePath } from '../store/store.js';

interface Missing {
  command: Command;
  name: string;
}

let enabled = false;
let pending: Missing | null = null;

export function enableAsking(on: boolean): void {
  enabled = on;
}

/** Called with commander's error text: true when it will be asked for, so not printed. */
export function holdMissing(command: Command, message: string): boolean {
  const m = /^missing required argument '([^']+)'/.exec(message);
  const arg = m ? command.registeredArguments.find((a) => a.name() === m[1]) : undefined;
  // A trailing command line (`router exec R -- CMD…`) is no single value to ask for.
  if (!enabled || !m || !arg || m[1] === 'command') return false;
  pending = { command, name: m[1]! };
  return true;
}

export function takeMissing(): Missing | null {
  const p = pending;
  pending = null;
  return p;
}

const path = (c: Command): string => (c.parent ? `${path(c.parent)} ${c.name()}` : '').trim();

function storeFrom(argv: string[]): string | undefined {
  const i = argv.indexOf('--store');
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith('--store='))?.slice('--store='.length);
}

/** The value the operator picked or typed, or null (cancelled, nothing to pick). */
export async function ask(missing: Missing, argv: string[]): Promise<string | null> {
  const s = loadStateSync(resolveStorePath(storeFrom(argv)));
  const where = path(missing.command);
  let choices: { name: string; value: string; description?: string }[] | null = null;
  if (s && /^router/.test(missing.name)) {
    choices = s.routers.map((r) => ({ name: r.name, value: r.name, description: r.id }));
  } else if (s && missing.name === 'network') {
    // Only what the command can take: external networks for a gateway, internal ones for an interface.
    const want = where === 'gateway set' ? true : where === 'interface add' ? false : null;
    choices = s.networks.filter((n) => want === null || n.external === want).map((n) => ({ name: `${n.name} (${n.cidr})`, value: n.name, description: n.id }));
  } else if (s && missing.name === 'fip') {
    choices = s.floatingips.map((f) => ({ name: `${f.floating_ip_address}${f.fixed_ip_address ? ` -> ${f.fixed_ip_address}` : ''}`, value: f.floating_ip_address }));
  }
  const { select, input } = await import('@inquirer/prompts');
  const message = `l3ctl ${where}: ${missing.name}`;
  try {
    if (choices) return choices.length ? await select({ message, choices }, { output: process.stderr }) : null;
    const v = (await input({ message }, { output: process.stderr })).trim();
    return v || null;
  } catch {
    return null; // Ctrl-C or closed input at the prompt
  }
}
