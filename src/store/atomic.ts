// Replace a file atomically and durably, synchronously: readers see the old
// text or the new, never a part, and after a crash the rename is on disk.
//
// Written here rather than taken from write-file-atomic (which the store
// used before): its sync path loads worker_threads and installs exit hooks
// for every signal, 3-4 ms of each change at start-up cost, to remove a
// temporary file a signal might leave. A synchronous write cannot be
// interrupted by a signal handler between the temporary file and its rename,
// so those hooks buy nothing here. What it did that matters is kept: the
// write goes to the symlink's target, an existing file keeps its mode and
// owner, the temporary file is removed when anything fails.
import { chmodSync, chownSync, closeSync, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../model/errors.js';

/** `mode` applies to a new file only; an existing one keeps its mode and owner. */
export function writeFileAtomicSync(file: string, text: string, opts: { mode?: number } = {}): void {
  let target = file;
  try {
    target = realpathSync(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  let existing: { mode: number; uid: number; gid: number } | null = null;
  try {
    const st = statSync(target);
    existing = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const mode = existing?.mode ?? opts.mode ?? 0o666;
  let fd: number | null = openSync(tmp, 'wx', mode);
  try {
    const buf = Buffer.from(text);
    for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at);
    // open's mode is filtered by the umask: the file gets exactly the mode asked for.
    chmodSync(tmp, mode);
    if (existing && process.getuid?.() === 0) chownSync(tmp, existing.uid, existing.gid);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, target);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // Gone already (the rename happened, or it was never made).
    }
    throw err;
  }
}
