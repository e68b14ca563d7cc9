import { createReadStream, statSync } from 'node:fs';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import ssri from 'ssri';
import type { Digest } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import { digestToIntegrity } from './ssri-integrity.js';
import { blobPath, type StorePaths } from './store-paths.js';

/** The size of a stored blob, or undefined if it is absent. */
export async function statBlob(paths: StorePaths, digest: Digest): Promise<number | undefined> {
  try {
    // Synchronous: a stat costs microseconds, a thread-pool round trip ~0.1 ms.
    return statSync(blobPath(paths, digest)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Opens a blob for reading. The stream passes bytes through as they are read and checks them
 * with ssri; if the content does not hash to `digest` or its length is not `expectedSize`
 * (default: the file's size when opened), the stream errors with BLOB_DIGEST_MISMATCH or
 * BLOB_SIZE_MISMATCH instead of ending. Rejects with BLOB_NOT_FOUND if absent. The caller
 * consumes or destroys the stream.
 */
export async function openBlob(paths: StorePaths, digest: Digest, expectedSize?: number): Promise<Readable> {
  const size = await statBlob(paths, digest);
  if (size === undefined) {
    throw new LayerStoreError('BLOB_NOT_FOUND', `blob ${digest} is not in the store at ${paths.root}`);
  }
  if (expectedSize !== undefined && size !== expectedSize) {
    throw new LayerStoreError(
      'BLOB_SIZE_MISMATCH',
      `blob ${digest} has ${size} bytes, expected ${expectedSize}`,
    );
  }
  const check = ssri.integrityStream({ integrity: digestToIntegrity(digest), size });
  // ssri's stream is a Minipass: let it flow (we only need its verdict, emitted on end).
  check.resume();
  const verify = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      check.write(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      check.once('error', (err: unknown) => callback(toStoreError(err, digest)));
      check.once('integrity', () => callback());
      check.end();
    },
  });
  return pipeline(createReadStream(blobPath(paths, digest)), verify, () => {
    // Errors reach the consumer through `verify`, which pipeline destroys.
  });
}

function toStoreError(err: unknown, digest: Digest): LayerStoreError {
  const code = (err as { code?: unknown }).code;
  if (code === 'EBADSIZE') {
    return new LayerStoreError('BLOB_SIZE_MISMATCH', `blob ${digest} changed size while read`, undefined, {
      cause: err,
    });
  }
  return new LayerStoreError(
    'BLOB_DIGEST_MISMATCH',
    `blob ${digest} is corrupt: its content does not match its digest`,
    'run verify() on the store; remove the damaged blob and pull or rebuild it',
    { cause: err },
  );
}
