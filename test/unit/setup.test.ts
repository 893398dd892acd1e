// Set-up never replaces an l3ctl the operator installed (issue 10, item 15):
// scripts/link-command.sh links only over nothing, a dangling link or a link
// into another l3ctl checkout; `setup.sh --for-tests` links nothing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempStore } from '../helpers/cli.js';

const LINK = join(ROOT, 'scripts', 'link-command.sh');
const tmp = tempStore();
after(() => tmp.cleanup());
let n = 0;

/** A fresh place: `src` (this checkout's command), `dest` (where the link goes). */
function place() {
  const dir = join(tmp.dir, `case${n++}`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  return { dir, src: join(ROOT, 'bin', 'l3ctl'), dest: join(dir, 'bin', 'l3ctl') };
}

/** An l3ctl tree at `dir` (package.json, bin/l3ctl), a git checkout when `git` is 'dir' or 'file' (a worktree). */
function l3ctlTree(dir: string, git: 'dir' | 'file' | null): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'l3ctl', version: '0.0.1' }, null, 2));
  writeFileSync(join(dir, 'bin', 'l3ctl'), '#!/bin/sh\n');
  if (git === 'dir') mkdirSync(join(dir, '.git'));
  if (git === 'file') writeFileSync(join(dir, '.git'), 'gitdir: /elsewhere\n');
  return join(dir, 'bin', 'l3ctl');
}

function link(src: string, dest: string) {
  const r = spawnSync('bash', [LINK, src, dest], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr;
}

const linksTo = (p: string) => (lstatSync(p).isSymbolicLink() ? readlinkSync(p) : null);

test('nothing there: linked', () => {
  const p = place();
  link(p.src, p.dest);
  assert.equal(linksTo(p.dest), p.src);
});

test('a regular file (an installed l3ctl) is left as it is', () => {
  const p = place();
  writeFileSync(p.dest, '#!/bin/sh\necho packaged\n');
  assert.match(link(p.src, p.dest), /is not a link this set-up made .*left as it is/);
  assert.equal(linksTo(p.dest), null);
  assert.equal(readFileSync(p.dest, 'utf8'), '#!/bin/sh\necho packaged\n');
});

test('a link into an npm install (no git checkout) or to another program is left as it is', () => {
  for (const target of [l3ctlTree(join(tmp.dir, `npm${n}`, 'lib', 'node_modules', 'l3ctl'), null), '/bin/true']) {
    const p = place();
    symlinkSync(target, p.dest);
    assert.match(link(p.src, p.dest), /not into an l3ctl checkout: left as it is/);
    assert.equal(linksTo(p.dest), target);
  }
});

test('a link into another l3ctl checkout (clone or worktree), or a dangling one, is replaced', () => {
  const targets = [
    l3ctlTree(join(tmp.dir, `clone${n}`), 'dir'),
    l3ctlTree(join(tmp.dir, `worktree${n}`), 'file'),
    join(tmp.dir, 'removed-clone', 'bin', 'l3ctl'),
  ];
  for (const target of targets) {
    const p = place();
    symlinkSync(target, p.dest);
    link(p.src, p.dest);
    assert.equal(linksTo(p.dest), p.src, `over a link to ${target}`);
  }
  assert.equal(existsSync(targets[0]!), true, 'the other checkout is not touched');
});

test('setup.sh links only outside --for-tests, only through link-command.sh', () => {
  const setup = readFileSync(join(ROOT, 'scripts', 'setup.sh'), 'utf8');
  const guarded = /\nif \[ "\$for_tests" = yes \]; then\n[^\n]*\nelse\n((?:.*\n)*?)fi\n/.exec(setup);
  assert.ok(guarded, 'a --for-tests branch that only says so, and an else');
  const outside = setup.replace(guarded[0], '').split('\n').filter((l) => !l.trimStart().startsWith('#'));
  assert.deepEqual(outside.filter((l) => /\/usr\/local|\/etc\/|link-command|(^|[;&|]\s*)(ln|cp|mv)\s/.test(l.trim())), [], 'nothing put in place outside the else branch');
  assert.match(guarded[1]!, /link-command\.sh "\$PWD\/bin\/l3ctl" \/usr\/local\/bin\/l3ctl/);
});
