import type { Descriptor, Manifest } from '@kiln/oci';
import { fetchSmallBlob } from './fetch-blob.js';
import { fetchManifest } from './fetch-manifest.js';
import { parseManifest } from './parse-documents.js';
import { formatReference, parseReference, type RegistryReference } from './parse-reference.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { RegistryError } from './registry-error.js';
import { withRetry } from './with-retry.js';

export interface FetchArtifactOptions extends RegistryClientOptions {
  readonly signal: AbortSignal;
  /** The largest config blob accepted (default 16 MiB). */
  readonly maxConfigBytes?: number;
  readonly client?: RegistryClient;
}

/** One manifest and its config blob, whatever the config's media type. */
export interface FetchedArtifact {
  readonly manifest: Manifest;
  readonly manifestDescriptor: Descriptor;
  /** The config blob's bytes, verified against the manifest's config descriptor. */
  readonly config: Buffer;
}

/**
 * Fetches one image manifest (not an index: UNSUPPORTED_MEDIA_TYPE) and its config blob into
 * memory, both verified and size-capped, storing nothing. Unlike `pullImage` the config is not
 * parsed, so artifacts whose config has another media type (a build cache) can be read. Layers
 * are not fetched; use `pullBlob` for those that are needed.
 */
export async function fetchArtifact(
  reference: RegistryReference | string,
  opts: FetchArtifactOptions,
): Promise<FetchedArtifact> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const client = opts.client ?? new RegistryClient(ref.registry, opts);
  const { signal } = opts;
  const fetched = await fetchManifest(client, ref, signal);
  if (fetched.kind !== 'manifest')
    throw new RegistryError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${formatReference(ref)} is an index (${fetched.mediaType}), not a manifest`,
    );
  const manifest = parseManifest(fetched.document);
  const config = await withRetry(
    () =>
      fetchSmallBlob(
        client,
        ref.repository,
        manifest.config,
        opts.maxConfigBytes ?? 16 * 1024 * 1024,
        signal,
      ),
    { signal },
  );
  return {
    manifest,
    manifestDescriptor: { mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.length },
    config,
  };
}
