import { chmod, lchown, lutimes } from 'node:fs/promises';
import type { Header } from 'tar-stream';

/**
 * Gives `path` the owner, mode and (unless `skipTimes`) mtime of a tar header, never following a
 * symlink. chown comes first because it clears setuid/setgid bits; symlinks keep mode 0777.
 */
export async function applyAttributes(path: string, header: Header, skipTimes = false): Promise<void> {
  await lchown(path, header.uid ?? 0, header.gid ?? 0);
  if (header.type !== 'symlink') await chmod(path, (header.mode ?? 0o644) & 0o7777);
  if (!skipTimes) {
    const mtime = header.mtime ?? new Date(0);
    await lutimes(path, mtime, mtime);
  }
}
