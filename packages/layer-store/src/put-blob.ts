import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '@kiln/oci';
import { fsyncPath } from './fsync-path.js';
import { LayerStoreError } from './layer-store-error.js';
import { blobPath, type StorePaths } from './store-paths.js';
import { tempName } from './temp-name.js';

/**
 * Streams `content` into the store: a temp file under `kiln/tmp` while hashing, fsync, then an
 * atomic rename to `blobs/sha256/<hex>`. Idempotent (the same bytes land at the same name).
 * Consumes `content` to its end (or destroys it on failure). If `expected` is given and the
 * bytes hash differently, rejects with BLOB_DIGEST_MISMATCH and leaves nothing behind.
 */
export async function putBlob(
  paths: StorePaths,
  content: Readable,
  expected?: Digest,
): Promise<{ digest: Digest; size: number }> {
  const tmp = join(paths.tmp, tempName());
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  let renamed = false;
  try {
    await pipeline(content, tap, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    const digest = `sha256:${hash.digest('hex')}` as Digest;
    if (expected !== undefined && digest !== expected) {
      throw new LayerStoreError('BLOB_DIGEST_MISMATCH', `blob content is ${digest}, expected ${expected}`);
    }
    await fsyncPath(tmp);
    await rename(tmp, blobPath(paths, digest));
    renamed = true;
    await fsyncPath(paths.blobs);
    return { digest, size };
  } finally {
    // After the rename there is nothing left to remove: skip the extra file-system round trip.
    if (!renamed) await rm(tmp, { force: true });
  }
}
