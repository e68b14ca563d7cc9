import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { digestHex, type Descriptor } from '@kiln/oci';
import type { Layer, LayerStore } from '@kiln/layer-store';
import {
  fetchArtifact,
  parseReference,
  pullBlob,
  RegistryClient,
  type BlobOrigins,
  type PlainHttpMemo,
} from '@kiln/registry';
import { CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_ANNOTATION, parseCacheConfig } from './cache-config.js';
import type { CacheImportSpec } from './cache-spec.js';
import { readCacheLayout } from './cache-layout.js';
import type { CachedStep } from './step-cache.js';

/** Records imported with `--cache-from`, and the layer blobs they name fetched on demand. */
export interface ImportedCache {
  /**
   * The first source's record for `key`, its layer blob stored in `store` first (fetched now if
   * absent, verified by digest). Undefined on a miss, or when the blob cannot be fetched (warned).
   */
  lookup(key: string, store: LayerStore, signal: AbortSignal): Promise<CachedStep | undefined>;
  /** Ids of the `RUN --mount=type=cache` directories whose contents the sources hold (`mounts=true`). */
  readonly mountIds: readonly string[];
  /**
   * The first source's layer of cache mount `id`, its blob stored in `store` first (as for
   * `lookup`). Undefined when no source has it or its blob cannot be fetched (warned).
   */
  mountLayer(id: string, store: LayerStore, signal: AbortSignal): Promise<Layer | undefined>;
}

/** One imported cache: its records and how to store one of its blobs. */
interface CacheSource {
  readonly name: string;
  readonly records: ReadonlyMap<string, CachedStep>;
  readonly mounts: ReadonlyMap<string, Layer>;
  fetchBlob(blob: Descriptor, store: LayerStore, signal: AbortSignal): Promise<void>;
}

export interface ImportCacheOptions {
  readonly insecure?: readonly string[];
  /** CA files trusted for HTTPS to registries besides the system's and certs.d (`--registry-ca`). */
  readonly caFiles?: readonly string[];
  /** Registries known to speak plain HTTP (the store's memo). */
  readonly plainHttp?: PlainHttpMemo;
  /**
   * The store's blob origins: a registry source's repository is recorded for every layer blob
   * fetched from it, so that pushing the image to that registry mounts the blob from there.
   */
  readonly origins?: BlobOrigins;
  readonly signal: AbortSignal;
  /** Told about each source that cannot be read, and each blob that cannot be fetched. */
  readonly warn: (message: string) => void;
}

/**
 * Reads the records of every `--cache-from` source now (manifest and config only; layers are
 * fetched when a hit needs them). A source that is missing, unreachable or not a kiln cache is
 * a warning, not an error: the build then runs without it. Undefined when no source was read.
 */
export async function importCache(
  specs: readonly CacheImportSpec[],
  opts: ImportCacheOptions,
): Promise<ImportedCache | undefined> {
  const sources: CacheSource[] = [];
  for (const spec of specs) {
    const name = spec.type === 'registry' ? spec.ref : `local:${spec.src}`;
    try {
      sources.push(
        spec.type === 'registry' ? await registrySource(spec.ref, opts) : await localSource(spec.src),
      );
    } catch (err) {
      if (opts.signal.aborted) throw err;
      opts.warn(`cache import from ${name} skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (sources.length === 0) return undefined;
  /** Stores `blob` from `source` unless the store has it; false when it cannot be had (warned). */
  const haveBlob = async (
    source: CacheSource,
    blob: Descriptor,
    store: LayerStore,
    signal: AbortSignal,
  ): Promise<boolean> => {
    if ((await store.statBlob(blob.digest)) === blob.size) return true;
    try {
      await source.fetchBlob(blob, store, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      opts.warn(
        `cache blob ${blob.digest} from ${source.name}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return false;
    }
    return (await store.statBlob(blob.digest)) === blob.size;
  };
  return {
    async lookup(key, store, signal) {
      for (const source of sources) {
        const record = source.records.get(key);
        if (!record) continue;
        if (record.layer && !(await haveBlob(source, record.layer.descriptor, store, signal))) continue;
        return record;
      }
      return undefined;
    },
    mountIds: [...new Set(sources.flatMap((s) => [...s.mounts.keys()]))],
    async mountLayer(id, store, signal) {
      for (const source of sources) {
        const layer = source.mounts.get(id);
        if (layer && (await haveBlob(source, layer.descriptor, store, signal))) return layer;
      }
      return undefined;
    },
  };
}

/** A cache manifest (or an image with an inline cache) in a registry. */
async function registrySource(ref: string, opts: ImportCacheOptions): Promise<CacheSource> {
  const remote = parseReference(ref);
  const client = new RegistryClient(remote.registry, {
    insecure: opts.insecure,
    caFiles: opts.caFiles,
    plainHttp: opts.plainHttp,
  });
  const artifact = await fetchArtifact(remote, { signal: opts.signal, client });
  const inline = artifact.manifest.annotations?.[INLINE_CACHE_ANNOTATION];
  const text =
    artifact.manifest.config.mediaType === CACHE_CONFIG_MEDIA_TYPE
      ? artifact.config.toString('utf8')
      : inline;
  if (text === undefined) throw new Error('neither a kiln cache nor an image with an inline cache');
  return {
    name: ref,
    ...parseCacheConfig(text, ref),
    fetchBlob: (blob, store, signal) =>
      pullBlob(
        remote,
        blob,
        { stat: (d) => store.statBlob(d), put: async (s, d) => void (await store.putBlob(s, d)) },
        { signal, client, origins: opts.origins },
      ),
  };
}

/** A cache written by `--cache-to type=local,dest=DIR`. */
async function localSource(dir: string): Promise<CacheSource> {
  const { config } = await readCacheLayout(dir);
  return {
    name: `local:${dir}`,
    ...parseCacheConfig(config, dir),
    fetchBlob: async (blob, store) => {
      // putBlob verifies the digest; a size mismatch is caught by the caller's stat.
      await store.putBlob(
        createReadStream(join(dir, 'blobs', 'sha256', digestHex(blob.digest))),
        blob.digest,
      );
    },
  };
}
