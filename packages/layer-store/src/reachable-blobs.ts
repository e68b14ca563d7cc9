import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaType, type Digest } from '@kiln/oci';
import { readIndexFile } from './index-file.js';
import { parseImageConfig } from './parse-image-config.js';
import { parseManifest } from './parse-manifest.js';
import { readJson } from './read-json.js';
import type { StorePaths } from './store-paths.js';

const DIGEST_IN_TEXT = /sha256:[0-9a-f]{64}/g;

/** What the tags of index.json keep alive: every manifest, config and layer blob, and the layers' diffIDs. */
export async function blobsFromTags(
  paths: StorePaths,
): Promise<{ readonly blobs: Set<string>; readonly diffIds: Set<Digest> }> {
  const blobs = new Set<string>();
  const diffIds = new Set<Digest>();
  for (const entry of (await readIndexFile(paths)).manifests) {
    blobs.add(entry.digest);
    if (entry.mediaType !== MediaType.ImageManifest && entry.mediaType !== MediaType.DockerManifest) continue;
    const manifest = parseManifest(await readJson(paths, entry.digest));
    blobs.add(manifest.config.digest);
    for (const l of manifest.layers) blobs.add(l.digest);
    const config = parseImageConfig(await readJson(paths, manifest.config.digest));
    for (const d of config.rootfs.diff_ids) diffIds.add(d);
  }
  return { blobs, diffIds };
}

/** One cache record file: its key file name, last use (mtime, ms) and every digest it mentions. */
export interface CacheRecordInfo {
  readonly file: string;
  readonly lastUsed: number;
  readonly digests: readonly Digest[];
}

/**
 * Every cache record with the `sha256:` digests it mentions (records are opaque to the store, so
 * any digest in one is treated as a reference) and its last use: the file's mtime, which
 * `touchCacheRecord` moves on every hit.
 */
export async function listCacheRecords(paths: StorePaths): Promise<CacheRecordInfo[]> {
  const out: CacheRecordInfo[] = [];
  for (const name of await readdir(paths.cache).catch(() => [] as string[])) {
    const file = join(paths.cache, name);
    const st = await stat(file).catch(() => undefined);
    if (st === undefined) continue;
    const text = await readFile(file, 'utf8').catch(() => '');
    out.push({ file, lastUsed: st.mtimeMs, digests: (text.match(DIGEST_IN_TEXT) ?? []) as Digest[] });
  }
  return out;
}
