// File I/O for the files l3ctl owns outside its store (daemon configs, pid
// files) and the reads of /proc and /run/netns that tell whether a daemon is
// ours and alive. Not programs, so not the runner; but the same three faces:
// real, dry-run (prints `+ write PATH` with the content indented like a
// command's stdin, reads for real) and a fake for unit tests.
import { promises as fsp, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatCommand, type Echo } from './runner.js';

/** Which file a path names: (device, inode), as stat(2) reports after following links. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export interface Files {
  /** False under --dry-run: nothing is written, so callers do not wait for effects (a daemon starting or exiting). */
  readonly live: boolean;
  /** The file's text, or null when it does not exist or cannot be read. */
  read(file: string): Promise<string | null>;
  /** The identity of what the path leads to (a namespace: /run/netns/NS, /proc/PID/ns/net), or null. */
  identity(file: string): Promise<FileIdentity | null>;
  /** Replace the file at once (temp file + rename in its directory, which is created when missing). */
  write(file: string, content: string, mode?: number): Promise<void>;
  /** Remove a file; a missing one is fine. */
  remove(file: string): Promise<void>;
  /** Remove a directory if it exists and is empty; one still holding files is left alone. */
  removeDir(dir: string): Promise<void>;
}

const isCode = (e: unknown, ...codes: string[]) => codes.includes((e as NodeJS.ErrnoException)?.code ?? '');

export class RealFiles implements Files {
  readonly live = true;

  // Reads are small local files and /proc entries, many per router: read at
  // once, not through the thread pool (a converged sync of 16 routers spent
  // some 30 ms opening them asynchronously).
  async read(file: string): Promise<string | null> {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      // ESRCH: a /proc entry of a process that exited while we read it.
      if (isCode(e, 'ENOENT', 'ENOTDIR', 'ESRCH', 'EACCES', 'EPERM')) return null;
      throw e;
    }
  }

  async identity(file: string): Promise<FileIdentity | null> {
    try {
      const s = statSync(file);
      return { dev: s.dev, ino: s.ino };
    } catch (e) {
      if (isCode(e, 'ENOENT', 'ENOTDIR', 'ESRCH', 'EACCES', 'EPERM')) return null;
      throw e;
    }
  }

  async write(file: string, content: string, mode = 0o644): Promise<void> {
    const dir = path.dirname(file);
    await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
    try {
      await fsp.writeFile(tmp, content, { mode });
      // writeFile's mode is filtered by the umask; radvd refuses a config others may write.
      await fsp.chmod(tmp, mode);
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  async remove(file: string): Promise<void> {
    await fsp.rm(file, { force: true });
  }

  async removeDir(dir: string): Promise<void> {
    try {
      await fsp.rmdir(dir);
    } catch (e) {
      if (!isCode(e, 'ENOENT', 'ENOTEMPTY', 'EEXIST')) throw e;
    }
  }
}

/** Prints every change as the runner's dry-run face prints commands; reads are real. */
export class DryRunFiles implements Files {
  readonly live = false;
  constructor(
    private readonly real: Files,
    private readonly print: Echo,
  ) {}

  read(file: string): Promise<string | null> {
    return this.real.read(file);
  }

  identity(file: string): Promise<FileIdentity | null> {
    return this.real.identity(file);
  }

  async write(file: string, content: string): Promise<void> {
    this.print(formatCommand(['write', file], content));
  }

  // Only what a real run would remove: a pass that has nothing to clean prints nothing.
  async remove(file: string): Promise<void> {
    if (await this.real.identity(file)) this.print(formatCommand(['remove', file]));
  }

  async removeDir(dir: string): Promise<void> {
    if (await this.real.identity(dir)) this.print(formatCommand(['rmdir', dir]));
  }
}
