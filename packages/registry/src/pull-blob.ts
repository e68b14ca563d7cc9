import type { Descriptor } from '@kiln/oci';
import type { BlobOrigins, BlobSink } from './blob-io.js';
import { fetchBlob } from './fetch-blob.js';
import { parseReference, type RegistryReference } from './parse-reference.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { withRetry } from './with-retry.js';

export interface PullBlobOptions extends RegistryClientOptions {
  readonly signal: AbortSignal;
  readonly client?: RegistryClient;
  /** Records the repository as the blob's origin (see `PullOptions.origins`). */
  readonly origins?: BlobOrigins;
}

/**
 * Streams one blob of the reference's repository into `sink` unless the sink already holds it
 * with the descriptor's size. The stream errors before its end on a size or digest mismatch, so
 * the sink never keeps wrong bytes; failures are retried as for `pullImage`.
 */
export async function pullBlob(
  reference: RegistryReference | string,
  blob: Pick<Descriptor, 'digest' | 'size'>,
  sink: BlobSink,
  opts: PullBlobOptions,
): Promise<void> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const client = opts.client ?? new RegistryClient(ref.registry, opts);
  if ((await sink.stat(blob.digest)) === blob.size) return;
  await withRetry(
    async () => sink.put(await fetchBlob(client, ref.repository, blob, opts.signal), blob.digest),
    { signal: opts.signal },
  );
  await opts.origins?.record(blob.digest, `${ref.registry}/${ref.repository}`).catch(() => undefined);
}
