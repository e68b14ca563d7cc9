import { MediaType, type Descriptor, type Manifest } from '@kiln/oci';
import type { Image, Layer, LayerStore } from '@kiln/layer-store';
import { pushImage } from '@kiln/registry';
import {
  CACHE_CONFIG_MEDIA_TYPE,
  INLINE_CACHE_ANNOTATION,
  cacheConfigOf,
  cacheLayers,
  formatCacheConfig,
} from './cache-config.js';
import { storeBlobOrigins } from '../store/store-blob-origins.js';
import { storeImageSource } from '../store/store-image-source.js';
import { storePlainHttpMemo } from '../store/store-plain-http-memo.js';
import { writeCacheLayout } from './cache-layout.js';
import type { CacheExportSpec, CacheMode } from './cache-spec.js';
import type { CachedStep } from './step-cache.js';

export interface ExportCacheOptions {
  readonly store: LayerStore;
  /** The records of each mode: `min` the final image's steps, `max` every step of this build. */
  readonly records: Readonly<Record<CacheMode, ReadonlyMap<string, CachedStep>>>;
  /** The cache mount contents by id, for specs with `mounts=true` (called at most once). */
  readonly mounts?: () => Promise<ReadonlyMap<string, Layer>>;
  readonly insecure?: readonly string[];
  /** CA files trusted for HTTPS to registries besides the system's and certs.d (`--registry-ca`). */
  readonly caFiles?: readonly string[];
  readonly signal: AbortSignal;
}

/**
 * Exports the build cache to every `registry` and `local` spec (`inline` is applied to the image
 * by {@link withInlineCache}): stores a cache manifest (see `CacheConfig` for the format) in the
 * local store, then pushes it with its blobs (blobs first, manifest last), or writes it as an
 * OCI layout directory. Every layer the records name is in the store (a hit checks its blob).
 */
export async function exportCache(
  specs: readonly CacheExportSpec[],
  opts: ExportCacheOptions,
): Promise<void> {
  let mounts: Promise<ReadonlyMap<string, Layer>> | undefined;
  for (const spec of specs) {
    if (spec.type === 'inline') continue;
    if (spec.mounts) mounts ??= opts.mounts?.() ?? Promise.resolve(new Map());
    const { manifest, blobs } = await storeCacheManifest(
      opts.store,
      opts.records[spec.mode],
      spec.mounts ? await mounts : undefined,
    );
    if (spec.type === 'registry')
      await pushImage(spec.ref, storeImageSource(opts.store, manifest), {
        signal: opts.signal,
        insecure: opts.insecure,
        caFiles: opts.caFiles,
        // The image pushed just before (`--push`) or layers pulled from this registry are
        // mounted, not sent again; what this push sends is recorded for the pushes after it.
        origins: storeBlobOrigins(opts.store),
        plainHttp: storePlainHttpMemo(opts.store),
      });
    else await writeCacheLayout(opts.store, manifest, blobs, spec.dest);
  }
}

/** Stores the cache config and manifest for `records`; returns the manifest and the blobs it names. */
async function storeCacheManifest(
  store: LayerStore,
  records: ReadonlyMap<string, CachedStep>,
  mounts?: ReadonlyMap<string, Layer>,
): Promise<{ manifest: Descriptor; blobs: Descriptor[] }> {
  const doc = cacheConfigOf(records, mounts);
  const config = await store.putJson(doc, CACHE_CONFIG_MEDIA_TYPE);
  const layers = cacheLayers(doc);
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers };
  return { manifest: await store.putJson(manifest, MediaType.ImageManifest), blobs: [config, ...layers] };
}

/**
 * The image with its own cache records (`records`: those of its steps, whose layers are the
 * image's) in the manifest annotation `dev.kiln.cache.v1`, so that `--cache-from
 * type=registry,ref=<the pushed image>` finds them. The config, and so the image id, is unchanged.
 */
export async function withInlineCache(
  store: LayerStore,
  image: Image,
  records: ReadonlyMap<string, CachedStep>,
): Promise<Image> {
  const manifest: Manifest = {
    ...image.manifest,
    annotations: {
      ...image.manifest.annotations,
      [INLINE_CACHE_ANNOTATION]: formatCacheConfig(cacheConfigOf(records)),
    },
  };
  return { ...image, manifest, manifestDescriptor: await store.putJson(manifest, MediaType.ImageManifest) };
}
