import { createHash } from 'node:crypto';
import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import tar from 'tar-stream';
import { MediaType, type Descriptor, type Digest, type FsChange } from '@kiln/oci';
import { coalesceChunks } from './coalesce-chunks.js';
import { gzipMemberMemo } from './gzip-member-memo.js';
import { LayerStoreError } from './layer-store-error.js';
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
  /**
   * The blob of an earlier layer likely to share much of this one (the same step's layer in the
   * last build): its gzip members are reused for equal 1 MiB blocks instead of compressing them
   * again (see gzipMemberMemo). The output bytes are the same either way.
   */
  readonly reuse?: Digest;
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
  // The consumer sees a failure through its own reading; a consumer that never read must not
  // turn it into an unhandled 'error' event.
  teeOut?.on('error', () => undefined);
  const teeing = teeOut && opts.tee ? opts.tee(teeOut) : undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      // A consumer that stopped (destroyed its stream) fails the layer; one that is slow is waited for.
      const stopped = (): LayerStoreError =>
        new LayerStoreError('WRITE_FAILED', 'the consumer of the layer tar stopped reading');
      if (teeOut?.destroyed) {
        callback(stopped());
        return;
      }
      if (!teeOut || teeOut.write(chunk)) {
        callback(null, chunk);
        return;
      }
      const onDrain = (): void => {
        teeOut.off('close', onClose);
        callback(null, chunk);
      };
      const onClose = (): void => {
        teeOut.off('drain', onDrain);
        callback(stopped());
      };
      teeOut.once('drain', onDrain);
      teeOut.once('close', onClose);
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
  const members = await gzipMemberMemo(paths, GZIP_LEVEL, opts.reuse);
  const compressed = Readable.from(parallelGzip(tarBytes, GZIP_LEVEL, { memo: members.memo }));
  const storing = putBlob(paths, compressed).finally(() => members.close());
  const producing = (async () => {
    for await (const { entry, source } of readAhead(entries, READ_AHEAD))
      await writeTarEntry(pack, entry.header, source);
    pack.finalize();
  })();
  producing.catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  if (teeing)
    teeing.catch((err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      teeOut?.destroy(error);
      pack.destroy(error);
    });
  const [produced, stored, teed] = await Promise.allSettled([producing, storing, teeing]);
  if (teed.status === 'rejected') throw teed.reason;
  if (produced.status === 'rejected') throw produced.reason;
  if (stored.status === 'rejected') throw stored.reason;
  await members.save(stored.value.digest);
  return {
    descriptor: { mediaType: MediaType.LayerTarGzip, digest: stored.value.digest, size: stored.value.size },
    diffId: `sha256:${diffHash.digest('hex')}` as Digest,
  };
}
