import { collectGarbage, type CollectGarbageOptions, type GarbageReport } from './collect-garbage.js';
import { blobBytes, diskUsage, type StoreUsage } from './disk-usage.js';
import { loadImageArchive, type LoadedImage } from './load-image-archive.js';
import {
  writeImageArchive,
  type ArchiveImage,
  type WriteImageArchiveOptions,
} from './write-image-archive.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { canonicalJson, type Descriptor, type Digest, type FsChange, type ImageConfig } from '@kiln/oci';
import { getCacheRecord, putCacheRecord, touchCacheRecord } from './cache-records.js';
import { exportOciLayout } from './export-oci-layout.js';
import { importRootfs, type ImportRootfsOptions } from './import-rootfs.js';
import { emptyIndex } from './index-file.js';
import { readImage, writeImage, type Image } from './images.js';
import { LayerStoreError } from './layer-store-error.js';
import { openBlob, statBlob } from './open-blob.js';
import { putBlob } from './put-blob.js';
import { putJson } from './put-json.js';
import { DEFAULT_MAX_JSON_BYTES, readDocument, readJson } from './read-json.js';
import { removeStaleTempFiles } from './remove-stale-temp-files.js';
import { storePaths, type StorePaths } from './store-paths.js';
import { recompressImage, type LayerCompression } from './recompress-image.js';
import { readStoreSettings, updateStoreSettings, type StoreSettings } from './store-settings.js';
import { listTags, resolveTag, tagManifest, type TagEntry } from './tags.js';
import { verifyStore, type VerifyReport } from './verify-store.js';
import { writeFileAtomic } from './write-file-atomic.js';
import { writeLayer, type Layer, type WriteLayerOptions } from './write-layer.js';

const STORE_VERSION = '1';

/**
 * kiln's local store: an OCI image layout at `root` (readable as `oci:<root>:<name:tag>`) plus
 * kiln's records under `root/kiln/`. Several processes may share one store: blobs are written
 * temp → fsync → rename, index.json is updated under a lock file, and reads verify content.
 */
export class LayerStore {
  private readonly paths: StorePaths;

  private constructor(readonly root: string) {
    this.paths = storePaths(root);
  }

  /** Opens (creating if absent) the store at `root`, and removes temp files left by killed processes. */
  static async open(root: string): Promise<LayerStore> {
    const store = new LayerStore(resolve(root));
    const p = store.paths;
    // Synchronous calls (microseconds each; see writeFileAtomic): every command opens the store.
    for (const dir of [p.blobs, p.tmp, p.cache]) mkdirSync(dir, { recursive: true });
    removeStaleTempFiles(p.tmp);
    await writeFileAtomic(p.tmp, p.version, STORE_VERSION, { exclusive: true });
    const version = readFileSync(p.version, 'utf8').trim();
    if (version !== STORE_VERSION) {
      throw new LayerStoreError('UNSUPPORTED_STORE_VERSION', `store ${root} has version ${version}`);
    }
    await writeFileAtomic(p.tmp, p.ociLayout, canonicalJson({ imageLayoutVersion: '1.0.0' }), {
      exclusive: true,
    });
    await writeFileAtomic(p.tmp, p.index, canonicalJson(emptyIndex()), { exclusive: true });
    return store;
  }

  /** The size of a blob, or undefined if absent. */
  statBlob(d: Digest): Promise<number | undefined> {
    return statBlob(this.paths, d);
  }

  /** A verified read stream; errors before 'end' if the content does not match. See {@link openBlob}. */
  openBlob(d: Digest, expectedSize?: number): Promise<Readable> {
    return openBlob(this.paths, d, expectedSize);
  }

  /** Stores a stream; see {@link putBlob}. */
  putBlob(content: Readable, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    return putBlob(this.paths, content, expected);
  }

  putJson(doc: unknown, mediaType: string): Promise<Descriptor> {
    return putJson(this.paths, doc, mediaType);
  }

  readJson(d: Digest, maxBytes = DEFAULT_MAX_JSON_BYTES): Promise<unknown> {
    return readJson(this.paths, d, maxBytes);
  }

  /** A small blob's bytes, verified (see {@link readDocument}); for documents, never layers. */
  async readDocument(d: Digest, maxBytes = DEFAULT_MAX_JSON_BYTES): Promise<Buffer> {
    return readDocument(this.paths, d, { maxBytes });
  }

  writeLayer(changes: AsyncIterable<FsChange>, opts?: WriteLayerOptions): Promise<Layer> {
    return writeLayer(this.paths, changes, opts);
  }

  writeImage(config: ImageConfig, layers: readonly Layer[]): Promise<Image> {
    return writeImage(this.paths, config, layers);
  }

  readImage(manifestDigest: Digest): Promise<Image> {
    return readImage(this.paths, manifestDigest);
  }

  tag(name: string, manifest: Descriptor): Promise<void> {
    return tagManifest(this.paths, name, manifest);
  }

  resolveTag(name: string): Promise<Descriptor | undefined> {
    return resolveTag(this.paths, name);
  }

  listTags(): Promise<readonly TagEntry[]> {
    return listTags(this.paths);
  }

  getCacheRecord(key: string): Promise<unknown | undefined> {
    return getCacheRecord(this.paths, key);
  }

  putCacheRecord(key: string, record: unknown): Promise<void> {
    return putCacheRecord(this.paths, key, record);
  }

  /** Records a cache hit on `key` (see {@link touchCacheRecord}); a missing record is ignored. */
  touchCacheRecord(key: string): Promise<void> {
    return touchCacheRecord(this.paths, key);
  }

  /** Writes images as one docker-archive or OCI-archive tar; see {@link writeImageArchive}. */
  saveImages(images: readonly ArchiveImage[], dest: string, opts: WriteImageArchiveOptions): Promise<void> {
    return writeImageArchive(this.paths, images, dest, opts);
  }

  /** Loads and tags the images of a docker-archive or OCI-archive tar; see {@link loadImageArchive}. */
  loadImages(file: string): Promise<LoadedImage[]> {
    return loadImageArchive(this.paths, file);
  }

  /** Blob space by kind; see {@link diskUsage}. */
  diskUsage(pinnedImages?: readonly Digest[]): Promise<StoreUsage> {
    return diskUsage(this.paths, pinnedImages);
  }

  exportOciLayout(image: Image, refName: string, dest: string, opts: { tar: boolean }): Promise<void> {
    return exportOciLayout(this.paths, image, refName, dest, opts);
  }

  /** The image with its layers in `compression` (converted once, then reused); see {@link recompressImage}. */
  recompressImage(image: Image, compression: LayerCompression): Promise<Image> {
    return recompressImage(this.paths, image, compression);
  }

  importRootfs(source: string, opts?: ImportRootfsOptions): Promise<Layer> {
    return importRootfs(this.paths, source, opts);
  }

  /** Removes unreferenced blobs (see {@link collectGarbage}); the caller ensures no build is writing. */
  collectGarbage(opts: CollectGarbageOptions): Promise<GarbageReport> {
    return collectGarbage(this.paths, opts);
  }

  /** The settings kept with the store; see {@link StoreSettings}. */
  settings(): Promise<StoreSettings> {
    return readStoreSettings(this.paths);
  }

  /** Changes settings (undefined removes one) atomically under the store lock; returns the result. */
  updateSettings(patch: { readonly maxSize: number | undefined }): Promise<StoreSettings> {
    return updateStoreSettings(this.paths, patch);
  }

  /** Total bytes of the blob files (what a `maxSize` cap bounds). */
  blobBytes(): Promise<number> {
    return blobBytes(this.paths);
  }

  verify(): Promise<VerifyReport> {
    return verifyStore(this.paths);
  }
}
