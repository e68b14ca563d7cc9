import { readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaType, type Digest } from '@kiln/oci';
import { readIndexFile } from './index-file.js';
import { parseImageConfig } from './parse-image-config.js';
import { parseManifest } from './parse-manifest.js';
import { readJson } from './read-json.js';
import type { StorePaths } from './store-paths.js';
import { withFileLock } from './with-file-lock.js';

export interface GarbageReport {
  readonly removedBlobs: number;
  readonly freedBytes: number;
  readonly removedCacheRecords: number;
  /** Every layer diffID still referenced (by a tagged image or a kept cache record). */
  readonly keptDiffIds: ReadonlySet<Digest>;
}

const DIGEST_IN_TEXT = /sha256:[0-9a-f]{64}/g;

/**
 * Removes blobs no tag and no kept cache record reaches. Roots: every manifest in index.json
 * (with its config and layers) and, unless `dropCache`, every `sha256:` digest that appears
 * anywhere in a cache record (records are opaque to the store, so any digest they mention is kept).
 * Holds the index lock so no tag moves meanwhile; the caller makes sure no build is writing.
 */
export async function collectGarbage(
  paths: StorePaths,
  opts: { readonly dropCache: boolean },
): Promise<GarbageReport> {
  return withFileLock(
    paths.lock,
    async () => {
      const keep = new Set<string>();
      const keptDiffIds = new Set<Digest>();
      for (const entry of (await readIndexFile(paths)).manifests) {
        keep.add(entry.digest);
        if (entry.mediaType !== MediaType.ImageManifest && entry.mediaType !== MediaType.DockerManifest)
          continue;
        const manifest = parseManifest(await readJson(paths, entry.digest));
        keep.add(manifest.config.digest);
        for (const l of manifest.layers) keep.add(l.digest);
        const config = parseImageConfig(await readJson(paths, manifest.config.digest));
        for (const d of config.rootfs.diff_ids) keptDiffIds.add(d);
      }
      let removedCacheRecords = 0;
      for (const name of await readdir(paths.cache).catch(() => [] as string[])) {
        const path = join(paths.cache, name);
        if (opts.dropCache) {
          await unlink(path);
          removedCacheRecords++;
          continue;
        }
        for (const d of (await readFile(path, 'utf8')).match(DIGEST_IN_TEXT) ?? []) {
          keep.add(d);
          keptDiffIds.add(d as Digest);
        }
      }
      let removedBlobs = 0;
      let freedBytes = 0;
      for (const name of await readdir(paths.blobs)) {
        if (keep.has(`sha256:${name}`)) continue;
        const path = join(paths.blobs, name);
        freedBytes += (await stat(path)).size;
        await rm(path, { force: true });
        removedBlobs++;
      }
      return { removedBlobs, freedBytes, removedCacheRecords, keptDiffIds };
    },
    { tmpDir: paths.tmp },
  );
}
