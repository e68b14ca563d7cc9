import { chmodSync, lchownSync, lutimesSync } from 'node:fs';
import type { Header } from 'tar-stream';

/**
 * Gives `path` the owner, mode and (unless `skipTimes`) mtime of a tar header, never following a
 * symlink. chown comes first because it clears setuid/setgid bits; symlinks keep mode 0777.
 * Synchronous for the same reason as confinedDir: per-entry round trips dominate extraction.
 */
export function applyAttributes(path: string, header: Header, skipTimes = false): Promise<void> {
  lchownSync(path, header.uid ?? 0, header.gid ?? 0);
  if (header.type !== 'symlink') chmodSync(path, (header.mode ?? 0o644) & 0o7777);
  if (!skipTimes) {
    const mtime = header.mtime ?? new Date(0);
    lutimesSync(path, mtime, mtime);
  }
  return Promise.resolve();
}
