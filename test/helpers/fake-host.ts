// A pretend host for daemon unit tests: files, a process table (as /proc shows
// it) and network namespaces (as /run/netns shows them), behind the Files
// interface; `respond` answers the RecordingRunner by starting and signalling
// pretend daemons the way haproxy and radvd behave.
import type { FileIdentity, Files } from '../../src/linux/files.js';
import type { RunResult } from '../../src/linux/runner.js';
import { EMPTY_OBSERVATION, isObserveRead } from './empty-reads.js';

interface Proc {
  argv: string[];
  netns: FileIdentity;
  zombie: boolean;
  /** Ignores SIGTERM (only SIGKILL ends it). */
  stubborn?: boolean;
  /** Its child (keepalived's VRRP process): ends with it on SIGTERM, as keepalived's does. */
  child?: number;
}

export class FakeHost implements Files {
  live = true;
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  readonly procs = new Map<number, Proc>();
  readonly namespaces = new Map<string, FileIdentity>([['', { dev: 4, ino: 4026531840 }]]);
  nextPid = 1000;
  /** Like the kernel's nsfs inodes: never reused while a process may still hold the old one. */
  private nextIno = 4026532001;
  /** Make the next daemon start fail this way (exit code and stderr). */
  failStart: Partial<RunResult> | null = null;

  addNamespace(name: string): FileIdentity {
    const id = { dev: 4, ino: this.nextIno++ };
    this.namespaces.set(name, id);
    return id;
  }

  /** An independent copy: files, processes and namespace identities. */
  clone(): FakeHost {
    const c = new FakeHost();
    c.live = this.live;
    for (const [k, v] of this.files) c.files.set(k, v);
    for (const d of this.dirs) c.dirs.add(d);
    for (const [pid, p] of this.procs) c.procs.set(pid, structuredClone(p));
    c.namespaces.clear();
    for (const [k, v] of this.namespaces) c.namespaces.set(k, { ...v });
    c.nextPid = this.nextPid;
    c.nextIno = this.nextIno;
    return c;
  }

  /** Live (not exited) processes in namespace NS ('' the root one), by pid. */
  processesIn(ns: string): { pid: number; argv: string[] }[] {
    const id = this.namespaces.get(ns);
    if (!id) return [];
    return [...this.procs].filter(([, p]) => !p.zombie && p.netns.dev === id.dev && p.netns.ino === id.ino).map(([pid, p]) => ({ pid, argv: p.argv }));
  }

  /** Live processes whose namespace no longer has a name (deleted while they ran). */
  processesInDeletedNamespaces(): { pid: number; argv: string[] }[] {
    const named = [...this.namespaces.values()];
    return [...this.procs].filter(([, p]) => !p.zombie && !named.some((n) => n.dev === p.netns.dev && n.ino === p.netns.ino)).map(([pid, p]) => ({ pid, argv: p.argv }));
  }

  /** A process as another program would run it. */
  spawn(argv: string[], ns = '', extra: Partial<Proc> = {}): number {
    const pid = this.nextPid++;
    this.procs.set(pid, { argv, netns: this.namespaces.get(ns)!, zombie: false, ...extra });
    return pid;
  }

  async read(file: string): Promise<string | null> {
    const m = /^\/proc\/(\d+)\/cmdline$/.exec(file);
    if (m) {
      const p = this.procs.get(Number(m[1]));
      if (!p) return null;
      return p.zombie ? '' : p.argv.map((a) => `${a}\0`).join('');
    }
    return this.files.get(file) ?? null;
  }

  async identity(file: string): Promise<FileIdentity | null> {
    const m = /^\/proc\/(\d+)\/ns\/net$/.exec(file);
    if (m) {
      const p = this.procs.get(Number(m[1]));
      return p && !p.zombie ? p.netns : null;
    }
    if (file === '/proc/self/ns/net') return this.namespaces.get('')!;
    const n = /^\/run\/netns\/(.+)$/.exec(file);
    if (n) return this.namespaces.get(n[1]!) ?? null;
    if (this.files.has(file) || this.dirs.has(file)) return { dev: 1, ino: 1 };
    return null;
  }

  async write(file: string, content: string): Promise<void> {
    this.dirs.add(file.slice(0, file.lastIndexOf('/')));
    this.files.set(file, content);
  }

  async remove(file: string): Promise<void> {
    this.files.delete(file);
  }

  async removeDir(dir: string): Promise<void> {
    if (![...this.files.keys()].some((f) => f.startsWith(`${dir}/`))) this.dirs.delete(dir);
  }

  /** Answers the RecordingRunner: daemon starts write their pid file, kill signals the process table. */
  respond = (argv: string[]): Partial<RunResult> => {
    let ns = '';
    let cmd = argv;
    if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec') {
      ns = argv[3]!;
      cmd = argv.slice(4);
    }
    if (isObserveRead(cmd)) return { stdout: EMPTY_OBSERVATION };
    if (cmd[0] === 'kill') {
      const sig = cmd[1];
      const p = this.procs.get(Number(cmd[2]));
      if (!p || p.zombie) return { exitCode: 1, stderr: 'kill: No such process' };
      if (sig === '-KILL' || (sig === '-TERM' && !p.stubborn)) p.zombie = true;
      if (sig === '-TERM' && p.child !== undefined) this.procs.get(p.child)!.zombie = true;
      // More pids after the first (kill -TERM 12 13): each signalled the same way.
      for (const more of cmd.slice(3)) {
        const q = this.procs.get(Number(more));
        if (q && (sig === '-KILL' || !q.stubborn)) q.zombie = true;
      }
      return {};
    }
    if (['haproxy', 'radvd', 'keepalived'].includes(cmd[0]!)) {
      if (this.failStart) {
        const r = this.failStart;
        this.failStart = null;
        return { exitCode: 1, ...r };
      }
      const pidPath = cmd[cmd.indexOf('-p') + 1]!;
      const sf = cmd.indexOf('-sf');
      if (sf >= 0) this.procs.get(Number(cmd[sf + 1]))!.zombie = true;
      const pid = this.spawn(cmd, ns);
      this.files.set(pidPath, `${pid}\n`);
      // keepalived -r FILE: its VRRP child writes its own pid file.
      const r = cmd.indexOf('-r');
      if (cmd[0] === 'keepalived' && r >= 0) {
        const child = this.spawn(cmd, ns);
        this.procs.get(pid)!.child = child;
        this.files.set(cmd[r + 1]!, `${child}\n`);
      }
      return {};
    }
    return {};
  };
}
