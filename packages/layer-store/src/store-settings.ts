import { readFileSync } from 'node:fs';
import { canonicalJson } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import type { StorePaths } from './store-paths.js';
import { withFileLock } from './with-file-lock.js';
import { writeFileAtomic } from './write-file-atomic.js';

/** Settings kept with a store (`kiln/settings.json`), so every kiln process using it obeys them. */
export interface StoreSettings {
  /**
   * A hard cap on the store's blob bytes: `prune` evicts least-recently-used build cache until
   * the blobs fit, and a build that leaves the store above it prunes so. Blobs of tagged images
   * and of kept containers' images are never evicted, so the cap bounds the cache, not them.
   */
  readonly maxSize?: number;
}

const MAX_SETTINGS_BYTES = 64 * 1024;

/** The store's settings; an absent file means none. INVALID_DOCUMENT when the file is malformed. */
export async function readStoreSettings(paths: StorePaths): Promise<StoreSettings> {
  // Synchronous, as the store's other small files (see writeFileAtomic).
  let text = '{}';
  try {
    text = readFileSync(paths.settings, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text.length > MAX_SETTINGS_BYTES) throw invalid('it is too large');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw invalid('it is not JSON', cause);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('it is not an object');
  const maxSize = (doc as Record<string, unknown>).maxSize;
  if (maxSize === undefined) return {};
  if (typeof maxSize !== 'number' || !Number.isSafeInteger(maxSize) || maxSize < 0)
    throw invalid('maxSize is not a byte count');
  return { maxSize };
}

/**
 * Merges `patch` into the settings (a key set to undefined is removed) under the store lock, and
 * writes them atomically. Returns the new settings.
 */
export async function updateStoreSettings(
  paths: StorePaths,
  patch: { readonly [K in keyof StoreSettings]: StoreSettings[K] | undefined },
): Promise<StoreSettings> {
  if (patch.maxSize !== undefined && (!Number.isSafeInteger(patch.maxSize) || patch.maxSize < 0)) {
    throw new LayerStoreError('INVALID_SETTING', `max-size ${patch.maxSize} is not a byte count`);
  }
  return withFileLock(
    paths.lock,
    async () => {
      const merged: Record<string, unknown> = { ...(await readStoreSettings(paths)) };
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) delete merged[key];
        else merged[key] = value;
      }
      await writeFileAtomic(paths.tmp, paths.settings, canonicalJson(merged));
      return merged as StoreSettings;
    },
    { tmpDir: paths.tmp },
  );
}

function invalid(why: string, cause?: unknown): LayerStoreError {
  return new LayerStoreError(
    'INVALID_DOCUMENT',
    `store settings file is invalid: ${why}`,
    'fix or remove kiln/settings.json in the store, or set it again with `kiln store set`',
    { cause },
  );
}
