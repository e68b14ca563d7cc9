import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import type { StorePaths } from './store-paths.js';
import { writeFileAtomic } from './write-file-atomic.js';

const MAX_RECORD_BYTES = 4 * 1024 * 1024;

function recordPath(paths: StorePaths, key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) {
    throw new LayerStoreError('INVALID_CACHE_KEY', `cache key "${key}" is not 64 lowercase hex digits`);
  }
  return join(paths.cache, `${key}.json`);
}

/**
 * The record stored under `key`, or undefined. INVALID_DOCUMENT if the record is not JSON. One
 * synchronous read, as the store's other small files (see writeFileAtomic).
 */
export async function getCacheRecord(paths: StorePaths, key: string): Promise<unknown> {
  let text: Buffer;
  try {
    text = readFileSync(recordPath(paths, key));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (text.length > MAX_RECORD_BYTES)
    throw new LayerStoreError('DOCUMENT_TOO_LARGE', `cache record ${key} is too large`);
  try {
    return JSON.parse(text.toString('utf8')) as unknown;
  } catch (err) {
    throw new LayerStoreError('INVALID_DOCUMENT', `cache record ${key} is not valid JSON`, undefined, {
      cause: err,
    });
  }
}

/**
 * Stores `record` (canonical JSON) under `key` atomically; the last writer wins. The record's data
 * is fsynced, its directory entry is not: after a power loss a record is whole or missing (a
 * cache miss), and every build step saves a directory fsync.
 */
export async function putCacheRecord(paths: StorePaths, key: string, record: unknown): Promise<void> {
  await writeFileAtomic(paths.tmp, recordPath(paths, key), canonicalJson(record), { syncDir: false });
}

/**
 * Marks the record under `key` as used now (its file's mtime), which least-recently-used eviction
 * (`collectGarbage` with `keepBytes` / `keepSince`) reads. A missing record is ignored.
 */
export async function touchCacheRecord(paths: StorePaths, key: string): Promise<void> {
  const now = new Date();
  try {
    utimesSync(recordPath(paths, key), now, now);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
