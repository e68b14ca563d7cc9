import type { Descriptor } from '@kiln/oci';
import { BlobCursor } from './blob-cursor.js';
import { blobExists } from './blob-exists.js';
import { cancelUpload } from './cancel-upload.js';
import type { ImageSource } from './blob-io.js';
import type { BlobUpload } from './blob-upload.js';
import type { RegistryClient } from './registry-client.js';
import { startUpload } from './start-upload.js';
import { uploadChunked } from './upload-chunked.js';
import { withRetry } from './with-retry.js';

export interface PushBlobOptions {
  readonly signal: AbortSignal;
  /** Blobs up to this size go in one PUT; larger ones in chunks (default 8 MiB). */
  readonly monolithicMaxBytes?: number;
  /** Bytes per PATCH of a chunked upload (default 32 MiB). */
  readonly chunkBytes?: number;
  /** Repositories of the same registry (`repo`, no host) to try a cross-repository mount from. */
  readonly mountFrom?: readonly string[];
  /**
   * Ask the registry whether the repository has the blob (`HEAD`) before anything else (default
   * true). False saves that round trip when it would most likely say no, or when a mount from
   * `mountFrom` answers it: the blob is then mounted or uploaded straight away (a declined mount
   * still asks before uploading).
   */
  readonly headFirst?: boolean;
}

/** What happened to a blob: already there, mounted from another repository, or uploaded. */
export type BlobOutcome = 'exists' | 'mounted' | 'uploaded';

export const DEFAULT_MONOLITHIC_MAX_BYTES = 8 * 1024 * 1024;
export const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;
/** Blobs up to this size are uploaded from memory when the source can read them whole. */
const BUFFERED_UPLOAD_MAX_BYTES = 1024 * 1024;

/**
 * Puts one blob into `repository` unless it is there already (`HEAD` first, unless `headFirst`
 * is false). Then, given `mountFrom`, a cross-repository mount (no bytes sent when the registry
 * agrees; when it declines and the blob turns out to be there already, the upload session it
 * opened is cancelled). Otherwise small blobs go as `POST` + one `PUT ?digest=` with the content,
 * restarted from a fresh stream on a transient failure; large ones as chunked `PATCH`es that
 * resume where the registry stopped (see `uploadChunked`). Streams from `source`, never holding a
 * blob in memory but one of at most 1 MiB that the source can `read` whole. Without the `HEAD`, a
 * mount of a blob the repository had already reports `mounted`, and an upload of one reports
 * `uploaded` (the registry keeps one copy either way).
 */
export async function pushBlob(
  client: RegistryClient,
  repository: string,
  blob: Descriptor,
  source: ImageSource,
  opts: PushBlobOptions,
): Promise<BlobOutcome> {
  const { signal } = opts;
  const up: BlobUpload = {
    client,
    repository,
    blob,
    scopes: [`repository:${repository}:pull,push`],
    signal,
    what: (verb) => `${verb} blob ${blob.digest} to ${client.registry}/${repository}`,
  };
  const headFirst = opts.headFirst ?? true;
  if (headFirst && (await blobExists(up))) return 'exists';
  const from = opts.mountFrom?.find((r) => r !== repository);
  let started = await startUpload(up, from);
  if (started.mounted) return 'mounted';
  // The mount was declined: whether the repository has the blob is still open.
  if (!headFirst && from !== undefined && (await blobExists(up))) {
    await cancelUpload(up, started.location);
    return 'exists';
  }
  const { attempts, baseDelayMs } = client.retryPolicy;
  if (blob.size > (opts.monolithicMaxBytes ?? DEFAULT_MONOLITHIC_MAX_BYTES)) {
    const cursor = new BlobCursor(() => source.open(blob.digest), up.what('read'));
    try {
      await uploadChunked(up, cursor, {
        chunkBytes: opts.chunkBytes ?? DEFAULT_CHUNK_BYTES,
        location: started.location,
        attempts,
        baseDelayMs,
      });
    } finally {
      cursor.close();
    }
    return 'uploaded';
  }
  // A small blob is read whole (verified) once and sent from memory on every attempt: a stream
  // with its verifier costs more than the bytes for a config or a one-file layer.
  const bytes =
    source.read && blob.size <= BUFFERED_UPLOAD_MAX_BYTES
      ? await source.read(blob.digest, blob.size)
      : undefined;
  await withRetry(
    async (attempt) => {
      if (attempt > 1) started = await startUpload(up);
      if (started.mounted) return;
      const location = new URL(started.location);
      location.searchParams.set('digest', blob.digest);
      const done = await client.request({
        method: 'PUT',
        target: location,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        body: bytes ?? (() => source.open(blob.digest)),
        scopes: up.scopes,
        expect: [201],
        what: up.what('upload'),
        retry: false,
        signal,
      });
      done.body.resume();
    },
    { signal, attempts, baseDelayMs },
  );
  return 'uploaded';
}
