import { chmodSync, lchownSync, lutimesSync } from 'node:fs';
import type { Header } from 'tar-stream';
import { mapsId, userNamespace } from './user-namespace.js';

/**
 * Gives `path` the owner, mode and (unless `skipTimes`) mtime of a tar header, never following a
 * symlink. chown comes first because it clears setuid/setgid bits; symlinks keep mode 0777.
 * Synchronous for the same reason as confinedDir: per-entry round trips dominate extraction.
 * In a user namespace (rootless mode) an owner the namespace does not map becomes root (0): the
 * kernel cannot store it. With subordinate ids that is only ids past the user's ranges; with a
 * single-id map it is every owner but root, which the CLI warned about.
 */
export function applyAttributes(path: string, header: Header, skipTimes = false): Promise<void> {
  const ns = userNamespace();
  const uid = header.uid ?? 0;
  const gid = header.gid ?? 0;
  lchownSync(
    path,
    ns.initial || mapsId(ns.uids, uid) ? uid : 0,
    ns.initial || mapsId(ns.gids, gid) ? gid : 0,
  );
  if (header.type !== 'symlink') chmodSync(path, (header.mode ?? 0o644) & 0o7777);
  if (!skipTimes) {
    const mtime = header.mtime ?? new Date(0);
    lutimesSync(path, mtime, mtime);
  }
  return Promise.resolve();
}
