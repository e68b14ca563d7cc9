import { Readable } from 'node:stream';
import {
  hostPlatform,
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Manifest,
  type Platform,
} from '@kiln/oci';
import type { BlobOrigins, BlobSink } from './blob-io.js';
import { fetchBlob, fetchSmallBlob } from './fetch-blob.js';
import { fetchManifest } from './fetch-manifest.js';
import { mapConcurrently } from './map-concurrently.js';
import { parseImageConfig, parseIndex, parseManifest } from './parse-documents.js';
import { formatReference, parseReference, type RegistryReference } from './parse-reference.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { RegistryError } from './registry-error.js';
import { selectPlatform } from './select-platform.js';
import { withRetry } from './with-retry.js';

export interface PullOptions extends RegistryClientOptions {
  readonly signal: AbortSignal;
  /** The platform to pick from a multi-platform index; default: the host's (`hostPlatform()`). */
  readonly platform?: Platform;
  /** Blobs downloaded at the same time (default 4). */
  readonly concurrency?: number;
  /** A client to reuse (its tokens and credentials); default: a new one for the reference's registry. */
  readonly client?: RegistryClient;
  /** Records the source repository of every blob, so a later push can mount rather than upload. */
  readonly origins?: BlobOrigins;
}

export interface PulledImage {
  readonly manifest: Manifest;
  /** The manifest's media type (OCI or Docker v2 schema 2, kept as the registry serves it), digest and size. */
  readonly manifestDescriptor: Descriptor;
  readonly config: ImageConfig;
  readonly configDigest: Digest;
}

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/**
 * Pulls one image into `sink`: resolves the manifest (by tag or digest; from an index, the
 * entry for the wanted platform), then streams the config and every layer the sink lacks,
 * several at a time, each verified by size and digest, and stores the manifest bytes last
 * (exactly as served, so its digest holds), so a stored manifest implies stored blobs.
 * Media types are kept as they are (Docker v2s2 images stay Docker). Nothing is tagged.
 */
export async function pullImage(
  reference: RegistryReference | string,
  sink: BlobSink,
  opts: PullOptions,
): Promise<PulledImage> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const client = opts.client ?? new RegistryClient(ref.registry, opts);
  const { signal } = opts;
  let fetched = await fetchManifest(client, ref, signal);
  if (fetched.kind === 'index') {
    const index = parseIndex(fetched.document);
    const entry = selectPlatform(index, opts.platform ?? hostPlatform(), formatReference(ref));
    fetched = await fetchManifest(client, { ...ref, tag: undefined, digest: entry.digest }, signal);
    if (fetched.kind !== 'manifest')
      throw new RegistryError(
        'UNSUPPORTED_MEDIA_TYPE',
        `${formatReference(ref)}: nested indexes are not supported`,
      );
  }
  const manifest = parseManifest(fetched.document);
  const configBytes = await withRetry(
    () => fetchSmallBlob(client, ref.repository, manifest.config, MAX_CONFIG_BYTES, signal),
    { signal },
  );
  const config = parseImageConfig(JSON.parse(configBytes.toString('utf8')));
  if ((await sink.stat(manifest.config.digest)) === undefined)
    await sink.put(Readable.from([configBytes]), manifest.config.digest);
  const unique = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
  await mapConcurrently(unique, opts.concurrency ?? 4, signal, async (layer, s) => {
    if ((await sink.stat(layer.digest)) === layer.size) return;
    await withRetry(async () => sink.put(await fetchBlob(client, ref.repository, layer, s), layer.digest), {
      signal: s,
    });
  });
  await sink.put(Readable.from([fetched.bytes]), fetched.digest);
  const here = `${ref.registry}/${ref.repository}`;
  for (const blob of [manifest.config, ...unique])
    await opts.origins?.record(blob.digest, here).catch(() => undefined);
  return {
    manifest,
    manifestDescriptor: { mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.length },
    config,
    configDigest: manifest.config.digest,
  };
}
