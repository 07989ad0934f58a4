// Atomic file writes: data goes to `<path>.tmp-<pid>`, is flushed to disk, then renamed over
// `path`. A reader never sees a half-written file; a writer that throws leaves `path` as it was.

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

  /** Opens `<target>.tmp-<pid>` for writing (truncating a stale one). */
  static open(target: string): AtomicFile {
    const tmp = `${target}.tmp-${process.pid}`;
    let fd: number;
    try {
      fd = fs.openSync(tmp, 'w');
    } catch (e) {
      throw new IoError(`${target}: cannot create file (${(e as Error).message})`);
    }
    return new AtomicFile(target, tmp, fd);
  }

  /** Appends all of `bytes`. */
  write(bytes: Uint8Array): void {
    if (this.fd === null) throw new Error(`AtomicFile ${this.path}: write after close`);
    let off = 0;
    while (off < bytes.byteLength) {
      off += fs.writeSync(this.fd, bytes, off, Math.min(bytes.byteLength - off, 1 << 30));
    }
    this.position += bytes.byteLength;
  }

  /** Flushes, closes and renames the temporary file onto the target path. */
  commit(): void {
    if (this.fd === null) throw new Error(`AtomicFile ${this.path}: commit after close`);
    const fd = this.fd;
    this.fd = null;
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(this.tmpPath, this.path);
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

/** fsyncs a directory so a rename in it is durable (best effort: not all platforms allow it). */
function syncDir(dir: string): void {
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
