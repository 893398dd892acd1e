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
import { blobPath } from './blob-path.js';
import { main } from './main.js';
import { COMMANDS } from './commands.js';

declare global {
  // The bundle's `import.meta.url` (scripts/bundle.mjs): where package.json,
  // the completion scripts and the lab's helper are found, relative to the blob.
  // eslint-disable-next-line no-var
  var __l3ctlUrl: string;
}

// Evaluated while the snapshot is built, not at each start (about 10 ms of a
// fip associate): the nouns, output, the transaction with planning and
// apply, and the agent's verbs. Loading them reads nothing of the run (no
// environment, no terminal, no file) and leaves their caches empty. Left to
// load on first use: src/lab (paths from import.meta.url at load), and the
// packages the modules import lazily (prompts, tables, colours, YAML).
// `__l3ctlUrl` is set only at each start:
// a module that read import.meta.url while loading would fail the build of
// the snapshot (test/unit/launcher.test.ts then fails), not keep a stale path.
const COLD = new Set(['lab', 'diagnose', 'export', 'diff', 'apply', 'completion']);
const WARM = [
  // Every noun of the command table but the rarely run (each one more makes the blob, and every start, bigger).
  ...COMMANDS.filter((c) => c.load && !COLD.has(c.name)).map((c) => c.load!),
  () => import('./io.js'),
  () => import('./output.js'),
  () => import('./views.js'),
  () => import('./mutate.js'),
  () => import('../agent/transaction.js'),
  () => import('../agent/sync.js'),
  () => import('../agent/desired.js'),
  () => import('../linux/runner.js'),
  () => import('../linux/files.js'),
  () => import('../store/store.js'),
  () => import('../store/lock.js'),
  () => import('../store/registry.js'),
];
// Then the common paths run once on a made-up site (train.ts), so that their
// functions are compiled here rather than at every start.
void Promise.all(WARM.map((load) => load()))
  .then(() => import('./train.js'))
  .then(({ train }) => train());

startupSnapshot.setDeserializeMainFunction(() => {
  globalThis.__l3ctlUrl = pathToFileURL(blobPath()).href;
  void main(process.argv);
});
