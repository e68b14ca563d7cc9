import { link, lstat, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncPath } from './fsync-path.js';
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
 */
export async function writeFileAtomic(
  tmpDir: string,
  dest: string,
  data: string | Buffer,
  opts: WriteFileAtomicOptions = {},
): Promise<boolean> {
  if (opts.exclusive && (await exists(dest))) return false;
  const tmp = join(tmpDir, tempName());
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.exclusive) {
      try {
        await link(tmp, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    } else {
      await rename(tmp, dest);
      renamed = true;
    }
    if (opts.syncDir ?? true) await fsyncPath(dirname(dest));
    return true;
  } finally {
    // After a rename there is nothing left to remove: skip the extra file-system round trip.
    if (!renamed) await rm(tmp, { force: true });
  }
}

/** Whether the name exists (a dangling symlink too, as link(2) sees it). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
