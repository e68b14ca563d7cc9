import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '@kiln/oci';
import { blobsFromManifests, blobsFromTags, listCacheRecords } from './reachable-blobs.js';
import type { StorePaths } from './store-paths.js';
import { withFileLock } from './with-file-lock.js';

export interface GarbageReport {
  readonly removedBlobs: number;
  readonly freedBytes: number;
  readonly removedCacheRecords: number;
  /** Every layer diffID still referenced (by a tagged or pinned image, or a kept cache record). */
  readonly keptDiffIds: ReadonlySet<Digest>;
}

export interface CollectGarbageOptions {
  /** Drop every cache record first. */
  readonly dropCache: boolean;
  /** Drop cache records not used since this time (ms since the epoch). */
  readonly keepSince?: number;
  /**
   * Then drop least-recently-used cache records until the blobs that remain total at most this
   * many bytes (blobs of tagged images always stay, so the bound may be unreachable).
   */
  readonly keepBytes?: number;
  /**
   * Image manifests kept whatever their tags say (images of kept containers): roots like tags,
   * with their config and layers, never evicted by `keepBytes`.
   */
  readonly pinnedImages?: readonly Digest[];
}

/**
 * Removes cache records as `opts` asks, then blobs no tag, pinned image or kept cache record
 * reaches. Roots: every manifest in index.json and in `pinnedImages` (with its config and
 * layers) and every `sha256:` digest that
 * appears anywhere in a kept cache record (records are opaque to the store, so any digest they
 * mention is kept). Holds the index lock so no tag moves meanwhile; the caller makes sure no
 * build is writing.
 */
export async function collectGarbage(paths: StorePaths, opts: CollectGarbageOptions): Promise<GarbageReport> {
  return withFileLock(
    paths.lock,
    async () => {
      const tagged = await blobsFromTags(paths);
      const pinned = await blobsFromManifests(paths, opts.pinnedImages ?? []);
      const keep = new Set<string>([...tagged.blobs, ...pinned.blobs]);
      const keptDiffIds = new Set<Digest>([...tagged.diffIds, ...pinned.diffIds]);
      const sizes = new Map<string, number>();
      for (const name of await readdir(paths.blobs)) {
        const st = await stat(join(paths.blobs, name)).catch(() => undefined);
        if (st !== undefined) sizes.set(`sha256:${name}`, st.size);
      }
      const records = (await listCacheRecords(paths)).sort((a, b) => a.lastUsed - b.lastUsed);
      const drop = new Set<string>();
      for (const r of records) {
        if (opts.dropCache || (opts.keepSince !== undefined && r.lastUsed < opts.keepSince)) drop.add(r.file);
      }
      if (opts.keepBytes !== undefined) {
        // Reference counts of cached-only blobs, so dropping the oldest record frees exactly what only it held.
        const refs = new Map<string, number>();
        let total = [...keep].reduce((n, d) => n + (sizes.get(d) ?? 0), 0);
        for (const r of records) {
          if (drop.has(r.file)) continue;
          for (const d of new Set(r.digests)) {
            if (keep.has(d) || !sizes.has(d)) continue;
            const n = refs.get(d) ?? 0;
            if (n === 0) total += sizes.get(d) ?? 0;
            refs.set(d, n + 1);
          }
        }
        for (const r of records) {
          if (total <= opts.keepBytes) break;
          if (drop.has(r.file)) continue;
          drop.add(r.file);
          for (const d of new Set(r.digests)) {
            const n = refs.get(d);
            if (n === undefined) continue;
            if (n === 1) {
              refs.delete(d);
              total -= sizes.get(d) ?? 0;
            } else refs.set(d, n - 1);
          }
        }
      }
      for (const r of records) {
        if (drop.has(r.file)) {
          await unlink(r.file).catch(() => undefined);
          continue;
        }
        for (const d of r.digests) {
          keep.add(d);
          keptDiffIds.add(d);
        }
      }
      let removedBlobs = 0;
      let freedBytes = 0;
      for (const [digest, size] of sizes) {
        if (keep.has(digest)) continue;
        await rm(join(paths.blobs, digest.slice(7)), { force: true });
        freedBytes += size;
        removedBlobs++;
      }
      return { removedBlobs, freedBytes, removedCacheRecords: drop.size, keptDiffIds };
    },
    { tmpDir: paths.tmp },
  );
}
