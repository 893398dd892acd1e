// `l3ctl completion bash|zsh|fish` prints the shipped script from
// completions/. Each script only asks `l3ctl __complete WORDS…` (complete.ts)
// and shows what it prints, so the scripts never change when commands do.
import { readFileSync } from 'node:fs';
import { Argument, type Command } from 'commander';
import { define } from './define.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Paths inside the package (package.json "files" ships completions/). */
export const SHIPPED: Record<Shell, string> = { bash: 'completions/l3ctl.bash', zsh: 'completions/_l3ctl', fish: 'completions/l3ctl.fish' };

export function completionScript(shell: Shell): string {
  return readFileSync(new URL(`../../../${SHIPPED[shell]}`, import.meta.url), 'utf8');
}

export function register(program: Command): void {
  define(program, 'completion', {
    summary: 'print the shell completion script for bash, zsh or fish',
    examples: ['source <(l3ctl completion bash)', 'l3ctl completion fish > ~/.config/fish/completions/l3ctl.fish'],
  })
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action((shell: Shell) => {
      process.stdout.write(completionScript(shell));
    });
}
