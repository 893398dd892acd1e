// The store's writer (src/store/atomic.ts): whole files only, the mode asked
// for on a new file, an existing file's mode kept, a symlink's target written
// (the link stays), and no temporary file left when the write fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicSync } from '../../src/store/atomic.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'l3ctl-test-atomic-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a new file gets the text and exactly the mode asked for, whatever the umask', (t) => {
  const d = dir(t);
  const f = path.join(d, 'state.json');
  const old = process.umask(0o077);
  try {
    writeFileAtomicSync(f, '{"a":1}\n', { mode: 0o640 });
  } finally {
    process.umask(old);
  }
  assert.equal(fs.readFileSync(f, 'utf8'), '{"a":1}\n');
  assert.equal(fs.statSync(f).mode & 0o777, 0o640);
  assert.deepEqual(fs.readdirSync(d), ['state.json'], 'no temporary file left');
});

test('an existing file is replaced by a new inode (never written in place) and keeps its mode', (t) => {
  const f = path.join(dir(t), 'state.json');
  fs.writeFileSync(f, 'old text, longer than the new one\n', { mode: 0o600 });
  fs.chmodSync(f, 0o604);
  const before = fs.statSync(f).ino;
  const reader = fs.openSync(f, 'r');
  writeFileAtomicSync(f, 'new\n', { mode: 0o600 });
  assert.equal(fs.readFileSync(f, 'utf8'), 'new\n');
  assert.notEqual(fs.statSync(f).ino, before, 'renamed over, not truncated');
  assert.equal(fs.readFileSync(reader, 'utf8'), 'old text, longer than the new one\n', 'a reader of the old file still sees it whole');
  fs.closeSync(reader);
  assert.equal(fs.statSync(f).mode & 0o777, 0o604, 'the mode it had, not the one for new files');
});

test("a symlinked file: its target is replaced and the link stays a link", (t) => {
  const d = dir(t);
  const real = path.join(d, 'real.json');
  const link = path.join(d, 'state.json');
  fs.writeFileSync(real, 'old\n');
  fs.symlinkSync(real, link);
  writeFileAtomicSync(link, 'new\n');
  assert.ok(fs.lstatSync(link).isSymbolicLink());
  assert.equal(fs.readFileSync(real, 'utf8'), 'new\n');
});

test('a failed write throws and leaves neither a temporary file nor a changed target', (t) => {
  const d = dir(t);
  const f = path.join(d, 'state.json');
  fs.writeFileSync(f, 'old\n');
  // A directory where the file's target would be renamed: rename(2) fails with EISDIR.
  const blocked = path.join(d, 'blocked');
  fs.mkdirSync(blocked);
  fs.writeFileSync(path.join(blocked, 'x'), '');
  assert.throws(() => writeFileAtomicSync(blocked, 'new\n'), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(fs.readdirSync(d).sort(), ['blocked', 'state.json']);
  assert.equal(fs.readFileSync(f, 'utf8'), 'old\n');
});
