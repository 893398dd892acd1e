// Help, man page and README command list come from the command table:
// every command documents itself, and committed generated files match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, l3ctl, tempStore } from '../helpers/cli.js';
import { requireProgram } from '../helpers/tools.js';
import { generated } from '../../src/cli/gendocs.js';
import { STATE_VERSION } from '../../src/model/types.js';
import { helpText } from '../../src/cli/help.js';
import { specOf, walkSpec } from '../../src/cli/spec.js';

const all = walkSpec(specOf()).map(({ path, spec }) => ({ path, doc: spec }));

test('the walk finds the commands', () => {
  const paths = all.map((x) => x.path.join(' '));
  for (const p of ['network add', 'router show', 'fip associate', 'config set', 'completion']) assert.ok(paths.includes(p), p);
});

for (const { path, doc } of all) {
  test(`l3ctl ${path.join(' ')} --help: usage, one-line summary, an example`, () => {
    assert.ok(doc.summary.length > 0 && !doc.summary.includes('\n'), 'one-line summary');
    assert.ok(doc.examples.length > 0, 'at least one example');
    const help = helpText(path);
    assert.match(help, new RegExp(`^Usage: l3ctl ${path.join(' ')} `));
    assert.ok(help.replace(/\s+/g, ' ').includes(doc.summary), 'summary in --help');
    for (const e of doc.examples) {
      assert.ok(help.includes(`Example: ${e}`), `Example: ${e}`);
      assert.match(e, /^(l3ctl |source <\(l3ctl )/, 'examples are l3ctl command lines');
    }
  });
}

test('--help through the real binary shows the example (fip associate)', async () => {
  const r = await l3ctl(['fip', 'associate', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: l3ctl fip associate /);
  assert.match(r.stdout, /^Example: l3ctl fip associate 203\.0\.113\.20 198\.51\.100\.5$/m);
});

test('a missing required argument without a TTY: usage error, exit 2', async () => {
  const r = await l3ctl(['router', 'add']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split('\n')[0], "l3ctl: error: missing required argument 'name'");
  assert.equal(r.stdout, '');
});

const gen = generated();

for (const file of Object.keys(gen)) {
  test(`committed ${file} matches the command definitions (regenerate: node dist/src/cli/gendocs.js)`, () => {
    assert.equal(readFileSync(join(ROOT, file), 'utf8'), gen[file]);
  });
}

test('the man page covers every command and the required sections', () => {
  const page = gen['man/l3ctl.1']!;
  for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'GLOBAL OPTIONS', 'COMMANDS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES']) {
    assert.match(page, new RegExp(`^\\.SH ${s}$`, 'm'), s);
  }
  for (const { path } of walkSpec(specOf()).filter((x) => !x.spec.commands.length)) {
    assert.ok(page.includes(`\\fBl3ctl ${path.join(' ').replace(/-/g, '\\-')}\\fR`), `man page lacks l3ctl ${path.join(' ')}`);
  }
  for (const code of ['0', '1', '2', '3', '4', '5', '6', '130']) assert.match(page, new RegExp(`^\\.B ${code}$`, 'm'));
  for (const v of ['L3CTL_STORE', 'L3CTL_LOCK_TIMEOUT', 'NO_COLOR']) assert.match(page, new RegExp(`^\\.B ${v}$`, 'm'));
  for (const f of ['/var/lib/l3ctl/state.json', '/var/lib/l3ctl/state.json.bak', '/var/lib/l3ctl/state.json.lock']) {
    assert.match(page, new RegExp(`^\\.I ${f.replace(/\./g, '\\.')}$`, 'm'));
  }
});

test('the README lists every command', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const { path } of all.filter((x) => !x.doc.commands.length)) {
    assert.ok(readme.includes(`| \`l3ctl ${path.join(' ')}`), `README lacks l3ctl ${path.join(' ')}`);
  }
});

test('man page renders with groff -man -ww without a warning', (t) => {
  if (!requireProgram(t, 'groff', 'groff-base')) return;
  const r = spawnSync('groff', ['-man', '-ww', '-z', join(ROOT, 'man', 'l3ctl.1')], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '', 'groff warnings');
  const text = spawnSync('groff', ['-man', '-Tutf8', '-P', '-cbou', join(ROOT, 'man', 'l3ctl.1')], { encoding: 'utf8' }).stdout;
  assert.match(text, /l3ctl fip associate 203\.0\.113\.20 198\.51\.100\.5/);
  assert.match(text, /EXIT STATUS/);
});

test("the README's example site document is one this l3ctl reads: diff on an empty store lists its objects (exit 1)", async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const doc = /```yaml\n(apiVersion: l3ctl\/v1\n[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(doc, 'the README has an example document');
  assert.match(doc, new RegExp(`^storeVersion: ${STATE_VERSION}$`, 'm'), 'the example is in the store version this l3ctl writes');
  assert.match(readme, new RegExp(`\`storeVersion: ${STATE_VERSION}\``), 'the prose names the current store version');
  const store = tempStore();
  try {
    const file = join(store.dir, 'site.yaml');
    writeFileSync(file, doc);
    const r = await l3ctl(['diff', file], { store: store.path });
    assert.equal(r.code, 1, `diff exits 1 when the document adds something: ${r.stderr}`);
    assert.equal(r.stderr, '');
    for (const name of ['ext', 'priv', 'r1', '203.0.113.20']) assert.match(r.stdout, new RegExp(`\\+ .*${name.replace(/\./g, '\\.')}`), name);
  } finally {
    store.cleanup();
  }
});
