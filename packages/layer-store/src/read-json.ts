import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { hash } from 'node:crypto';
import { digestHex, type Digest } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import { blobPath, type StorePaths } from './store-paths.js';

export const DEFAULT_MAX_JSON_BYTES = 4 * 1024 * 1024;

/**
 * Reads a JSON blob, verified: BLOB_NOT_FOUND if absent, DOCUMENT_TOO_LARGE if it exceeds
 * `maxBytes` (checked before reading), BLOB_SIZE_MISMATCH if its size is not `expectedSize` (when
 * given) or changes while read, BLOB_DIGEST_MISMATCH if its bytes do not hash to `digest`,
 * INVALID_DOCUMENT if it is not JSON.
 *
 * Read in one synchronous call and hashed at once, not streamed: documents are a few KiB (at
 * most `maxBytes`), and a stream with its verifier cost a cached build several thread-pool round
 * trips per manifest and config, on its critical path.
 */
export async function readJson(
  paths: StorePaths,
  digest: Digest,
  maxBytes = DEFAULT_MAX_JSON_BYTES,
  expectedSize?: number,
): Promise<unknown> {
  const bytes = readDocument(paths, digest, { maxBytes, expectedSize });
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new LayerStoreError('INVALID_DOCUMENT', `blob ${digest} is not valid JSON`, undefined, {
      cause: err,
    });
  }
}

/**
 * The verified bytes of a small blob (a manifest to push exactly as stored): the errors of
 * readJson but INVALID_DOCUMENT. Synchronous underneath for the same reason.
 */
export function readDocument(
  paths: StorePaths,
  digest: Digest,
  limits: { readonly maxBytes: number; readonly expectedSize?: number },
): Buffer {
  let fd: number;
  try {
    fd = openSync(blobPath(paths, digest), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new LayerStoreError('BLOB_NOT_FOUND', `blob ${digest} is not in the store at ${paths.root}`);
    throw err;
  }
  let bytes: Buffer;
  try {
    const { size } = fstatSync(fd);
    if (size > limits.maxBytes)
      throw new LayerStoreError(
        'DOCUMENT_TOO_LARGE',
        `document ${digest} has ${size} bytes, more than the limit of ${limits.maxBytes}`,
      );
    if (limits.expectedSize !== undefined && size !== limits.expectedSize)
      throw new LayerStoreError(
        'BLOB_SIZE_MISMATCH',
        `blob ${digest} has ${size} bytes, expected ${limits.expectedSize}`,
      );
    // One byte of room shows a file that grew since fstat.
    bytes = Buffer.allocUnsafe(size + 1);
    let done = 0;
    for (let n; done <= size && (n = readSync(fd, bytes, done, size + 1 - done, null)) > 0;) done += n;
    if (done !== size)
      throw new LayerStoreError('BLOB_SIZE_MISMATCH', `blob ${digest} changed size while read`);
    bytes = bytes.subarray(0, size);
  } finally {
    closeSync(fd);
  }
  if (hash('sha256', bytes) !== digestHex(digest))
    throw new LayerStoreError(
      'BLOB_DIGEST_MISMATCH',
      `blob ${digest} is corrupt: its content does not match its digest`,
      'run verify() on the store; remove the damaged blob and pull or rebuild it',
    );
  return bytes;
}
