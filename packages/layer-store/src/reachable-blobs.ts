import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaType, type Digest } from '@kiln/oci';
import { readIndexFile } from './index-file.js';
import { statBlob } from './open-blob.js';
import { parseImageConfig } from './parse-image-config.js';
import { parseManifest } from './parse-manifest.js';
import { readJson } from './read-json.js';
import type { StorePaths } from './store-paths.js';

const DIGEST_IN_TEXT = /sha256:[0-9a-f]{64}/g;

/** Blobs and layer diffIDs that something keeps alive. */
export interface Reachable {
  readonly blobs: Set<string>;
  readonly diffIds: Set<Digest>;
}

/** What the tags of index.json keep alive: every manifest, config and layer blob, and the layers' diffIDs. */
export async function blobsFromTags(paths: StorePaths): Promise<Reachable> {
  const found: Reachable = { blobs: new Set<string>(), diffIds: new Set<Digest>() };
  for (const entry of (await readIndexFile(paths)).manifests) {
    found.blobs.add(entry.digest);
    if (entry.mediaType !== MediaType.ImageManifest && entry.mediaType !== MediaType.DockerManifest) continue;
    await addImage(paths, entry.digest, found);
  }
  return found;
}

/**
 * What image manifests pinned by their digest keep alive (images of kept containers, which no tag
 * may name any more). A pinned manifest that is not in the store pins nothing.
 */
export async function blobsFromManifests(
  paths: StorePaths,
  manifests: readonly Digest[],
): Promise<Reachable> {
  const found: Reachable = { blobs: new Set<string>(), diffIds: new Set<Digest>() };
  for (const digest of manifests) {
    if ((await statBlob(paths, digest)) === undefined) continue;
    found.blobs.add(digest);
    await addImage(paths, digest, found);
  }
  return found;
}

async function addImage(paths: StorePaths, manifestDigest: Digest, found: Reachable): Promise<void> {
  const manifest = parseManifest(await readJson(paths, manifestDigest));
  found.blobs.add(manifest.config.digest);
  for (const l of manifest.layers) found.blobs.add(l.digest);
  const config = parseImageConfig(await readJson(paths, manifest.config.digest));
  for (const d of config.rootfs.diff_ids) found.diffIds.add(d);
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
