import type { BlobCursor } from './blob-cursor.js';
import { blobExists } from './blob-exists.js';
import type { BlobUpload } from './blob-upload.js';
import { RegistryError } from './registry-error.js';
import { startUpload } from './start-upload.js';
import { uploadLocation } from './upload-location.js';
import { rangeOffset, uploadStatus } from './upload-status.js';
import { waitToRetry } from './with-retry.js';

export interface UploadChunkedOptions {
  /** Bytes per PATCH. */
  readonly chunkBytes: number;
  /** An upload session already open (by a mount request the registry declined). */
  readonly location?: URL;
  /** Failures in a row tolerated per step (default 4); any progress resets the count. */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
}

/**
 * Uploads a blob as a series of `PATCH` requests of `chunkBytes` each (`Content-Range:
 * <first>-<last>`, `Content-Length`), then an empty `PUT ?digest=`. After a failed chunk it asks
 * the registry where the session stands (`GET`, `Range`) and goes on from there, so a broken
 * connection costs at most one chunk. When the session is gone or refuses our offsets
 * (400/404/416) it checks whether the blob arrived anyway (a `PUT` whose answer was lost) and
 * otherwise starts a new session, a bounded number of times. Accepts 201 or 202 on `PATCH`.
 */
export async function uploadChunked(
  up: BlobUpload,
  cursor: BlobCursor,
  opts: UploadChunkedOptions,
): Promise<void> {
  const attempts = opts.attempts ?? 4;
  for (let restarts = 0; ; restarts++) {
    let location = opts.location;
    if (restarts > 0 || !location) {
      const started = await startUpload(up);
      if (started.mounted) return;
      location = started.location;
    }
    const lost = await sendChunks(up, cursor, location, opts);
    if (!lost) return;
    if (await blobExists(up)) return;
    if (restarts + 1 >= attempts) throw lost;
  }
}

/** Resolves undefined when the blob is stored, or with the error that lost the session. */
async function sendChunks(
  up: BlobUpload,
  cursor: BlobCursor,
  first: URL,
  opts: UploadChunkedOptions,
): Promise<RegistryError | undefined> {
  const { blob, signal } = up;
  const attempts = opts.attempts ?? 4;
  let location = first;
  let offset = 0;
  let failures = 0;
  let resync = false;
  for (;;) {
    try {
      if (resync) {
        ({ location, offset } = await uploadStatus(up, location));
        resync = false;
      }
      if (offset < blob.size) {
        const end = Math.min(blob.size, offset + opts.chunkBytes);
        const start = offset;
        const what = up.what(`upload bytes ${start}-${end - 1} of`);
        const res = await up.client.request({
          method: 'PATCH',
          target: location,
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${start}-${end - 1}`,
            'content-length': String(end - start),
          },
          body: async () => cursor.take(start, end - start),
          scopes: up.scopes,
          expect: [202, 201, 204],
          what,
          // The session has moved on if the chunk partly arrived: we resynchronise, not resend.
          retry: false,
          signal,
        });
        res.body.resume();
        location = uploadLocation(res.headers.location ?? location.href, res.url, what);
        offset = rangeOffset(res.headers.range, what) ?? end;
        if (offset !== end)
          throw new RegistryError(
            'PROTOCOL',
            `${what}: the registry holds ${offset} bytes, expected ${end}`,
            {
              retryable: true,
            },
          );
        failures = 0;
        continue;
      }
      const done = new URL(location);
      done.searchParams.set('digest', blob.digest);
      const what = up.what('finish upload of');
      const res = await up.client.request({
        method: 'PUT',
        target: done,
        scopes: up.scopes,
        expect: [201],
        what,
        retry: false,
        signal,
      });
      res.body.resume();
      const stored = res.headers['docker-content-digest'];
      if (typeof stored === 'string' && stored !== blob.digest)
        throw new RegistryError('DIGEST_MISMATCH', `${what}: the registry stored ${stored}`);
      return undefined;
    } catch (err) {
      if (!(err instanceof RegistryError) || err.code === 'CANCELLED') throw err;
      if (sessionLost(err)) return err;
      if (!err.retryable || ++failures >= attempts) throw err;
      await waitToRetry(err, failures, { signal, baseDelayMs: opts.baseDelayMs });
      resync = true;
    }
  }
}

/** The registry forgot the session or disagrees about its offset: only a new session helps. */
function sessionLost(err: RegistryError): boolean {
  return err.status === 400 || err.status === 404 || err.status === 416;
}
