import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@kiln/oci';
import { blobsFromManifests, blobsFromTags, listCacheRecords } from './reachable-blobs.js';
import type { StorePaths } from './store-paths.js';

/** A count and a byte total. */
export interface Usage {
  readonly count: number;
  readonly bytes: number;
}

/** How a store's blob space divides (each blob counted once, in the first kind that holds it). */
export interface StoreUsage {
  /** Blobs of tagged images, and of the pinned ones (images of containers). */
  readonly imageBlobs: Usage;
  /** Blobs only the build cache references. */
  readonly cacheBlobs: Usage;
  /** Blobs nothing references (what `prune` removes). */
  readonly unreferencedBlobs: Usage;
  /** Cache record files. */
  readonly cacheRecords: Usage;
  /** Temp files under kiln/tmp (in-flight writes, or leftovers of killed processes). */
  readonly temp: Usage;
}

/**
 * Measures the store; read-only and lock-free, so figures may be a moment stale while builds run.
 * `pinnedImages` (manifest digests, as for collectGarbage) count as images, not as unreferenced.
 */
export async function diskUsage(
  paths: StorePaths,
  pinnedImages: readonly Digest[] = [],
): Promise<StoreUsage> {
  const tagged = new Set([
    ...(await blobsFromTags(paths)).blobs,
    ...(await blobsFromManifests(paths, pinnedImages)).blobs,
  ]);
  const records = await listCacheRecords(paths);
  const cached = new Set<string>(records.flatMap((r) => r.digests));
  const image = { count: 0, bytes: 0 };
  const cache = { count: 0, bytes: 0 };
  const unreferenced = { count: 0, bytes: 0 };
  for (const name of await readdir(paths.blobs)) {
    const size = (await stat(join(paths.blobs, name)).catch(() => undefined))?.size;
    if (size === undefined) continue;
    const digest = `sha256:${name}`;
    const kind = tagged.has(digest) ? image : cached.has(digest) ? cache : unreferenced;
    kind.count++;
    kind.bytes += size;
  }
  return {
    imageBlobs: image,
    cacheBlobs: cache,
    unreferencedBlobs: unreferenced,
    cacheRecords: await directoryUsage(paths.cache),
    temp: await directoryUsage(paths.tmp),
  };
}

/** The total size of the blob files; read-only and lock-free. */
export async function blobBytes(paths: StorePaths): Promise<number> {
  let total = 0;
  for (const name of await readdir(paths.blobs)) {
    total += (await stat(join(paths.blobs, name)).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

/** Files (recursively, never following symlinks) and their apparent sizes under `dir`; a missing dir is empty. */
export async function directoryUsage(dir: string): Promise<Usage> {
  let count = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = await directoryUsage(path);
      count += sub.count;
      bytes += sub.bytes;
    } else {
      const st = await lstat(path).catch(() => undefined);
      count++;
      bytes += st?.isFile() ? st.size : 0;
    }
  }
  return { count, bytes };
}
