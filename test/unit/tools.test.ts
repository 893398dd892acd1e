// A test that needs a program setup.sh installs skips without it, except in
// CI, where it fails (issue 10, item 16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasProgram, requireProgram } from '../helpers/tools.js';

test('requireProgram: present is true; missing skips outside CI and fails in CI', () => {
  const skipped: string[] = [];
  const t = { skip: (msg?: string) => void skipped.push(msg ?? '') };
  const saved = process.env.CI;
  try {
    assert.equal(hasProgram('sh'), true);
    assert.equal(requireProgram(t, 'sh', 'dash'), true);
    delete process.env.CI;
    assert.equal(requireProgram(t, 'l3ctl-no-such-program', 'some-package'), false);
    assert.deepEqual(skipped, ['l3ctl-no-such-program (some-package) is not installed']);
    process.env.CI = 'true';
    assert.throws(() => requireProgram(t, 'l3ctl-no-such-program', 'some-package'), /^Error: l3ctl-no-such-program is not installed \(scripts\/setup\.sh --for-tests installs some-package\)$/);
    assert.equal(skipped.length, 1, 'not skipped in CI');
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});
