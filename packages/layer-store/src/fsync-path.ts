import { closeSync, fsync, openSync } from 'node:fs';

/**
 * Flushes a file's data or a directory's entries (a rename or link inside it) to disk. fsync
 * acts on the inode, so a fresh descriptor flushes what another descriptor wrote. Only the
 * fsync goes to the thread pool: it can take milliseconds, opening and closing take microseconds.
 */
export async function fsyncPath(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync(2) of an open descriptor, on the thread pool. */
export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}
