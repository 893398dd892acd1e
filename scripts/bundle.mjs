// After tsc: the command line as one bundle with lazily loaded chunks
// (dist/src/bundle). Start-up pays for one module graph instead of ~40 files
// resolved and read one by one (bench section 1 and 2 show the difference).
// bin/l3ctl runs the bundle when it is there; the unbundled dist/src stays
// for the tests that import modules (and L3CTL_UNBUNDLED=1 runs it).
import { rmSync } from 'node:fs';
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
  // Packages written for CommonJS (write-file-atomic, cli-table3) expect these.
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
