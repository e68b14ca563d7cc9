import { sha256Digest, type Digest } from '@kiln/oci';
import { MANIFEST_ACCEPT, manifestKind } from './manifest-kind.js';
import { isRecord } from './parse-documents.js';
import type { RegistryReference } from './parse-reference.js';
import { readBody } from './read-body.js';
import type { RegistryClient } from './registry-client.js';
import { RegistryError } from './registry-error.js';

/** A manifest or index exactly as the registry sent it. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  /** The sha256 of `bytes` (verified against the reference when it names a digest). */
  readonly digest: Digest;
  readonly mediaType: string;
  readonly kind: 'index' | 'manifest';
  readonly document: Record<string, unknown>;
}

/** Manifests larger than this are refused (the distribution spec suggests 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * `GET /v2/<repo>/manifests/<digest|tag>` with every supported media type accepted. The body is
 * read size-capped and hashed; when fetched by digest a different hash is DIGEST_MISMATCH.
 */
export async function fetchManifest(
  client: RegistryClient,
  ref: RegistryReference,
  signal: AbortSignal,
): Promise<FetchedManifest> {
  const selector = ref.digest ?? ref.tag ?? 'latest';
  const what = `GET manifest ${ref.registry}/${ref.repository}${ref.digest ? '@' : ':'}${selector}`;
  const res = await client.request({
    method: 'GET',
    target: `/v2/${ref.repository}/manifests/${selector}`,
    headers: { accept: MANIFEST_ACCEPT },
    scopes: [`repository:${ref.repository}:pull`],
    expect: [200],
    what,
    signal,
  });
  const bytes = await readBody(res.body, MAX_MANIFEST_BYTES, 'manifest');
  const digest = sha256Digest(bytes);
  if (ref.digest && digest !== ref.digest)
    throw new RegistryError('DIGEST_MISMATCH', `${what}: the registry sent a manifest with digest ${digest}`);
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new RegistryError('PROTOCOL', `${what}: the manifest is not JSON`, { cause });
  }
  if (!isRecord(document)) throw new RegistryError('PROTOCOL', `${what}: the manifest is not a JSON object`);
  const { kind, mediaType } = manifestKind(document, res.headers['content-type']);
  return { bytes, digest, mediaType, kind, document };
}
