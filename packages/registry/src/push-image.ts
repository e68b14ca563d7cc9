import { sha256Digest, type Digest } from '@kiln/oci';
import type { ImageSource } from './blob-io.js';
import { MAX_MANIFEST_BYTES } from './fetch-manifest.js';
import { manifestKind } from './manifest-kind.js';
import { mapConcurrently } from './map-concurrently.js';
import { isRecord, parseManifest } from './parse-documents.js';
import { formatReference, parseReference, type RegistryReference } from './parse-reference.js';
import { pushBlob } from './push-blob.js';
import { readBody } from './read-body.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { RegistryError } from './registry-error.js';

export interface PushOptions extends RegistryClientOptions {
  readonly signal: AbortSignal;
  /** Blobs uploaded at the same time (default 4). */
  readonly concurrency?: number;
  /** See {@link PushBlobOptions.monolithicMaxBytes}. */
  readonly monolithicMaxBytes?: number;
  readonly client?: RegistryClient;
  /** Called once per blob with what happened to it (for progress and tests). */
  readonly onBlob?: (digest: Digest, outcome: 'exists' | 'uploaded') => void;
}

/**
 * Pushes one image manifest and its blobs: config and layers first (each skipped when the
 * repository has it), the manifest bytes last, unchanged, under the reference's tag (or its
 * digest when it names no tag). Returns the manifest digest, which the registry's
 * `Docker-Content-Digest` must confirm. Indexes are not pushed (UNSUPPORTED_MEDIA_TYPE).
 */
export async function pushImage(
  reference: RegistryReference | string,
  source: ImageSource,
  opts: PushOptions,
): Promise<Digest> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const { signal } = opts;
  const client = opts.client ?? new RegistryClient(ref.registry, opts);
  const bytes = await readBody(await source.open(source.manifest.digest), MAX_MANIFEST_BYTES, 'manifest');
  const digest = sha256Digest(bytes);
  if (digest !== source.manifest.digest)
    throw new RegistryError('DIGEST_MISMATCH', `manifest ${source.manifest.digest} hashes to ${digest}`);
  const doc: unknown = JSON.parse(bytes.toString('utf8'));
  if (!isRecord(doc)) throw new RegistryError('PROTOCOL', 'the manifest to push is not a JSON object');
  const { kind, mediaType } = manifestKind(doc, source.manifest.mediaType);
  if (kind !== 'manifest')
    throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', `pushing an index (${mediaType}) is not supported`);
  const manifest = parseManifest(doc);
  const blobs = [...new Map([manifest.config, ...manifest.layers].map((b) => [b.digest, b])).values()];
  await mapConcurrently(blobs, opts.concurrency ?? 4, signal, async (blob, s) => {
    const outcome = await pushBlob(client, ref.repository, blob, source, {
      signal: s,
      monolithicMaxBytes: opts.monolithicMaxBytes,
    });
    opts.onBlob?.(blob.digest, outcome);
  });
  const target = ref.tag ?? digest;
  const res = await client.request({
    method: 'PUT',
    target: `/v2/${ref.repository}/manifests/${target}`,
    headers: { 'content-type': mediaType },
    body: bytes,
    scopes: [`repository:${ref.repository}:pull,push`],
    expect: [201],
    what: `PUT manifest ${formatReference(ref)}`,
    signal,
  });
  res.body.resume();
  const confirmed = res.headers['docker-content-digest'];
  if (typeof confirmed === 'string' && confirmed !== digest)
    throw new RegistryError('DIGEST_MISMATCH', `the registry stored manifest ${digest} as ${confirmed}`);
  return digest;
}
