import { sha256Digest, type Digest } from '@kiln/oci';
import type { BlobOrigins, ImageSource } from './blob-io.js';
import { MAX_MANIFEST_BYTES } from './fetch-manifest.js';
import { manifestKind } from './manifest-kind.js';
import { mapConcurrently } from './map-concurrently.js';
import { isRecord, parseManifest } from './parse-documents.js';
import { formatReference, parseReference, type RegistryReference } from './parse-reference.js';
import { pushBlob, type BlobOutcome } from './push-blob.js';
import { readBody } from './read-body.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { RegistryError } from './registry-error.js';

export interface PushOptions extends RegistryClientOptions {
  readonly signal: AbortSignal;
  /** Blobs uploaded at the same time (default 4). */
  readonly concurrency?: number;
  /** See {@link PushBlobOptions.monolithicMaxBytes}. */
  readonly monolithicMaxBytes?: number;
  /** See {@link PushBlobOptions.chunkBytes}. */
  readonly chunkBytes?: number;
  readonly client?: RegistryClient;
  /**
   * Where blobs were seen: a blob known in another repository of the same registry is mounted
   * from there, and every blob pushed is recorded under the destination repository.
   */
  readonly origins?: BlobOrigins;
  /** Called once per blob with what happened to it (for progress and tests). */
  readonly onBlob?: (digest: Digest, outcome: BlobOutcome) => void;
}

/**
 * Pushes one image manifest and its blobs: config and layers first (each skipped when the
 * repository has it, mounted when `origins` knows another repository of the registry that has
 * it, else uploaded: see `pushBlob`), the manifest bytes last, unchanged, under the reference's
 * tag (or its digest when it names no tag). As the manifest goes only after every blob is
 * stored, a failed push never leaves a manifest that references a missing blob. Returns the manifest digest, which the registry's
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
  const here = `${ref.registry}/${ref.repository}`;
  await mapConcurrently(blobs, opts.concurrency ?? 4, signal, async (blob, s) => {
    const outcome = await pushBlob(client, ref.repository, blob, source, {
      signal: s,
      monolithicMaxBytes: opts.monolithicMaxBytes,
      chunkBytes: opts.chunkBytes,
      mountFrom: await mountSources(opts.origins, blob.digest, ref.registry),
    });
    // A hint for later pushes; a store that cannot write it must not fail this push.
    await opts.origins?.record(blob.digest, here).catch(() => undefined);
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

/** Repositories of `registry` the origins know for `digest`, without the registry prefix. */
async function mountSources(
  origins: BlobOrigins | undefined,
  digest: Digest,
  registry: string,
): Promise<string[]> {
  const known = (await origins?.lookup(digest).catch(() => [])) ?? [];
  return known.flatMap((o) => (o.startsWith(`${registry}/`) ? [o.slice(registry.length + 1)] : []));
}
