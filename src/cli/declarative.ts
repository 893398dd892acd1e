// `export`, `diff`, `apply`: thin verbs over src/agent/document.ts (the file)
// and src/agent/declarative.ts (merge, diff, one transaction). Both, and the
// yaml package, are imported only when one of these verbs runs.
import { readFile, writeFile } from 'node:fs/promises';
import type { DiffEntry } from '../agent/declarative.js';
import type { ReadDocument } from '../agent/document.js';
import { EXIT, L3ctlError, UsageError } from '../model/errors.js';
import type { IO } from './io.js';
import { txDeps } from './mutate.js';
import { confirmOnTerminal } from './prompt.js';

/** The document named on the command line: a file, or standard input for '-'. */
async function readSource(file: string): Promise<{ text: string; source: string }> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return { text: Buffer.concat(chunks).toString('utf8'), source: '<stdin>' };
  }
  try {
    return { text: await readFile(file, 'utf8'), source: file };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new UsageError(`cannot read ${file}: ${why}`, 'l3ctl export -o FILE writes one');
  }
}

/**
 * Read and check a document; an invalid one prints every problem, one
 * `l3ctl: error:` line each, and is exit 2 (nothing is changed).
 */
async function withDocument(io: IO, file: string, fn: (read: ReadDocument) => Promise<number>): Promise<number> {
  const { readDocument, InvalidDocument } = await import('../agent/document.js');
  const { text, source } = await readSource(file);
  try {
    const read = readDocument(text, source);
    for (const w of read.warnings) io.warn(`${source}: ${w}`);
    // The whole-state rules are checked against the store too (in fn): their problems are the file's.
    return await fn(read);
  } catch (err) {
    if (!(err instanceof InvalidDocument)) throw err;
    for (const line of err.lines()) io.stderr.write(`l3ctl: error: ${line}\n`);
    io.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
}

/** Diff lines, coloured on a colour terminal (+ green, - red, ~ yellow). */
async function printDiff(io: IO, entries: DiffEntry[]): Promise<void> {
  const { diffLine } = await import('../agent/declarative.js');
  if (io.format === 'json') return io.out(JSON.stringify(entries, null, 2));
  if (io.format === 'yaml') return io.out(await (await import('./output.js')).yamlText(entries));
  if (!entries.length) return;
  const chalk = io.color ? new (await import('chalk')).Chalk({ level: 1 }) : null;
  const paint = (op: string, s: string) => (!chalk ? s : op === '+' ? chalk.green(s) : op === '-' ? chalk.red(s) : chalk.yellow(s));
  io.out(entries.map((e) => paint(e.op, diffLine(e))).join('\n'));
}

/** `routers 3/10` on one rewritten stderr line, on a terminal only. */
function progressLine(io: IO): { update(done: number, total: number): void; end(): void } | null {
  if (!io.stderr.isTTY || io.quiet || io.dryRun) return null;
  let shown = false;
  return {
    update(done, total) {
      shown = true;
      io.stderr.write(`\r\x1b[Kl3ctl: apply: routers ${done}/${total}`);
    },
    end() {
      if (shown) io.stderr.write('\r\x1b[K');
    },
  };
}

export async function exportState(o: { output?: string }, io: IO): Promise<void> {
  const { renderDocument, toDocument, formatOfPath } = await import('../agent/document.js');
  const { loadState } = await import('../store/store.js');
  // -f given: yaml or json; not given: by -o's extension, else YAML (also when piped).
  if (io.formatGiven && io.format !== 'json' && io.format !== 'yaml') {
    throw new UsageError(`export writes a document: expected -f yaml or -f json, got -f ${io.format}`);
  }
  const format = io.formatGiven ? (io.format === 'json' ? 'json' : 'yaml') : (o.output && formatOfPath(o.output)) || 'yaml';
  const text = renderDocument(toDocument(await loadState(io.storePath)), format);
  if (!o.output) return void io.stdout.write(text);
  try {
    // 0600: the config may hold a secret (ha_vrrp_auth_password).
    await writeFile(o.output, text, { mode: 0o600 });
  } catch (err) {
    throw new L3ctlError(`cannot write ${o.output}: ${(err as Error).message}`, EXIT.apply);
  }
  io.status(`wrote ${o.output}`);
}

/** Exit 1 when the file would change anything (as diff(1) and kubectl diff), 0 when nothing. */
export async function diffDocumentVerb(o: { file: string; prune?: boolean }, io: IO): Promise<number> {
  return withDocument(io, o.file, async (read) => {
    const { diffDocument } = await import('../agent/declarative.js');
    const entries = await diffDocument(io.storePath, read, { prune: !!o.prune });
    // -q prints nothing; the exit status still tells.
    await printDiff(io, entries);
    return entries.length ? EXIT.apply : EXIT.ok;
  });
}

export async function applyDocumentVerb(o: { file: string; prune?: boolean }, io: IO): Promise<number> {
  return withDocument(io, o.file, async (read) => {
    const { applyDocument, diffDocument, diffLine } = await import('../agent/declarative.js');
    // --prune on a terminal: what the file lacks is named and asked about first, as
    // router delete asks; a script (no terminal) goes ahead, as an apply is meant to.
    if (o.prune && io.interactive && !io.yes && !io.dryRun) {
      const gone = (await diffDocument(io.storePath, read, { prune: true })).filter((e) => e.op === '-');
      const named = gone.slice(0, 6).map((e) => `${e.kind} ${e.object}`).join(', ') + (gone.length > 6 ? `, and ${gone.length - 6} more` : '');
      if (gone.length) await confirmOnTerminal(io, `Remove what ${read.source} lacks: ${named}?`);
    }
    const progress = progressLine(io);
    const t0 = performance.now();
    let result;
    try {
      result = await applyDocument(txDeps(io), read, { prune: !!o.prune, onProgress: progress?.update });
    } finally {
      progress?.end();
    }
    if (io.dryRun) return EXIT.ok;
    for (const e of result.changes) io.status(diffLine(e));
    const count = (op: string) => result.changes.filter((e) => e.op === op).length;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const n = `${result.routers} router${result.routers === 1 ? '' : 's'}`;
    io.status(
      result.changes.length
        ? `${read.source}: ${count('+')} added, ${count('~')} changed, ${count('-')} removed; ${n} converged in ${secs} s`
        : `${read.source}: no change; ${n} checked in ${secs} s`,
    );
    return EXIT.ok;
  });
}
