// `l3ctl --version`: package.json's version, read at each run (not baked into
// a build), so the command snapshot and the small completion snapshot, which
// both answer it, agree with the checkout they run from.
import { readFileSync } from 'node:fs';

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
