// The Debian package as an operator gets it: `npm run package` builds it,
// apt-get installs it, the installed l3ctl builds a router, the agent loop
// runs as the unit's ExecStart and ExecReload say, an upgrade keeps the
// store, `apt-get remove` leaves the store and the routers and nothing in
// /usr, `purge` lists and removes the store. And `npm pack` installs into a
// prefix of its own. The machine is put back in after(), even on failure:
// the package (and the test-only nodejs stand-in, when one was needed) is
// purged; /usr/local/bin is never touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, sh, shOk, tempStore, uniqueName, type CliResult } from '../helpers/cli.js';
import { baseCommands, e2eUnavailable, namespaces, removeTestKernel, requireE2E } from '../helpers/e2e.js';
import { aptGet, aptGetOk, buildNodeShim, dpkgStatus, nodeDependency, parseUnit, SHIM_MARK, SYSTEMD_PATH, unitCommand, unitEnvironment } from '../helpers/deb.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const [maj, min, pat] = VERSION.split(/[.-]/).map(Number) as [number, number, number];
/** The upgrade: same sources, a higher version. */
const NEXT = `${maj}.${min}.${pat + 1}`;
const STORE_DIR = '/var/lib/l3ctl';
const UNIT = '/lib/systemd/system/l3ctl-agent.service';
const CLEAN_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

const store = tempStore();
const hostNs = `${uniqueName('l3ctl-t-pkg')}-h`;
const work = mkdtempSync(join(tmpdir(), 'l3ctl-t-pkg-'));
chmodSync(work, 0o755); // apt reads the .deb as user _apt
const deb = (v: string) => join(work, `l3ctl_${v}_all.deb`);

let routerNs = '';
let qrDev = '';
let shimInstalled = false;
/** Set before the first apt-get install of l3ctl: only then does after() remove it. */
let installedByTest = false;
let agent: ChildProcessByStdio<null, Readable, Readable> | null = null;
let packageFiles: string[] = [];
/** Where a store directory that was here before the test waits (a lab's, an operator's) until after(). */
let setAside: string | null = null;

/** The installed program, from a clean environment (as cron or a unit would run it). */
function installed(args: string[], env: Record<string, string> = { L3CTL_STORE: store.path }): CliResult {
  const r = spawnSync('/usr/bin/l3ctl', args, { encoding: 'utf8', env: { PATH: CLEAN_PATH, ...env } });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}
function installedOk(args: string[], env?: Record<string, string>): CliResult {
  const r = installed(args, env);
  if (r.code !== 0) throw new Error(`/usr/bin/l3ctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** Why this machine cannot run the package test without harming what is on it, or null. */
function machineNotReady(): string | null {
  const st = dpkgStatus('l3ctl');
  if (st) return `a package l3ctl is already known to dpkg (${st.status} ${st.version}); remove it first (dpkg --purge l3ctl)`;
  if (existsSync('/usr/bin/l3ctl')) return '/usr/bin/l3ctl exists outside dpkg';
  for (const tool of ['apt-get', 'dpkg-deb', 'systemd-analyze', 'man', 'npm']) {
    if (sh(['sh', '-c', `command -v ${tool}`]).code !== 0) return `${tool} is missing (scripts/setup.sh --for-tests installs it)`;
  }
  const node = nodeDependency();
  return node.kind === 'unmet' ? node.why : null;
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const modeOf = (p: string) => (statSync(p).mode & 0o7777).toString(8);
const addrsOf = (ns: string, dev: string) =>
  ((JSON.parse(sh(['ip', '-n', ns, '-j', 'addr', 'show', 'dev', dev]).stdout || '[]') as { addr_info: { family: string; local: string; prefixlen: number }[] }[])[0]?.addr_info ?? [])
    .filter((a) => a.family === 'inet')
    .map((a) => `${a.local}/${a.prefixlen}`);

/** Lines of a child's stream, with a wait for the first new one that matches. */
class Lines {
  readonly all: string[] = [];
  private buf = '';
  private waiters: (() => void)[] = [];
  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (d: Buffer) => {
      this.buf += d.toString();
      const parts = this.buf.split('\n');
      this.buf = parts.pop()!;
      this.all.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  /** The first line at index >= from that matches; fails after ms. */
  async waitFor(from: number, re: RegExp, ms: number, what: string): Promise<{ line: string; index: number }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.all.findIndex((l, k) => k >= from && re.test(l));
      if (i >= 0) return { line: this.all[i]!, index: i };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${what} (${re}); lines so far:\n${this.all.join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

describe('the Debian package', { skip: !!e2eUnavailable() && !process.env.CI, timeout: 15 * 60_000 }, () => {
  let notReady: string | null = null;

  before(() => {
    notReady = e2eUnavailable() ? null : machineNotReady();
    // Purging the package removes the store directory: one that was here
    // before (the Quick start's lab, say) waits beside it and comes back in after().
    if (!e2eUnavailable() && !notReady && existsSync(STORE_DIR)) {
      setAside = `${STORE_DIR}.package-test-${process.pid}`;
      renameSync(STORE_DIR, setAside);
      process.stderr.write(`package test: ${STORE_DIR} set aside as ${setAside} until the test ends\n`);
    }
  });

  /** Every test starts here: root and a machine the test may install on. */
  function ready(t: Parameters<typeof requireE2E>[0]): boolean {
    if (!requireE2E(t)) return false;
    if (!notReady) return true;
    if (process.env.CI) throw new Error(`package test cannot run: ${notReady}`);
    t.skip(notReady);
    return false;
  }

  after(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    removeTestKernel(store.path, [hostNs]);
    // Put the machine back: only what this test installed goes.
    if (installedByTest && dpkgStatus('l3ctl')) {
      const left = existsSync(STORE_DIR) ? readdirSync(STORE_DIR).filter((f) => !/^state\.json(\.bak)?$/.test(f)) : [];
      if (left.length) {
        // Not ours: keep the store directory, remove only the program.
        process.stderr.write(`package test: ${STORE_DIR} holds ${left.join(', ')}: not purging, only removing l3ctl\n`);
        aptGet(['remove', 'l3ctl']);
      } else {
        aptGet(['purge', 'l3ctl']);
      }
    }
    if (shimInstalled && dpkgStatus('nodejs')?.version.includes(SHIM_MARK)) aptGet(['purge', 'nodejs']);
    store.cleanup();
    rmSync(work, { recursive: true, force: true });
    if (setAside) {
      // What is in STORE_DIR now was made during the test.
      rmSync(STORE_DIR, { recursive: true, force: true });
      renameSync(setAside, STORE_DIR);
    }
  });

  it('npm run package builds l3ctl_<version>_all.deb: compiled code, production modules, declared dependencies', (t) => {
    if (!ready(t)) return;
    for (const v of [VERSION, NEXT]) {
      const args = ['run', '--silent', 'package', '--', '--out', work, ...(v === NEXT ? ['--version', NEXT] : [])];
      const r = spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}`);
      assert.ok(existsSync(deb(v)), `${deb(v)} built`);
    }
    const field = (f: string) => shOk(['dpkg-deb', '-f', deb(VERSION), f]).trim();
    assert.equal(field('Package'), 'l3ctl');
    assert.equal(field('Version'), VERSION);
    assert.equal(field('Architecture'), 'all');
    assert.equal(field('Depends'), 'nodejs (>= 20), iproute2, iptables, procps, iputils-arping, conntrack, haproxy, radvd, keepalived');
    assert.equal(field('Suggests'), 'openvswitch-switch');
    const files = shOk(['dpkg-deb', '-c', deb(VERSION)]).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[5]!.replace(/^\./, ''));
    for (const f of ['/usr/bin/l3ctl', '/usr/lib/l3ctl/bin/l3ctl', '/usr/lib/l3ctl/package.json', '/usr/lib/l3ctl/dist/src/cli/main.js', '/usr/lib/l3ctl/dist/src/agent/runloop.js',
      '/usr/lib/l3ctl/dist/src/cli/cmdtree.json', '/usr/lib/l3ctl/node_modules/valibot/package.json', '/usr/share/man/man1/l3ctl.1.gz', UNIT]) {
      assert.ok(files.includes(f), `${f} in the package`);
    }
    assert.deepEqual(files.filter((f) => /^\/usr\/lib\/l3ctl\/(src|test|bench|dist\/test|dist\/bench)\//.test(f) || (/\.ts$/.test(f) && !f.includes('/node_modules/'))), [], 'no sources, no tests');
    assert.deepEqual(files.filter((f) => /\/node_modules\/(typescript|@types)\//.test(f)), [], 'no dev dependencies');
    assert.deepEqual(files.filter((f) => f.startsWith('/var/')), [], 'the store directory is made by postinst, not shipped');
  });

  it('apt-get install: l3ctl on PATH, its man page, completions, a valid unit, --version from a clean environment', (t) => {
    if (!ready(t)) return;
    const node = nodeDependency();
    if (node.kind === 'shim-needed') {
      shimInstalled = true;
      aptGetOk(['install', buildNodeShim(work)]);
    }
    installedByTest = true;
    aptGetOk(['install', deb(VERSION)]);
    packageFiles = shOk(['dpkg', '-L', 'l3ctl']).split('\n').filter(Boolean);
    // /usr/local/bin comes first on PATH; a clone's set-up may have linked l3ctl there (never ours to touch).
    const localLink = existsSync('/usr/local/bin/l3ctl');
    const path = localLink ? CLEAN_PATH : SYSTEMD_PATH;
    assert.equal(sh(['env', '-i', `PATH=${path}`, 'sh', '-c', 'command -v l3ctl']).stdout.trim(), '/usr/bin/l3ctl');
    assert.equal(statSync(STORE_DIR).isDirectory(), true);
    assert.equal(modeOf(STORE_DIR), '700');
    assert.equal(sh(['man', '-w', 'l3ctl']).stdout.trim(), '/usr/share/man/man1/l3ctl.1.gz', 'man finds it (unless dpkg path-exclude drops /usr/share/man)');
    assert.equal(sh(['sh', '-c', 'man -P cat l3ctl 2>/dev/null | head -5']).stdout.includes('l3ctl'), true);
    for (const [f, src] of [
      ['/usr/share/bash-completion/completions/l3ctl', 'l3ctl.bash'],
      ['/usr/share/zsh/vendor-completions/_l3ctl', '_l3ctl'],
      ['/usr/share/fish/vendor_completions.d/l3ctl.fish', 'l3ctl.fish'],
    ] as const) {
      assert.equal(readFileSync(f, 'utf8'), readFileSync(join(ROOT, 'completions', src), 'utf8'), f);
    }
    // bash completion as bash-completion loads it, asking the installed binary.
    const comp = sh(['env', '-i', `PATH=${CLEAN_PATH}`, 'bash', '-c', 'source /usr/share/bash-completion/completions/l3ctl; COMP_WORDS=(l3ctl ag); COMP_CWORD=1; _l3ctl_complete; echo "${COMPREPLY[@]}"']);
    assert.equal(comp.stdout.trim(), 'agent', comp.stderr);
    const verify = sh(['systemd-analyze', 'verify', UNIT]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.stderr.split('\n').filter((l) => l.includes('l3ctl')).join('\n'), '', 'no complaint about the unit');
    const v = sh(['env', '-i', `PATH=${CLEAN_PATH}`, 'l3ctl', '--version']);
    assert.deepEqual([v.code, v.stdout, v.stderr], [0, `${VERSION}\n`, '']);
    // postinst made the start-up snapshot with the packaged node, and l3ctl runs it.
    const traced = sh(['env', '-i', `PATH=${CLEAN_PATH}`, 'sh', '-x', '/usr/bin/l3ctl', '-q', '--version']);
    assert.equal(traced.stdout, `${VERSION}\n`);
    assert.match(traced.stderr, /^\+ exec \/usr\/bin\/node --snapshot-blob \/usr\/lib\/l3ctl\/bin\/\.\.\/dist\/src\/bundle\/l3ctl\.blob \/usr\/lib\/l3ctl\/bin\/l3ctl -q --version$/m);
    // A bare --version: the small snapshot, as tab completion.
    const bare = sh(['env', '-i', `PATH=${CLEAN_PATH}`, 'sh', '-x', '/usr/bin/l3ctl', '--version']);
    assert.equal(bare.stdout, `${VERSION}\n`);
    assert.match(bare.stderr, /^\+ exec \/usr\/bin\/node --snapshot-blob \/usr\/lib\/l3ctl\/bin\/\.\.\/dist\/src\/bundle\/l3ctl\.blob\.complete \/usr\/lib\/l3ctl\/bin\/l3ctl --version$/m);
    // And tab completion's own.
    const tab = sh(['env', '-i', `PATH=${CLEAN_PATH}`, 'sh', '-x', '/usr/bin/l3ctl', '__complete', 'ag']);
    assert.match(tab.stdout, /^agent\t/);
    assert.match(tab.stderr, /^\+ exec \/usr\/bin\/node --snapshot-blob \/usr\/lib\/l3ctl\/bin\/\.\.\/dist\/src\/bundle\/l3ctl\.blob\.complete \/usr\/lib\/l3ctl\/bin\/l3ctl __complete ag$/m);
    if (existsSync('/run/systemd/system')) {
      // A machine booted with systemd: postinst enabled and started the agent (on the default, empty store).
      assert.equal(sh(['systemctl', 'is-enabled', 'l3ctl-agent']).stdout.trim(), 'enabled');
      assert.equal(sh(['systemctl', 'is-active', 'l3ctl-agent']).stdout.trim(), 'active');
    }
  });

  it('the installed l3ctl builds a router (a host namespace of the test, documentation addresses, a store in a temp dir)', (t) => {
    if (!ready(t)) return;
    for (const args of baseCommands(hostNs)) installedOk(args);
    installedOk(['network', 'add', 'priv', '--cidr', '198.51.100.0/24']);
    installedOk(['router', 'add', 'r1']);
    installedOk(['gateway', 'set', 'r1', 'ext', '--ip', '203.0.113.10']);
    installedOk(['interface', 'add', 'r1', 'priv']);
    const s = JSON.parse(readFileSync(store.path, 'utf8')) as { routers: { id: string; interfaces: { id: string }[] }[] };
    routerNs = `qrouter-${s.routers[0]!.id}`;
    qrDev = `qr-${s.routers[0]!.interfaces[0]!.id.slice(0, 11)}`;
    assert.ok(namespaces().includes(routerNs));
    assert.deepEqual(addrsOf(routerNs, qrDev), ['198.51.100.1/24']);
    const chk = installed(['agent', 'check']);
    assert.equal(chk.code, 0, chk.stderr);
  });

  it("the agent loop as the unit runs it: a pass repairs a deleted qr- device and logs one line; ExecReload runs a pass at once; SIGTERM ends it with 0", async (t) => {
    if (!ready(t)) return;
    const unit = parseUnit(readFileSync(UNIT, 'utf8'));
    assert.deepEqual(unit.service.get('Restart'), ['on-failure']);
    const env: Record<string, string> = { PATH: SYSTEMD_PATH, ...unitEnvironment(unit) };
    assert.equal(env.L3CTL_STORE, `${STORE_DIR}/state.json`, 'the unit names the default store');
    env.L3CTL_STORE = store.path; // the test's store instead
    const argv = unitCommand(unit.service.get('ExecStart')![0]!, env);
    assert.deepEqual(argv, ['/usr/bin/l3ctl', 'agent', 'run']);
    installedOk(['config', 'set', 'periodic_interval', '2']);

    agent = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new Lines(agent.stdout);
    const err = new Lines(agent.stderr);
    const PASS = /^pass (\d+)( \(SIGHUP\))?: 1 routers, (\d+) changed( \(r1\))?, 0 failed, \d+\.\d\d s$/;
    const first = await out.waitFor(0, /^pass 1:/, 20_000, 'the first pass');
    assert.match(first.line, PASS);
    assert.match(first.line, /^pass 1: 1 routers, 0 changed, 0 failed, /, 'the router was converged already');

    shOk(['ip', '-n', routerNs, 'link', 'del', qrDev]);
    const repaired = await out.waitFor(first.index + 1, /1 changed \(r1\)/, 15_000, 'the pass that repairs r1');
    assert.match(repaired.line, PASS);
    assert.deepEqual(addrsOf(routerNs, qrDev), ['198.51.100.1/24'], 'the qr- device is back with its address');
    assert.ok(out.all.slice(0, repaired.index + 1).every((l) => PASS.test(l)), `one line per pass, nothing else:\n${out.all.join('\n')}`);

    // A long interval, then systemctl reload's command: the pass comes at once, marked.
    installedOk(['config', 'set', 'periodic_interval', '3600']);
    const calm = await out.waitFor(repaired.index + 1, /^pass \d+: /, 15_000, 'a pass that reads the long interval');
    await new Promise((r) => setTimeout(r, 300)); // the loop is asleep now (3600 s)
    const reload = unitCommand(unit.service.get('ExecReload')![0]!, { ...env, MAINPID: String(agent.pid) });
    assert.deepEqual(reload, ['/bin/kill', '-HUP', String(agent.pid)]);
    const t0 = Date.now();
    shOk(reload);
    const hup = await out.waitFor(calm.index + 1, /^pass \d+ \(SIGHUP\): 1 routers, 0 changed, 0 failed/, 10_000, 'the pass SIGHUP asked for');
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(Number(hup.line.match(/^pass (\d+)/)![1]), hup.index + 1, 'passes numbered from 1, one line each');

    const code = await new Promise<number | null>((resolve) => {
      agent!.on('close', (c) => resolve(c));
      agent!.kill('SIGTERM'); // systemctl stop (KillMode=process: the agent alone)
    });
    assert.equal(code, 0);
    assert.deepEqual(err.all, [], 'nothing on stderr');
  });

  it('an upgrade keeps the store directory and what is in it, byte for byte', (t) => {
    if (!ready(t)) return;
    // The default store, as an operator's node has it; its mode changed by hand on purpose.
    installedOk(['config', 'set', 'send_arp_for_ha', '0'], {});
    chmodSync(STORE_DIR, 0o750);
    const before = Object.fromEntries(readdirSync(STORE_DIR).map((f) => [f, sha(join(STORE_DIR, f))]));
    assert.ok('state.json' in before);
    aptGetOk(['install', deb(NEXT)]);
    assert.equal(installedOk(['--version']).stdout, `${NEXT}\n`);
    assert.deepEqual(Object.fromEntries(readdirSync(STORE_DIR).map((f) => [f, sha(join(STORE_DIR, f))])), before);
    assert.equal(modeOf(STORE_DIR), '750', 'an existing store directory is left as it is');
    assert.equal(installedOk(['config', 'get', 'send_arp_for_ha'], {}).stdout.trim(), '0', 'the new version reads it');
    chmodSync(STORE_DIR, 0o700);
    packageFiles = shOk(['dpkg', '-L', 'l3ctl']).split('\n').filter(Boolean);
  });

  it('apt-get remove: nothing of the package is left in /usr; the store and the router stay', (t) => {
    if (!ready(t)) return;
    const storeBefore = readFileSync(store.path, 'utf8');
    const defaultBefore = sha(`${STORE_DIR}/state.json`);
    assert.ok(packageFiles.length > 100, 'dpkg -L before removal');
    aptGetOk(['remove', 'l3ctl']);
    assert.equal(dpkgStatus('l3ctl')?.status, 'deinstall ok config-files');
    // Every file and link of the package is gone; a directory may stay only when another package owns it too.
    const left = packageFiles.filter((p) => {
      if (p === '/.') return false;
      try {
        lstatSync(p);
      } catch {
        return false;
      }
      return !(statSync(p).isDirectory() && sh(['dpkg-query', '-S', p]).code === 0);
    });
    assert.deepEqual(left, []);
    assert.ok(!existsSync('/usr/lib/l3ctl') && !existsSync('/usr/bin/l3ctl'));
    assert.ok(packageFiles.every((p) => p === '/.' || p.startsWith('/usr') || p.startsWith('/lib')), 'the package had files in /usr (and /lib → /usr/lib) only');
    // The stores and the router are the operator's.
    assert.equal(sha(`${STORE_DIR}/state.json`), defaultBefore);
    assert.equal(readFileSync(store.path, 'utf8'), storeBefore);
    assert.ok(namespaces().includes(routerNs), 'the router namespace stays');
    assert.deepEqual(addrsOf(routerNs, qrDev), ['198.51.100.1/24']);
    if (existsSync('/run/systemd/system')) assert.notEqual(sh(['systemctl', 'is-active', 'l3ctl-agent']).stdout.trim(), 'active');
  });

  it('purge says what it removes, removes the store directory, and leaves the router', (t) => {
    if (!ready(t)) return;
    const stdout = aptGetOk(['purge', 'l3ctl']).stdout.replace(/\r\n/g, '\n'); // apt runs dpkg on a pty
    assert.match(stdout, new RegExp(`l3ctl: purge: removing the store directory ${STORE_DIR} and what it holds:\\nl3ctl: purge:   ${STORE_DIR}/state.json\\n`));
    assert.match(stdout, /routers already built stay in the kernel/);
    assert.equal(dpkgStatus('l3ctl'), null);
    assert.ok(!existsSync(STORE_DIR));
    assert.ok(namespaces().includes(routerNs), 'the router namespace stays');
    assert.ok(existsSync(store.path), 'a store elsewhere is not touched');
    const links = sh(['find', '/etc/systemd/system', '-name', 'l3ctl-agent.service']).stdout.trim();
    assert.equal(links, '', 'no enable or mask link left in /etc');
  });

  it('npm pack: npm install -g into a prefix gives a working l3ctl and its man page', (t) => {
    if (!ready(t)) return;
    const tgz = join(work, `l3ctl-${VERSION}.tgz`);
    const listed = shOk(['tar', '-tzf', tgz]).split('\n').filter(Boolean);
    assert.deepEqual(listed.filter((f) => !/^package\/(bin\/l3ctl|dist\/src\/.*\.c?js|dist\/src\/cli\/cmdtree\.json|completions\/.*|man\/l3ctl\.1|package\.json|README\.md)$/.test(f)), [], 'the tarball ships the program only');
    const prefix = join(work, 'prefix');
    const r = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tgz], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const v = sh(['env', '-i', `PATH=${prefix}/bin:${CLEAN_PATH}`, 'l3ctl', '--version']);
    assert.deepEqual([v.code, v.stdout], [0, `${VERSION}\n`], v.stderr);
    assert.match(sh(['man', '-M', join(prefix, 'share', 'man'), '-w', 'l3ctl']).stdout.trim(), /\/l3ctl\.1$/);
    assert.equal(existsSync('/usr/bin/l3ctl'), false, 'the npm install stayed in its prefix');
  });
});
