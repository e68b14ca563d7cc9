import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { MediaType, type Digest } from '@kiln/oci';
import type { LayerEntry } from './layer-entry.js';
import { gzipOneBlock } from './parallel-gzip.js';
import { putBytes } from './put-bytes.js';
import { readAhead, type ReadAheadOptions } from './read-ahead.js';
import type { StorePaths } from './store-paths.js';
import { tarChunks } from './tar-chunks.js';
import { END_OF_TAR_BYTES, paddingAfter } from './tar-encode.js';
import type { Layer, WriteLayerOptions } from './write-layer.js';

/**
 * Layers whose tar is at most this many bytes (by {@link tarBytesAtMost}) are made in memory.
 * A bound on what is held, and on the deflate done on the main thread (~1 ms at level 6).
 */
export const SMALL_TAR_BYTES = 64 * 1024;

/**
 * An upper bound of the tar of `entries`, or undefined once it passes `limit` (the rest are not
 * looked at). Per entry: its ustar header, at most two PAX headers (kiln's binary one for
 * extended attributes, tar-stream's for long names and PAX records) with their records (each
 * counted with 64 bytes of length and key overhead) and padding, and the content padded.
 */
export function tarBytesAtMost(entries: readonly LayerEntry[], limit: number): number | undefined {
  let bytes = END_OF_TAR_BYTES;
  for (const { path, header } of entries) {
    let records = 2 * path.length + (header.linkname?.length ?? 0) + 128;
    for (const [key, value] of Object.entries(header.pax ?? {})) records += key.length + value.length + 64;
    for (const [key, value] of Object.entries(header.xattrs ?? {}))
      records += key.length + value.byteLength + 64;
    const size = header.type === 'file' ? (header.size ?? 0) : 0;
    bytes += 3 * 512 + 2 * 511 + records + size + paddingAfter(size);
    if (bytes > limit) return undefined;
  }
  return bytes;
}

/**
 * writeLayer for a small layer (see SMALL_TAR_BYTES): the same tar and the same gzip bytes
 * (gzipOneBlock: what parallelGzip makes of one block), made in memory at once, and stored with
 * one write. The tee gets the tar as one chunk. A streaming pipeline with its thread-pool round
 * trips costs a one-file layer more than everything else it does.
 */
export async function writeSmallLayer(
  paths: StorePaths,
  entries: readonly LayerEntry[],
  opts: WriteLayerOptions & { readonly gzipLevel: number; readonly readAhead: ReadAheadOptions },
): Promise<Layer> {
  // The tee is called at once, as on the streaming path, and sees a failure to make the tar.
  const teeIn = opts.tee ? new PassThrough() : undefined;
  teeIn?.on('error', () => undefined);
  const teeing = teeIn && opts.tee ? opts.tee(teeIn) : undefined;
  teeing?.catch(() => undefined);
  let tar: Buffer;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of tarChunks(readAhead(entries, opts.readAhead), SMALL_TAR_BYTES))
      chunks.push(chunk);
    tar = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  } catch (error) {
    teeIn?.destroy(error instanceof Error ? error : new Error(String(error)));
    await teeing?.catch(() => undefined);
    throw error;
  }
  opts.onRead?.();
  teeIn?.end(tar);
  const storing = putBytes(paths, gzipOneBlock(tar, opts.gzipLevel));
  const [stored, teed] = await Promise.allSettled([storing, teeing]);
  if (teed.status === 'rejected') throw teed.reason;
  if (stored.status === 'rejected') throw stored.reason;
  return {
    descriptor: { mediaType: MediaType.LayerTarGzip, digest: stored.value.digest, size: stored.value.size },
    diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` as Digest,
  };
}
