import { createHash } from 'node:crypto';
import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import tar from 'tar-stream';
import { MediaType, type Descriptor, type Digest, type FsChange } from '@kiln/oci';
import { coalesceChunks } from './coalesce-chunks.js';
import { collectLayerEntries } from './collect-layer-entries.js';
import { parallelGzip } from './parallel-gzip.js';
import { readAhead } from './read-ahead.js';
import { putBlob } from './put-blob.js';
import { tarPackChunks } from './tar-pack-chunks.js';
import type { StorePaths } from './store-paths.js';
import { writeTarEntry } from './write-tar-entry.js';

/** A stored layer: the gzip blob's descriptor and the digest of its uncompressed tar. */
export interface Layer {
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
}

export interface WriteLayerOptions {
  /** Seconds since the epoch; entry mtimes above it are clamped to it, whiteouts get it. */
  readonly sourceDateEpoch?: number;
  /**
   * Also hands the uncompressed tar, byte for byte what `diffId` digests, to this consumer (to
   * unpack it while it is written, say). It must read the stream to its end; the layer waits for
   * it (backpressure included), and its failure fails `writeLayer`.
   */
  readonly tee?: (tar: Readable) => Promise<void>;
}

/** Fixed so that the same tar always compresses to the same bytes (for a given zlib). */
const GZIP_LEVEL = 6;
/** Tar bytes are handed to hashing and gzip in pieces of this size. */
const CHUNK_BYTES = 256 * 1024;
/** Small files are read ahead, several at once, within a bounded window (see readAhead). */
const READ_AHEAD = { maxFileBytes: 256 * 1024, windowBytes: 16 * 1024 * 1024, parallel: 32 };

/**
 * Turns a changeset into a stored layer in one streaming pass: sorted, deterministic tar →
 * sha256 (diffID) → gzip on every core (parallelGzip) → blob (digest, size). Only headers are held in memory; each file's
 * content is streamed from its `open()`. The same changes give a byte-identical blob.
 */
export async function writeLayer(
  paths: StorePaths,
  changes: AsyncIterable<FsChange>,
  opts: WriteLayerOptions = {},
): Promise<Layer> {
  const entries = await collectLayerEntries(changes, opts.sourceDateEpoch);
  const pack = tar.pack();
  const diffHash = createHash('sha256');
  const teeOut = opts.tee ? new PassThrough({ highWaterMark: 4 * CHUNK_BYTES }) : undefined;
  const teeing = teeOut && opts.tee ? opts.tee(teeOut) : undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      if (teeOut && !teeOut.write(chunk)) teeOut.once('drain', () => callback(null, chunk));
      else callback(null, chunk);
    },
    flush(callback) {
      teeOut?.end();
      callback();
    },
  });
  const tarBytes = pipeline(coalesceChunks(tarPackChunks(pack), CHUNK_BYTES), tap, (err) => {
    // Failures reach putBlob through the destroyed stream, and the tee's consumer through its own.
    if (err) teeOut?.destroy(err);
  });
  const compressed = Readable.from(parallelGzip(tarBytes, GZIP_LEVEL));
  const storing = putBlob(paths, compressed);
  const producing = (async () => {
    for await (const { entry, source } of readAhead(entries, READ_AHEAD))
      await writeTarEntry(pack, entry.header, source);
    pack.finalize();
  })();
  producing.catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  if (teeing)
    teeing.catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  const [produced, stored, teed] = await Promise.allSettled([producing, storing, teeing]);
  if (teed.status === 'rejected') throw teed.reason;
  if (produced.status === 'rejected') throw produced.reason;
  if (stored.status === 'rejected') throw stored.reason;
  return {
    descriptor: { mediaType: MediaType.LayerTarGzip, digest: stored.value.digest, size: stored.value.size },
    diffId: `sha256:${diffHash.digest('hex')}` as Digest,
  };
}
