// The start-up snapshot of tab completion (scripts/bundle.mjs builds it as
// l3ctl.blob.complete, bin/l3ctl runs it for `__complete`, and for a bare
// `l3ctl --version`, which needs no more than this): complete.ts compiled and
// the command table parsed before any tab is pressed. Not
// node:crypto: names come from the index a save keeps (store/names.ts), and
// only a completion that reads the whole store (a router's ports, routes)
// checks its digest. With crypto in it, the blob was 0.2 MB bigger, and that
// is deserialised at every tab press.
// What is evaluated at build time must not depend on the run: cmdtree.json is
// part of the build, like the code.
import { startupSnapshot } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { cmdTree, main, writeOut } from './complete.js';
import { version } from './version.js';
import { blobPath } from './blob-path.js';

declare global {
  // The bundle's `import.meta.url` (scripts/bundle.mjs): dist/src/cli/complete.js's.
  // eslint-disable-next-line no-var
  var __l3ctlCompleteUrl: string;
}

cmdTree();

startupSnapshot.setDeserializeMainFunction(() => {
  // Where complete.js is, beside the blob's directory; computed only if asked
  // for (the first URL built costs about a millisecond).
  let url: string | undefined;
  Object.defineProperty(globalThis, '__l3ctlCompleteUrl', {
    configurable: true,
    get: () => (url ??= new URL('../cli/complete.js', pathToFileURL(blobPath())).href),
  });
  // argv: node, the launcher, `__complete`, then the words to complete (or
  // `--version` alone). Answered: exit now rather than tear down the heap (a
  // tab press waits for the process to end), unless part of the answer is
  // still queued for a full pipe.
  if (process.argv[2] === '--version' && process.argv.length === 3) {
    let v: string;
    try {
      v = version();
    } catch (err) {
      // As the command snapshot says it (main.ts): one line, exit 1.
      process.stderr.write(`l3ctl: error: internal error: ${(err as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    if (writeOut(v + '\n')) process.exit();
    return;
  }
  if (main(process.argv.slice(3))) process.exit();
});
