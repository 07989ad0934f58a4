// Atomic file writes: data goes to `<path>.tmp-<pid>`, is flushed to disk, then renamed over
// `path`. A reader never sees a half-written file; a writer that throws leaves `path` as it was.
// Every persistent write of tinyseek goes through here (metrics.jsonl lines are the one exception:
// they are appended, and a torn last line is skipped on read).
//
// What the output path may be (decided here once, for all callers):
// - absent or a regular file: replaced atomically (the new file keeps the old one's permissions);
// - a symbolic link: written through. The link is resolved and the file it points to is replaced
//   atomically next to itself; the link stays a link. A dangling link is refused;
// - anything else (character/block device such as /dev/null or /dev/full, FIFO, socket, directory):
//   refused with an IoError before anything is created, so the node is left exactly as it was.
// A hard-linked file is replaced by a new file (the other names keep the old contents).

import fs from 'node:fs';
import path from 'node:path';
import { IoError } from './errors.js';

/** A file being written under a temporary name; `commit()` renames it into place, `abort()` deletes it. */
export class AtomicFile {
  /** Bytes written so far. */
  position = 0;
  private fd: number | null;

  private constructor(readonly path: string, readonly tmpPath: string, fd: number) {
    this.fd = fd;
  }

  /**
   * Opens `<target>.tmp-<pid>` for writing (truncating a stale one). A symlink target is resolved
   * first (the temporary file goes next to the file it names); a target that is not a regular file
   * is refused (see the top of this file).
   */
  static open(target: string): AtomicFile {
    const dest = resolveOutput(target);
    const tmp = `${dest.path}.tmp-${process.pid}`;
    let fd: number;
    try {
      fd = fs.openSync(tmp, 'w', dest.mode ?? 0o666);
    } catch (e) {
      throw new IoError(`${target}: cannot create file (${(e as Error).message})`);
    }
    if (dest.mode !== undefined) {
      try {
        fs.fchmodSync(fd, dest.mode); // openSync's mode is filtered by the umask
      } catch {
        // keeping the permissions is best effort
      }
    }
    return new AtomicFile(dest.path, tmp, fd);
  }

  /** Appends all of `bytes`. Throws an IoError naming the file if the write fails (e.g. disk full). */
  write(bytes: Uint8Array): void {
    if (this.fd === null) throw new Error(`AtomicFile ${this.path}: write after close`);
    let off = 0;
    try {
      while (off < bytes.byteLength) {
        off += fs.writeSync(this.fd, bytes, off, Math.min(bytes.byteLength - off, 1 << 30));
      }
    } catch (e) {
      throw new IoError(`${this.path}: write failed after ${this.position + off} bytes (${(e as Error).message})`);
    }
    this.position += bytes.byteLength;
  }

  /** Flushes, closes and renames the temporary file onto the target path. */
  commit(): void {
    if (this.fd === null) throw new Error(`AtomicFile ${this.path}: commit after close`);
    const fd = this.fd;
    this.fd = null;
    try {
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(this.tmpPath, this.path);
    } catch (e) {
      throw new IoError(`${this.path}: cannot complete the write (${(e as Error).message})`);
    }
    syncDir(path.dirname(this.path));
  }

  /** Closes and deletes the temporary file; the target path is untouched. Safe to call twice. */
  abort(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed by the OS; nothing to do
      }
      this.fd = null;
    }
    fs.rmSync(this.tmpPath, { force: true });
  }
}

/** Runs `fn` on a new AtomicFile for `target`; commits if it returns, aborts and rethrows if it throws. */
export function withAtomicFile<T>(target: string, fn: (file: AtomicFile) => T): T {
  const file = AtomicFile.open(target);
  let result: T;
  try {
    result = fn(file);
  } catch (e) {
    file.abort();
    throw e;
  }
  try {
    file.commit();
  } catch (e) {
    file.abort();
    throw e;
  }
  return result;
}

/** Writes `data` (a string is written as UTF-8) to `target` atomically. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  withAtomicFile(target, (f) => f.write(bytes));
}

/** What kind of file system node `st` is, in words. */
function nodeKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** The path an atomic write of `target` renames onto (symlinks resolved) and the mode to keep; throws if it is not a regular file or absent. */
function resolveOutput(target: string): { path: string; mode?: number } {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { path: target };
    throw new IoError(`${target}: cannot inspect the output path (${(e as Error).message})`);
  }
  let dest = target;
  if (st.isSymbolicLink()) {
    try {
      dest = fs.realpathSync(target);
      st = fs.statSync(dest);
    } catch {
      throw new IoError(`${target}: is a symbolic link to ${fs.readlinkSync(target)}, which does not exist; refusing to write through a dangling link (create the file it names or remove the link)`);
    }
  }
  if (!st.isFile()) {
    const via = dest === target ? '' : ` (via the symbolic link ${target})`;
    throw new IoError(`${dest}${via}: is ${nodeKind(st)}, not a regular file; refusing to replace it (atomic writes create a new file and rename it over the path; ${target} is left untouched)`);
  }
  return { path: dest, mode: st.mode & 0o7777 };
}

/** Copies the file `src` to `target` atomically (in 1 MiB pieces, so a large file is never held in memory). */
export function copyFileAtomic(src: string, target: string): void {
  let fd: number;
  try {
    fd = fs.openSync(src, 'r');
  } catch (e) {
    throw new IoError(`${src}: cannot read (${(e as Error).message})`);
  }
  try {
    withAtomicFile(target, (f) => {
      const buf = new Uint8Array(1 << 20);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        f.write(buf.subarray(0, n));
      }
    });
  } finally {
    fs.closeSync(fd);
  }
}

/** fsyncs a directory so a rename in it is durable (best effort: not all platforms allow it). */
export function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // directories cannot be fsynced on some systems; the rename itself is still atomic
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
