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
  /**
   * Blobs up to this size that `origins` has never seen on the destination registry are sent
   * without asking the registry first whether it has them (default 256 KiB; 0: always ask). Most
   * such blobs are new (a config, a rebuilt layer), and re-sending a small one the registry has
   * costs about what the question would. Without `origins` nothing is known: every blob is asked.
   */
  readonly unseenUploadMaxBytes?: number;
  /** Called once per blob with what happened to it (for progress and tests). */
  readonly onBlob?: (digest: Digest, outcome: BlobOutcome) => void;
}

/** See {@link PushOptions.unseenUploadMaxBytes}. */
export const DEFAULT_UNSEEN_UPLOAD_MAX_BYTES = 256 * 1024;

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
  const bytes = source.read
    ? await source.read(source.manifest.digest, MAX_MANIFEST_BYTES)
    : await readBody(await source.open(source.manifest.digest), MAX_MANIFEST_BYTES, 'manifest');
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
  const unseenMax = opts.unseenUploadMaxBytes ?? DEFAULT_UNSEEN_UPLOAD_MAX_BYTES;
  // What the store knows of every blob first, so that blobs to upload can go first: their POST
  // starts the longest chain of round trips (POST, PUT, then the manifest), and would otherwise
  // wait behind the HEADs of blobs that are most likely there.
  const plans = await Promise.all(
    blobs.map(async (blob) => {
      const seenIn = await repositoriesHolding(opts.origins, blob.digest, ref.registry);
      // One round trip less per blob where the HEAD would most likely say "absent", or where a
      // mount answers the question; a blob this repository held is asked about (most likely there).
      const headFirst =
        seenIn === undefined ||
        seenIn.includes(ref.repository) ||
        (seenIn.length === 0 && blob.size > unseenMax);
      return { blob, seenIn, headFirst };
    }),
  );
  const ordered = [...plans.filter((p) => !p.headFirst), ...plans.filter((p) => p.headFirst)];
  await mapConcurrently(ordered, opts.concurrency ?? 4, signal, async ({ blob, seenIn, headFirst }, s) => {
    const outcome = await pushBlob(client, ref.repository, blob, source, {
      signal: s,
      monolithicMaxBytes: opts.monolithicMaxBytes,
      chunkBytes: opts.chunkBytes,
      mountFrom: seenIn,
      headFirst,
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

/**
 * Repositories of `registry` the origins know for `digest`, without the registry prefix;
 * undefined when there are no origins or they cannot be read (nothing is known).
 */
async function repositoriesHolding(
  origins: BlobOrigins | undefined,
  digest: Digest,
  registry: string,
): Promise<string[] | undefined> {
  const known = await origins?.lookup(digest).catch(() => undefined);
  return known?.flatMap((o) => (o.startsWith(`${registry}/`) ? [o.slice(registry.length + 1)] : []));
}
