// Writes every file generated from the command table (commands.ts): the
// completion tree (src/cli/cmdtree.json), man/l3ctl.1 and the README's command list.
//   node dist/src/cli/gendocs.js           write them (then rebuild: the build copies cmdtree.json to dist)
//   node dist/src/cli/gendocs.js --check   exit 1 and name those that differ
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { version } from './version.js';
import { manPage, readmeCommands, replaceReadmeSection } from './manpage.js';
import { cmdtreeJson, specOf } from './spec.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Path (from the repository root) → the content it should have. */
export function generated(root = ROOT): Record<string, string> {
  const tree = specOf();
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return {
    'src/cli/cmdtree.json': cmdtreeJson(),
    'man/l3ctl.1': manPage(tree, version()),
    'README.md': replaceReadmeSection(readme, readmeCommands(tree)),
  };
}

const read = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, text] of Object.entries(generated())) {
    const p = join(ROOT, rel);
    if (read(p) === text) continue;
    stale++;
    if (check) {
      process.stderr.write(`gendocs: ${rel} is out of date\n`);
    } else {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, text);
      process.stderr.write(`gendocs: wrote ${rel}\n`);
    }
  }
  if (check && stale) {
    process.stderr.write('gendocs: run `node dist/src/cli/gendocs.js` and rebuild\n');
    process.exitCode = 1;
  }
}
