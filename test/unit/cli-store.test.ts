// Issue 4, "Corrupt or unreadable store (exit 5)", through the CLI in-process
// (and the real binary where another user or the shell is involved): reads
// and writes both exit 5 with the path and what is wrong, the file (and its
// .bak) are never rewritten, and the hint's restore command really works.
// No kernel: a recording runner, and no command here gets as far as applying.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, readStore, sh, tempStore } from '../helpers/cli.js';
import { l3ctlIn } from '../helpers/inproc.js';

const EXT = 'e0000000-0000-4000-8000-0000000000e1';
const GOOD = JSON.stringify({
  version: 1,
  config: {},
  networks: [{ id: EXT, name: 'ext', cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', external: true, bridge: null }],
  routers: [],
  floatingips: [],
}, null, 2) + '\n';

const READS = [['network', 'list'], ['network', 'show', 'ext'], ['router', 'list'], ['fip', 'list'], ['config', 'get', 'send_arp_for_ha'], ['agent', 'status']];
// Writes that would not run a program even if the store loaded (no routers).
const WRITES = [['fip', 'add', '203.0.113.31'], ['router', 'add', 'r9'], ['config', 'set', 'send_arp_for_ha', '1'], ['network', 'delete', 'ext', '--yes']];

const CORRUPT: { what: string; text: string; why: RegExp }[] = [
  { what: 'truncated JSON', text: GOOD.slice(0, GOOD.length / 2), why: /invalid JSON/ },
  { what: 'an empty file', text: '', why: /the file is empty/ },
  { what: 'JSON of the wrong shape', text: '{"version": 1, "networks": "none"}\n', why: /corrupt: .*(networks|config)/ },
  { what: 'a JSON array', text: '[]\n', why: /corrupt: / },
  { what: 'a newer version', text: GOOD.replace('"version": 1', '"version": 99'), why: /version 99: written by a newer l3ctl/ },
];

const dirs: { cleanup(): void }[] = [];
after(() => dirs.forEach((d) => d.cleanup()));

/** A store made good by l3ctl itself, so that <store>.bak exists. */
async function storeWithBackup() {
  const t = tempStore();
  dirs.push(t);
  writeFileSync(t.path, GOOD);
  const r = await l3ctlIn(['fip', 'add', '203.0.113.30'], { store: t.path });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readStore(`${t.path}.bak`), GOOD, 'a successful write keeps the previous good store as .bak');
  return t;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('corrupt or unreadable store: exit 5, file untouched', () => {
  for (const c of CORRUPT) {
    it(`${c.what}: every read and write exits 5, names the path, offers the .bak`, async () => {
      const t = await storeWithBackup();
      writeFileSync(t.path, c.text);
      const mtime = statSync(t.path).mtimeMs;
      const files = readdirSync(t.dir).sort();
      for (const args of [...READS, ...WRITES]) {
        const r = await l3ctlIn(args, { store: t.path });
        const lines = r.stderr.split('\n');
        assert.equal(r.code, 5, `${args.join(' ')}: ${r.stderr}`);
        assert.match(lines[0]!, new RegExp(`^l3ctl: error: store ${esc(t.path)} is corrupt: `), args.join(' '));
        assert.match(lines[0]!, c.why, args.join(' '));
        assert.equal(lines[1], `hint: the previous good store is ${t.path}.bak; restore it with: cp ${t.path}.bak ${t.path}`, args.join(' '));
        assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
        assert.equal(r.stdout, '');
        assert.equal(readStore(t.path), c.text, `${args.join(' ')} left the store as it was`);
        assert.equal(statSync(t.path).mtimeMs, mtime, `${args.join(' ')} did not rewrite the store`);
        assert.equal(readStore(`${t.path}.bak`), GOOD, `${args.join(' ')} left the .bak as it was`);
        assert.deepEqual(readdirSync(t.dir).sort(), files, 'no file added or removed');
      }
    });
  }

  it("the hint's restore command brings the store back", async () => {
    const t = await storeWithBackup();
    writeFileSync(t.path, '{"version": 1,');
    const r = await l3ctlIn(['network', 'list', '-f', 'value', '-c', 'name'], { store: t.path });
    const cmd = /restore it with: (.*)$/m.exec(r.stderr)?.[1];
    assert.ok(cmd, r.stderr);
    assert.equal(sh(['sh', '-c', cmd!]).code, 0);
    const again = await l3ctlIn(['network', 'list', '-f', 'value', '-c', 'name'], { store: t.path });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'ext\n');
  });

  it('without a .bak the message does not promise one', async () => {
    const t = tempStore();
    dirs.push(t);
    writeFileSync(t.path, '{"version": 1,');
    for (const args of [['router', 'list'], ['router', 'add', 'r9']]) {
      const r = await l3ctlIn(args, { store: t.path });
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /^l3ctl: error: store .* is corrupt: invalid JSON/);
      assert.doesNotMatch(r.stderr, /\.bak/);
      assert.equal(readStore(t.path), '{"version": 1,');
      assert.deepEqual(readdirSync(t.dir), ['state.json']);
    }
  });

  it('a directory where the store should be: exit 5 for reads and writes', async () => {
    const t = tempStore();
    dirs.push(t);
    mkdirSync(t.path);
    for (const args of [['router', 'list'], ['router', 'add', 'r9']]) {
      const r = await l3ctlIn(args, { store: t.path });
      assert.equal(r.code, 5, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0]!, new RegExp(`^l3ctl: error: cannot read store ${esc(t.path)}: it is a directory`));
      assert.deepEqual(readdirSync(t.path), [], 'nothing written into it');
    }
  });

  it('a path through a regular file: exit 5 for reads and writes', async () => {
    const t = tempStore();
    dirs.push(t);
    writeFileSync(join(t.dir, 'file'), 'x');
    const path = join(t.dir, 'file', 'state.json');
    for (const args of [['router', 'list'], ['router', 'add', 'r9']]) {
      const r = await l3ctlIn(args, { store: path });
      assert.equal(r.code, 5, `${args.join(' ')}: ${r.stderr}`);
      // Reads say "not a directory"; writes fail earlier, making the lock's
      // parent directory (lock.ts words it as mkdir's EEXIST).
      assert.match(r.stderr.split('\n')[0]!, new RegExp(`^l3ctl: error: cannot (read|lock) store ${esc(path)}: `));
      if (args[1] === 'list') assert.match(r.stderr, /a component of the path is not a directory/);
    }
  });

  it('a file this user may not read: exit 5, permission denied, for reads and writes', async () => {
    const t = await storeWithBackup();
    chmodSync(t.dir, 0o777); // the lock dir is made beside the store
    chmodSync(t.path, 0o000);
    const before = readStore(t.path);
    // Root reads anything: run l3ctl as root without the capabilities that
    // let it ignore file modes. Not as another user: one who cannot enter the
    // checkout (under /root, mode 700) could not even start l3ctl (issue 10, item 15).
    const drop = '-dac_override,-dac_read_search';
    const asUser = process.getuid?.() === 0 ? ['setpriv', `--bounding-set=${drop}`, `--inh-caps=${drop}`] : [];
    try {
      for (const args of [['router', 'list'], ['router', 'add', 'r9']]) {
        const r = sh([...asUser, process.execPath, BIN, '--store', t.path, ...args]);
        assert.equal(r.code, 5, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr.split('\n')[0]!, new RegExp(`^l3ctl: error: cannot read store ${esc(t.path)}: permission denied`));
        assert.doesNotMatch(r.stderr, /^\s+at /m);
      }
    } finally {
      chmodSync(t.path, 0o600);
    }
    assert.equal(readStore(t.path), before);
    rmSync(`${t.path}.lock`, { recursive: true, force: true });
  });
});
