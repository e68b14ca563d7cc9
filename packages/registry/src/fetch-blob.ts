import { pipeline, type Readable } from 'node:stream';
import { sha256Digest, type Descriptor } from '@kiln/oci';
import { readBody } from './read-body.js';
import type { RegistryClient } from './registry-client.js';
import { RegistryError } from './registry-error.js';
import { verifyStream } from './verify-stream.js';

/**
 * Streams a blob (following redirects to storage on other hosts, without our credentials).
 * The returned stream errors before its end unless the bytes match the descriptor's size and
 * digest; the caller reads it to the end or destroys it.
 */
export async function fetchBlob(
  client: RegistryClient,
  repository: string,
  blob: Pick<Descriptor, 'digest' | 'size'>,
  signal: AbortSignal,
): Promise<Readable> {
  const res = await client.request({
    method: 'GET',
    target: `/v2/${repository}/blobs/${blob.digest}`,
    scopes: [`repository:${repository}:pull`],
    expect: [200],
    what: `GET blob ${blob.digest} of ${client.registry}/${repository}`,
    signal,
  });
  return pipeline(res.body, verifyStream(blob), () => undefined);
}

/** Fetches a small JSON blob (an image config) into memory, verified; at most `maxBytes`. */
export async function fetchSmallBlob(
  client: RegistryClient,
  repository: string,
  blob: Pick<Descriptor, 'digest' | 'size'>,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  if (blob.size > maxBytes)
    throw new RegistryError('PROTOCOL', `blob ${blob.digest} is ${blob.size} bytes, more than ${maxBytes}`);
  const stream = await fetchBlob(client, repository, blob, signal);
  const bytes = await readBody(stream, maxBytes, `blob ${blob.digest}`);
  if (sha256Digest(bytes) !== blob.digest)
    throw new RegistryError('DIGEST_MISMATCH', `blob ${blob.digest} does not match its content`);
  return bytes;
}
