import { open } from 'node:fs/promises';

/**
 * Flushes a file's data or a directory's entries (a rename or link inside it) to disk. fsync
 * acts on the inode, so a fresh descriptor flushes what another descriptor wrote.
 */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
