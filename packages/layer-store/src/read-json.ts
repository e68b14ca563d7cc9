import type { Digest } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import { openBlob, statBlob } from './open-blob.js';
import type { StorePaths } from './store-paths.js';

export const DEFAULT_MAX_JSON_BYTES = 4 * 1024 * 1024;

/**
 * Reads a JSON blob through a size-capped, verified reader: DOCUMENT_TOO_LARGE if the blob
 * exceeds `maxBytes` (checked before reading), BLOB_* errors if it is absent or corrupt,
 * INVALID_DOCUMENT if it is not JSON.
 */
export async function readJson(
  paths: StorePaths,
  digest: Digest,
  maxBytes = DEFAULT_MAX_JSON_BYTES,
  expectedSize?: number,
): Promise<unknown> {
  const size = await statBlob(paths, digest);
  if (size !== undefined && size > maxBytes) {
    throw new LayerStoreError(
      'DOCUMENT_TOO_LARGE',
      `document ${digest} has ${size} bytes, more than the limit of ${maxBytes}`,
    );
  }
  const stream = await openBlob(paths, digest, expectedSize);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      stream.destroy();
      throw new LayerStoreError('DOCUMENT_TOO_LARGE', `document ${digest} grew past ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new LayerStoreError('INVALID_DOCUMENT', `blob ${digest} is not valid JSON`, undefined, {
      cause: err,
    });
  }
}
