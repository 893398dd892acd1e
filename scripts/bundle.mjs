// After tsc: the command line as one bundle with lazily loaded chunks
// (dist/src/bundle). Start-up pays for one module graph instead of ~40 files
// resolved and read one by one (bench section 1 and 2 show the difference).
// bin/l3ctl runs the bundle when it is there; the unbundled dist/src stays
// for the tests that import modules (and L3CTL_UNBUNDLED=1 runs it).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const out = 'dist/src/bundle';
// Chunk names change with their contents: old ones would pile up (and be packaged).
rmSync(out, { recursive: true, force: true });
await build({
  // Not tab completion: it loads four small modules, and a bundle buys it nothing.
  entryPoints: ['dist/src/cli/main.js'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: out,
  logLevel: 'warning',
  // Packages written for CommonJS (cli-table3) expect these.
  banner: {
    js: [
      "import { createRequire as __l3ctlRequire } from 'node:module';",
      "import { fileURLToPath as __l3ctlPath } from 'node:url';",
      'const require = __l3ctlRequire(import.meta.url);',
      'const __filename = __l3ctlPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  },
});

// Tab completion as one CommonJS file, which bin/l3ctl runs directly: a tab
// press then starts no ES module loader (≈8 ms here) and reads one file.
// import.meta.url stays the unbundled module's, beside cmdtree.json.
await build({
  entryPoints: ['dist/src/cli/complete.js'],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: `${out}/complete.cjs`,
  logLevel: 'warning',
  define: { 'import.meta.url': '__l3ctlCompleteUrl' },
  banner: { js: "const __l3ctlCompleteUrl = require('node:url').pathToFileURL(__dirname + '/../cli/complete.js').href;" },
  footer: { js: 'module.exports.main(process.argv.slice(2));' },
});

// The same code once more as a V8 start-up snapshot (src/cli/snapshot.ts):
// one CommonJS file (a snapshot holds one script), its `import()`s of our own
// modules inlined and of node's built-ins turned into `require` (a snapshot
// has no module loader), run once by `node --build-snapshot`. bin/l3ctl runs
// the blob with the node that built it (its path is in l3ctl.blob.node, which
// has that binary's mtime); a blob that is missing or stale is passed over for
// the bundle above. Tab completion has a blob of its own, l3ctl.blob.complete
// (src/cli/complete-snapshot.ts): the command line's is three times the
// start-up cost of the small completion code. A failed snapshot build is a
// warning, never a failed build.
const blob = `${out}/l3ctl.blob`;
const completeBlob = `${blob}.complete`;
const builtinsAsRequire = {
  name: 'builtins-as-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, namespace: 'builtin' } : { path: a.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
  },
};
async function snapshot(entry, script, target, options) {
  await build({ entryPoints: [entry], bundle: true, format: 'cjs', platform: 'node', target: 'node20', outfile: script, logLevel: 'error', plugins: [builtinsAsRequire], ...options });
  const r = spawnSync(process.execPath, ['--snapshot-blob', target, '--build-snapshot', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node --build-snapshot ${script} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
}
try {
  // Set from the blob's path at start-up: the chunks' place, so the same relative URLs hold.
  await snapshot('dist/src/cli/snapshot.js', `${out}/snapshot.cjs`, blob, { define: { 'import.meta.url': 'globalThis.__l3ctlUrl' } });
  // complete.js's own URL, as in complete.cjs: at build time from here, at start-up from the blob's path.
  await snapshot('dist/src/cli/complete-snapshot.js', `${out}/complete-snapshot.cjs`, completeBlob, {
    define: { 'import.meta.url': 'globalThis.__l3ctlCompleteUrl' },
    banner: { js: "globalThis.__l3ctlCompleteUrl = require('node:url').pathToFileURL(__dirname + '/../cli/complete.js').href;" },
  });
  writeFileSync(`${blob}.node`, process.execPath + '\n');
  // To the nanosecond (utimes from node would round): the launcher compares the two.
  const t = spawnSync('touch', ['-r', process.execPath, `${blob}.node`]);
  if (t.status !== 0) throw new Error('touch -r failed');
} catch (err) {
  for (const f of [blob, completeBlob, `${blob}.node`]) rmSync(f, { force: true });
  console.warn(`bundle: no start-up snapshot (${err.message}); l3ctl runs the bundle`);
}
