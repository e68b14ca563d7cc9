import { canonicalJson, isDigest, type Descriptor } from '@kiln/oci';
import type { Layer } from '@kiln/layer-store';
import { BuilderError } from '../builder-error.js';
import { isCachedStep, type CachedStep } from './step-cache.js';

/** The config media type of a kiln cache manifest. */
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.kiln.cache.config.v1+json';

/** The manifest annotation holding a `type=inline` cache (the same JSON as a cache config). */
export const INLINE_CACHE_ANNOTATION = 'dev.kiln.cache.v1';

/**
 * A kiln build cache, stored as a normal OCI image manifest whose config blob (media type
 * {@link CACHE_CONFIG_MEDIA_TYPE}) is this document, in canonical JSON (sorted keys), and whose
 * layers are every distinct layer blob the records name:
 *
 * ```json
 * {
 *   "kilnCache": 1,
 *   "records": {
 *     "<cache key: 64 lowercase hex>": {
 *       "layer": {                                   // absent when the step changed no file
 *         "descriptor": { "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
 *                         "digest": "sha256:…", "size": 123 },
 *         "diffId": "sha256:…"                       // digest of the uncompressed tar
 *       },
 *       "history": { "created": "…", "created_by": "RUN …", "comment": "buildkit.dockerfile.v0",
 *                    "empty_layer": true }           // an OCI history entry
 *     }
 *   },
 *   "mounts": {                                       // only with `--cache-to …,mounts=true`
 *     "<RUN --mount=type=cache id>": { "descriptor": { … }, "diffId": "sha256:…" }
 *   }
 * }
 * ```
 *
 * A `mounts` entry is the contents of a cache mount directory as a layer (its files at the root
 * of the tar); a build that imports the cache seeds an empty local cache mount of that id from it.
 * A record is exactly what `kiln/cache/<key>.json` holds in a local store, so importing one is
 * writing it there once its layer blob is stored. Keys are the builder's step cache keys (they
 * chain the base image's manifest digest, every instruction and its inputs), so a record can only
 * be found by a build whose step would produce the same result.
 */
export interface CacheConfig {
  readonly kilnCache: 1;
  readonly records: Readonly<Record<string, CachedStep>>;
  /** Contents of `RUN --mount=type=cache` directories by mount id (`mounts=true`). */
  readonly mounts?: Readonly<Record<string, Layer>>;
}

/** What a cache document holds, parsed. */
export interface ParsedCache {
  readonly records: ReadonlyMap<string, CachedStep>;
  readonly mounts: ReadonlyMap<string, Layer>;
}

const byKey = <T>([a]: readonly [string, T], [b]: readonly [string, T]): number =>
  a < b ? -1 : a > b ? 1 : 0;

/** Only what a layer reference needs (a store's Layer may carry more). */
function layerRef(layer: Layer): Layer {
  return {
    descriptor: {
      mediaType: layer.descriptor.mediaType,
      digest: layer.descriptor.digest,
      size: layer.descriptor.size,
    },
    diffId: layer.diffId,
  };
}

/** The cache document for these records (and cache mount contents, when exported). */
export function cacheConfigOf(
  records: ReadonlyMap<string, CachedStep>,
  mounts: ReadonlyMap<string, Layer> = new Map(),
): CacheConfig {
  const sorted = [...records].sort(byKey);
  return {
    kilnCache: 1,
    ...(mounts.size > 0
      ? { mounts: Object.fromEntries([...mounts].sort(byKey).map(([id, l]) => [id, layerRef(l)])) }
      : {}),
    records: Object.fromEntries(
      sorted.map(([key, step]) => [
        key,
        { ...(step.layer ? { layer: layerRef(step.layer) } : {}), history: step.history },
      ]),
    ),
  };
}

/** The distinct layer blobs the records (then the mounts) name, in key order (the cache manifest's layers). */
export function cacheLayers(config: CacheConfig): Descriptor[] {
  const layers = new Map<string, Descriptor>();
  for (const step of Object.values(config.records))
    if (step.layer) layers.set(step.layer.descriptor.digest, step.layer.descriptor);
  for (const mount of Object.values(config.mounts ?? {}))
    layers.set(mount.descriptor.digest, mount.descriptor);
  return [...layers.values()];
}

/** The cache document as canonical JSON text (for an annotation). */
export function formatCacheConfig(config: CacheConfig): string {
  return canonicalJson(config);
}

/**
 * Parses an untrusted cache document (config blob bytes or annotation text) into records by
 * key and mount layers by id. Records that are not well formed, or whose key is not 64 hex
 * digits, are dropped (so are malformed mount entries): a damaged cache costs hits, never
 * correctness. INVALID_CACHE_SPEC if it is not a kiln cache at all.
 */
export function parseCacheConfig(text: string, what: string): ParsedCache {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new BuilderError('INVALID_CACHE_SPEC', `${what}: the cache config is not JSON`, { cause });
  }
  const d = doc as { kilnCache?: unknown; records?: unknown; mounts?: unknown } | null;
  if (
    typeof d !== 'object' ||
    d === null ||
    d.kilnCache !== 1 ||
    typeof d.records !== 'object' ||
    d.records === null
  )
    throw new BuilderError('INVALID_CACHE_SPEC', `${what}: not a kiln cache (version 1)`);
  const records = new Map<string, CachedStep>();
  for (const [key, record] of Object.entries(d.records as Record<string, unknown>))
    if (/^[0-9a-f]{64}$/.test(key) && isCachedStep(record)) records.set(key, record);
  const mounts = new Map<string, Layer>();
  if (typeof d.mounts === 'object' && d.mounts !== null)
    for (const [id, layer] of Object.entries(d.mounts as Record<string, unknown>))
      if (isLayerRef(layer)) mounts.set(id, layer);
  return { records, mounts };
}

function isLayerRef(v: unknown): v is Layer {
  const l = v as {
    descriptor?: { mediaType?: unknown; digest?: unknown; size?: unknown };
    diffId?: unknown;
  } | null;
  return (
    typeof l === 'object' &&
    l !== null &&
    isDigest(l.diffId) &&
    isDigest(l.descriptor?.digest) &&
    typeof l.descriptor.mediaType === 'string' &&
    typeof l.descriptor.size === 'number'
  );
}
