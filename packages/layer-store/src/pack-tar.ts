import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsyncPath } from './fsync-path.js';
import type { ContentSource } from './layer-entry.js';
import type { ReadyEntry } from './read-ahead.js';
import { tarChunks } from './tar-chunks.js';
import type { TarHeader } from './tar-header.js';
import { tempName } from './temp-name.js';

/** Tar bytes are written in pieces of this size (as layers are). */
const CHUNK_BYTES = 256 * 1024;

/**
 * Writes `entries` as a tar file at `dest` with the layer writer's tar writer (tarChunks): a temp
 * file beside `dest`, fsync, rename, fsync of its directory, so `dest` is whole or absent. Each
 * regular file's content must be exactly its header's size (FILE_SIZE_MISMATCH otherwise).
 */
export async function writeTarFile(dest: string, entries: AsyncIterable<ReadyEntry>): Promise<void> {
  const tmp = join(dirname(dest), `.${basename(dest)}.${tempName()}`);
  try {
    await pipeline(tarChunks(entries, CHUNK_BYTES), createWriteStream(tmp, { flags: 'wx' }));
    await fsyncPath(tmp);
    await rename(tmp, dest);
    await fsyncPath(dirname(dest));
  } finally {
    await rm(tmp, { force: true });
  }
}

/** An archive member that is not a layer's entry (OCI layout and docker archives), for writeTarFile. */
export function archiveEntry(header: TarHeader, source?: ContentSource | Buffer): ReadyEntry {
  // tarChunks reads only the header; archives are written in the order given, not sorted by key.
  const entry = { path: header.name, key: NO_KEY, header };
  return source === undefined ? { entry } : { entry, source };
}

const NO_KEY = Buffer.alloc(0);
