// The entry of the start-up snapshot (scripts/bundle.mjs builds it, bin/l3ctl
// runs it): the command line's code, compiled and its static modules already
// evaluated, so that a command starts with its modules in the heap instead of
// resolving, reading and compiling some thirty files.
//
// What is evaluated while the snapshot is built must not depend on the run:
// main.ts and its static imports read the environment, the terminal and the
// arguments only when called. Everything else is loaded on first use, as in
// the ESM bundle.
import { startupSnapshot } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { main } from './main.js';

declare global {
  // The bundle's `import.meta.url` (scripts/bundle.mjs): where package.json,
  // the completion scripts and the lab's helper are found, relative to the blob.
  // eslint-disable-next-line no-var
  var __l3ctlUrl: string;
}

/** The blob node was started with (`--snapshot-blob PATH`): the code's place on disk. */
function blobUrl(): string {
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--snapshot-blob') return pathToFileURL(args[i + 1]!).href;
    if (a.startsWith('--snapshot-blob=')) return pathToFileURL(a.slice('--snapshot-blob='.length)).href;
  }
  throw new Error('l3ctl: the start-up snapshot was run without --snapshot-blob');
}

globalThis.__l3ctlUrl = blobUrl();
startupSnapshot.setDeserializeMainFunction(() => {
  globalThis.__l3ctlUrl = blobUrl();
  void main(process.argv);
});
