import { readFileSync } from 'node:fs';
import { canonicalJson, MediaType, type Index } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import { parseIndex } from './parse-index.js';
import type { StorePaths } from './store-paths.js';
import { writeFileAtomic } from './write-file-atomic.js';

const MAX_INDEX_BYTES = 16 * 1024 * 1024;

export function emptyIndex(): Index {
  return { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] };
}

/**
 * Reads the store's `index.json` (an empty index if absent); INVALID_DOCUMENT if malformed.
 * One synchronous read, as the store's other small files (see writeFileAtomic).
 */
export async function readIndexFile(paths: StorePaths): Promise<Index> {
  let text: string;
  try {
    text = readFileSync(paths.index, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
    throw err;
  }
  if (text.length > MAX_INDEX_BYTES)
    throw new LayerStoreError('DOCUMENT_TOO_LARGE', 'index.json is too large');
  try {
    return parseIndex(JSON.parse(text));
  } catch (err) {
    if (err instanceof LayerStoreError) throw err;
    throw new LayerStoreError('INVALID_DOCUMENT', `${paths.index} is not valid JSON`, undefined, {
      cause: err,
    });
  }
}

/** Replaces `index.json` atomically. Callers hold the store lock for a read-modify-write. */
export async function writeIndexFile(paths: StorePaths, index: Index): Promise<void> {
  await writeFileAtomic(paths.tmp, paths.index, canonicalJson(index));
}
