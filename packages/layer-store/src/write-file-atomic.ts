import { closeSync, linkSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncFd, fsyncPath } from './fsync-path.js';
import { tempName } from './temp-name.js';

export interface WriteFileAtomicOptions {
  /** Keep an existing `dest` instead of replacing it (created with link(2), so racing writers cannot clobber). */
  readonly exclusive?: boolean;
  /**
   * Default true: fsync the parent directory too, so the new name survives a power loss. Pass
   * false where losing the file is harmless (a cache record: a lost one is a cache miss); the
   * data is fsynced before the rename either way, so a file that is there is whole.
   */
  readonly syncDir?: boolean;
}

/**
 * Writes small data to `dest` atomically: a temp file in `tmpDir` (same filesystem as `dest`),
 * fsync, then rename (or link when `exclusive`), then fsync of the parent directory (unless
 * `syncDir` is false). Readers see the old file or the whole new one, never a torn write. Returns
 * false if `exclusive` and `dest` existed (found before writing anything where it already did: the
 * store's header files exist on every open but the first).
 *
 * Everything but the two fsyncs is a synchronous call: each costs microseconds for data this
 * small, where an asynchronous one is a thread-pool round trip (~0.1 ms) on the critical path
 * of every build; an fsync can take milliseconds and stays on the thread pool.
 */
export async function writeFileAtomic(
  tmpDir: string,
  dest: string,
  data: string | Buffer,
  opts: WriteFileAtomicOptions = {},
): Promise<boolean> {
  if (opts.exclusive && exists(dest)) return false;
  const tmp = join(tmpDir, tempName());
  let renamed = false;
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
    if (opts.exclusive) {
      try {
        linkSync(tmp, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    } else {
      renameSync(tmp, dest);
      renamed = true;
    }
    if (opts.syncDir ?? true) await fsyncPath(dirname(dest));
    return true;
  } finally {
    // After a rename there is nothing left to remove.
    if (!renamed) rmSync(tmp, { force: true });
  }
}

/** Whether the name exists (a dangling symlink too, as link(2) sees it). */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
