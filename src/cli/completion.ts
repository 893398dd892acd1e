// `l3ctl completion bash|zsh|fish` prints the shipped script from
// completions/. Each script only asks `l3ctl __complete WORDS…` (complete.ts)
// and shows what it prints, so the scripts never change when commands do.
import { readFileSync } from 'node:fs';
import type { SHELLS } from './commands.js';
import type { IO } from './io.js';

export type Shell = (typeof SHELLS)[number];

/** Paths inside the package (package.json "files" ships completions/). */
export const SHIPPED: Record<Shell, string> = { bash: 'completions/l3ctl.bash', zsh: 'completions/_l3ctl', fish: 'completions/l3ctl.fish' };

export function completionScript(shell: Shell): string {
  return readFileSync(new URL(`../../../${SHIPPED[shell]}`, import.meta.url), 'utf8');
}

export async function completion(o: { shell: Shell }, io: IO): Promise<void> {
  io.stdout.write(completionScript(o.shell));
}
