// Module loader hooks (node:module register) for test/helpers/loaded.ts:
// every file: URL that gets loaded is appended, one a line, to `data.out`.
import { appendFileSync } from 'node:fs';

let out = '';

export function initialize(data: { out: string }): void {
  out = data.out;
}

export async function load(
  url: string,
  context: unknown,
  next: (url: string, context: unknown) => Promise<unknown>,
): Promise<unknown> {
  if (url.startsWith('file:')) appendFileSync(out, url + '\n');
  return next(url, context);
}
