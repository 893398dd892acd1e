// Installing and removing Debian packages from a test on a shared machine:
// apt-get waits for the dpkg lock (other work may run apt now and then), and
// a test-only stand-in for the nodejs package when Node.js did not come from
// dpkg. Plus reading a systemd unit's ExecStart the way systemd does.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, type CliResult } from './cli.js';

const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };

/** apt-get ARGS as root; waits up to 10 minutes for the dpkg lock, and retries when it still lost the race. */
export function aptGet(args: string[]): CliResult {
  let r: CliResult = { code: 1, stdout: '', stderr: '' };
  for (let attempt = 0; attempt < 5; attempt++) {
    r = shEnv(['apt-get', '-y', '-o', 'DPkg::Lock::Timeout=600', ...args], APT_ENV);
    if (r.code === 0 || !/Could not get lock|is locked|dpkg frontend lock/i.test(r.stderr)) return r;
    sh(['sleep', '5']);
  }
  return r;
}

export function aptGetOk(args: string[]): CliResult {
  const r = aptGet(args);
  if (r.code !== 0) throw new Error(`apt-get ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function shEnv(argv: string[], env: Record<string, string>): CliResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', ...env } });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `install ok installed 20.1.0` → { status, version }; null when dpkg does not know the package. */
export function dpkgStatus(pkg: string): { status: string; version: string } | null {
  const r = sh(['dpkg-query', '-W', '-f=${db:Status-Abbrev}|${Status}|${Version}', pkg]);
  if (r.code !== 0) return null;
  const [, status, version] = r.stdout.split('|');
  if (!status || status.includes('not-installed')) return null;
  return { status, version: version ?? '' };
}

export const dpkgVersionAtLeast = (v: string, min: string) => sh(['dpkg', '--compare-versions', v, 'ge', min]).code === 0;

export const SHIM_MARK = 'l3ctl-test-shim';

export type NodeDependency = { kind: 'packaged'; version: string } | { kind: 'shim-needed' } | { kind: 'unmet'; why: string };

/**
 * Does dpkg already satisfy the package's `Depends: nodejs (>= 20)`? Node 20
 * from NodeSource is a dpkg package `nodejs` (this machine). Node from
 * elsewhere (a tarball, actions/setup-node) is not: then the test installs a
 * stand-in package, and only then. A dpkg nodejs older than 20 is never
 * replaced.
 */
export function nodeDependency(): NodeDependency {
  const st = dpkgStatus('nodejs');
  if (st && st.status === 'install ok installed') {
    if (dpkgVersionAtLeast(st.version, '20')) return { kind: 'packaged', version: st.version };
    return { kind: 'unmet', why: `dpkg's nodejs is ${st.version} (< 20) while the tests run on Node ${process.version}: l3ctl's package cannot be installed here` };
  }
  if (st) return { kind: 'unmet', why: `dpkg's nodejs is in state '${st.status}'` };
  return { kind: 'shim-needed' };
}

/**
 * Builds, in DIR, nodejs_<this node's version>~l3ctl-test-shim_all.deb: an
 * empty package named nodejs for the test only (clearly marked in its
 * version and description), with /usr/bin/node pointing at the Node.js that
 * runs the tests when no /usr/bin/node exists (the installed l3ctl runs
 * #!/usr/bin/node). Returns its path.
 */
export function buildNodeShim(dir: string): string {
  const version = `${process.versions.node}~${SHIM_MARK}`;
  const root = join(dir, 'nodejs-shim');
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  if (!existsSync('/usr/bin/node')) {
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    symlinkSync(process.execPath, join(root, 'usr', 'bin', 'node'));
  }
  writeFileSync(
    join(root, 'DEBIAN', 'control'),
    [
      'Package: nodejs',
      `Version: ${version}`,
      'Architecture: all',
      'Maintainer: l3ctl tests <l3ctl@example.org>',
      'Priority: optional',
      'Section: devel',
      `Description: TEST ONLY: stands for the Node.js at ${process.execPath}`,
      ` This machine runs Node.js ${process.version} from outside dpkg. The l3ctl`,
      ' package test installs this empty package so that "Depends: nodejs (>= 20)"',
      ' is met, and purges it when it ends. It is not a Node.js package.',
      '',
    ].join('\n'),
  );
  chmodSync(root, 0o755);
  const deb = join(dir, `nodejs_${version}_all.deb`);
  const r = sh(['dpkg-deb', '--root-owner-group', '--build', root, deb]);
  if (r.code !== 0) throw new Error(`dpkg-deb (node shim): ${r.stderr}`);
  return deb;
}

export interface Unit {
  /** Key → values, in order, for the [Service] section. */
  service: Map<string, string[]>;
}

export function parseUnit(text: string): Unit {
  const service = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = line.match(/^\[(.+)\]$/);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== 'Service' || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    service.set(key, [...(service.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return { service };
}

/** Environment= assignments (unquoted, as this unit writes them). */
export function unitEnvironment(u: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of u.service.get('Environment') ?? []) {
    for (const a of v.split(/\s+/)) {
      const eq = a.indexOf('=');
      if (eq > 0) env[a.slice(0, eq)] = a.slice(eq + 1);
    }
  }
  return env;
}

/**
 * A command line as systemd runs it (the subset this unit uses): the
 * prefixes `-@:+!` dropped, words split at blanks, a word `$NAME` replaced by
 * the variable's value split at blanks (no word when unset or empty),
 * `${NAME}` inside a word by its value.
 */
export function unitCommand(line: string, env: Record<string, string>): string[] {
  if (/["'\\]/.test(line)) throw new Error(`quoting is not handled here: ${line}`);
  const words = line.replace(/^[-@:+!]+/, '').split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (const w of words) {
    const whole = w.match(/^\$([A-Za-z_][A-Za-z0-9_]*)$/);
    if (whole) out.push(...(env[whole[1]!] ?? '').split(/\s+/).filter(Boolean));
    else out.push(w.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, n: string) => env[n] ?? ''));
  }
  return out;
}

/** The PATH systemd gives system services. */
export const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
