// export, diff, apply: thin verbs over src/agent/document.ts (the file) and
// src/agent/declarative.ts (merge, diff, one transaction). Both, and the
// yaml package, are imported by the actions only: other commands never load
// them.
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { L3ctlError, UsageError } from '../model/errors.js';
import type { Context } from './context.js';
import { define, handler } from './define.js';
import { txDeps } from './mutate.js';

/** -f yaml is export's document format; every other command prints table, json or value (main.ts's preAction hook). */
export function refuseYamlFormat(program: Command, action: Command): void {
  if (program.opts().format !== 'yaml' || action.name() === 'export') return;
  const path: string[] = [];
  for (let c: Command | null = action; c && c !== program; c = c.parent) path.unshift(c.name());
  throw new UsageError(`-f yaml is the document format of export only: expected -f table, json or value for '${path.join(' ')}'`);
}

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
 * `l3ctl: error:` line each, and exits 2 (nothing is changed).
 */
async function withDocument(ctx: Context, file: string, fn: (read: import('../agent/document.js').ReadDocument) => Promise<void>): Promise<void> {
  const { readDocument, InvalidDocument } = await import('../agent/document.js');
  const { text, source } = await readSource(file);
  try {
    const read = readDocument(text, source);
    for (const w of read.warnings) ctx.warn(`${source}: ${w}`);
    await fn(read);
  } catch (err) {
    if (!(err instanceof InvalidDocument)) throw err;
    for (const line of err.lines()) process.stderr.write(`l3ctl: error: ${line}\n`);
    process.stderr.write(`hint: ${err.hint}\n`);
    process.exitCode = err.exitCode;
  }
}

/** Diff lines, coloured on a colour terminal (+ green, - red, ~ yellow). */
async function printDiff(ctx: Context, entries: import('../agent/declarative.js').DiffEntry[]): Promise<void> {
  const { diffLine } = await import('../agent/declarative.js');
  if (ctx.format === 'json') return ctx.out(JSON.stringify(entries, null, 2));
  if (!entries.length) return;
  const chalk = ctx.color ? new (await import('chalk')).Chalk({ level: 1 }) : null;
  const paint = (op: string, s: string) => (!chalk ? s : op === '+' ? chalk.green(s) : op === '-' ? chalk.red(s) : chalk.yellow(s));
  ctx.out(entries.map((e) => paint(e.op, diffLine(e))).join('\n'));
}

/** `routers 3/10` on one rewritten stderr line, on a terminal only. */
function progressLine(ctx: Context): { update(done: number, total: number): void; end(): void } | null {
  if (!process.stderr.isTTY || ctx.quiet || ctx.dryRun) return null;
  let shown = false;
  return {
    update(done, total) {
      shown = true;
      process.stderr.write(`\r\x1b[Kl3ctl: apply: routers ${done}/${total}`);
    },
    end() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

export function register(program: Command): void {
  define(program, 'export', {
    summary: 'print the whole desired state as a document apply accepts (YAML, or JSON with -f json)',
    examples: ['l3ctl export -o site.yaml', 'l3ctl export -f json | ssh node2 l3ctl apply -'],
  })
    .option('-o, --output <file>', 'write to FILE instead of standard output (format from its extension: .json or .yaml)')
    .action(
      handler(async (ctx, o) => {
        const { renderDocument, toDocument, formatOfPath } = await import('../agent/document.js');
        const { loadState } = await import('../store/store.js');
        // -f (global) given: yaml or json; not given: by -o's extension, else YAML (also when piped).
        const given = program.getOptionValueSource('format') !== 'default';
        if (given && ctx.format !== 'json' && ctx.format !== 'yaml') {
          throw new UsageError(`export writes a document: expected -f yaml or -f json, got -f ${ctx.format}`);
        }
        const format = given ? (ctx.format === 'json' ? 'json' : 'yaml') : (o.output && formatOfPath(o.output)) || 'yaml';
        const text = renderDocument(toDocument(await loadState(ctx.storePath)), format);
        if (!o.output) return void process.stdout.write(text);
        try {
          // 0600: the config may hold a secret (ha_vrrp_auth_password).
          await writeFile(o.output, text, { mode: 0o600 });
        } catch (err) {
          throw new L3ctlError(`cannot write ${o.output}: ${(err as Error).message}`, 1);
        }
        ctx.status(`wrote ${o.output}`);
      }),
    );

  define(program, 'diff <file>', {
    summary: "what apply would change, object by object; exit 1 when anything, 0 when nothing, 2 for an invalid file",
    examples: ['l3ctl diff site.yaml', 'l3ctl diff --prune site.yaml -f json'],
  })
    .option('--prune', 'also what apply --prune would remove')
    .action(
      handler(async (ctx, o, file: string) => {
        await withDocument(ctx, file, async (read) => {
          const { diffDocument } = await import('../agent/declarative.js');
          const entries = await diffDocument(ctx.storePath, read, { prune: !!o.prune });
          // As diff(1) and kubectl diff: -q prints nothing, the exit status still tells.
          await printDiff(ctx, entries);
          if (entries.length) process.exitCode = 1;
        });
      }),
    );

  define(program, 'apply <file>', {
    summary: "make the store and kernel match a document (- reads standard input): checked whole first, then one transaction",
    examples: ['l3ctl apply site.yaml', 'l3ctl apply --prune site.yaml', 'l3ctl --store /var/lib/l3ctl/state.json export | l3ctl --store other.json apply -'],
  })
    .option('--prune', 'remove networks, routers, floating IPs and config keys the file does not have')
    .action(
      handler(async (ctx, o, file: string) => {
        await withDocument(ctx, file, async (read) => {
          const { applyDocument } = await import('../agent/declarative.js');
          const progress = progressLine(ctx);
          const t0 = performance.now();
          let result;
          try {
            result = await applyDocument(txDeps(ctx), read, { prune: !!o.prune, onProgress: progress?.update });
          } finally {
            progress?.end();
          }
          if (ctx.dryRun) return;
          const { diffLine } = await import('../agent/declarative.js');
          for (const e of result.changes) ctx.status(diffLine(e));
          const count = (op: string) => result.changes.filter((e) => e.op === op).length;
          const secs = ((performance.now() - t0) / 1000).toFixed(1);
          ctx.status(
            result.changes.length
              ? `${read.source}: ${count('+')} added, ${count('~')} changed, ${count('-')} removed; ${result.routers} router${result.routers === 1 ? '' : 's'} converged in ${secs} s`
              : `${read.source}: no change; ${result.routers} router${result.routers === 1 ? '' : 's'} checked in ${secs} s`,
          );
        });
      }),
    );
}
