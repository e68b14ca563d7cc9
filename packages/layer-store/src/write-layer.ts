import { createHash } from 'node:crypto';
import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import { MediaType, type Descriptor, type Digest, type FsChange, type LayerFile } from '@kiln/oci';
import { gzipMemberMemo } from './gzip-member-memo.js';
import { LayerStoreError } from './layer-store-error.js';
import { collectLayerEntries, WHITEOUT_PREFIX } from './collect-layer-entries.js';
import { parallelGzip } from './parallel-gzip.js';
import { readAhead, type ReadyEntry } from './read-ahead.js';
import { putBlob } from './put-blob.js';
import { tarChunks } from './tar-chunks.js';
import { SMALL_TAR_BYTES, tarBytesAtMost, writeSmallLayer } from './write-small-layer.js';
import type { StorePaths } from './store-paths.js';
import type { LayerEntry } from './layer-entry.js';

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
  /**
   * With `tee`: called once with the layer's regular files that have no extended attributes, as
   * the tar records them, while the layer is being written. The paths it resolves to are files
   * the tee's consumer has already (hardlinked from an earlier layer, say): the tee then gets a
   * smaller tar, every other entry with the same header, in the same order, instead of the
   * layer's own. That tar is written from a second read of its entries (`open()` again, or the
   * host file): the caller must know that they do not change meanwhile. The layer (its blob, its
   * diffID) is the same either way.
   */
  readonly teeHas?: (files: readonly LayerFile[]) => Promise<ReadonlySet<string>>;
  /**
   * Called once every file's content has been read (for the layer's tar and the tee's own), while
   * the blob may still be compressing and storing; not called when writing fails first.
   */
  readonly onRead?: () => void;
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
 * content is streamed from its `open()`. The same changes give a byte-identical blob. A small
 * layer (a tar of at most SMALL_TAR_BYTES) is made in memory instead (writeSmallLayer), with
 * the same bytes.
 */
export async function writeLayer(
  paths: StorePaths,
  changes: AsyncIterable<FsChange>,
  opts: WriteLayerOptions = {},
): Promise<Layer> {
  const entries = await collectLayerEntries(changes, opts.sourceDateEpoch);
  // A tee with its own tar (teeHas) keeps the streaming path, which knows how to make two.
  if (!opts.teeHas && tarBytesAtMost(entries, SMALL_TAR_BYTES) !== undefined)
    return writeSmallLayer(paths, entries, { ...opts, gzipLevel: GZIP_LEVEL, readAhead: READ_AHEAD });
  const teeHas = opts.tee && opts.teeHas ? opts.teeHas(layerFiles(entries)) : undefined;
  const diffHash = createHash('sha256');
  const teeOut = opts.tee ? new PassThrough({ highWaterMark: 4 * CHUNK_BYTES }) : undefined;
  // The consumer sees a failure through its own reading; a consumer that never read must not
  // turn it into an unhandled 'error' event.
  teeOut?.on('error', () => undefined);
  const teeing = teeOut && opts.tee ? opts.tee(teeOut) : undefined;
  // The stream the tap copies the layer's tar into: the tee's, unless it gets a tar of its own.
  const mirror = teeHas ? undefined : teeOut;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      // A consumer that stopped (destroyed its stream) fails the layer; one that is slow is waited for.
      const stopped = (): LayerStoreError =>
        new LayerStoreError('WRITE_FAILED', 'the consumer of the layer tar stopped reading');
      if (mirror?.destroyed) {
        callback(stopped());
        return;
      }
      if (!mirror || mirror.write(chunk)) {
        callback(null, chunk);
        return;
      }
      const onDrain = (): void => {
        mirror.off('close', onClose);
        callback(null, chunk);
      };
      const onClose = (): void => {
        mirror.off('drain', onDrain);
        callback(stopped());
      };
      mirror.once('drain', onDrain);
      mirror.once('close', onClose);
    },
    flush(callback) {
      mirror?.end();
      callback();
    },
  });
  // The first failure of either tar's production is the one reported.
  let produceFailure: unknown;
  async function* failFirst(chunks: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    try {
      yield* chunks;
    } catch (error) {
      produceFailure ??= error;
      throw error;
    }
  }
  // onRead once both tars are produced (the tee's only when it has its own).
  let producing = teeHas && teeOut ? 2 : 1;
  async function* counted(chunks: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    yield* chunks;
    if (--producing === 0) opts.onRead?.();
  }
  const tarBytes = pipeline(
    counted(failFirst(tarChunks(readAhead(entries, READ_AHEAD), CHUNK_BYTES))),
    tap,
    (err) => {
      // Failures reach putBlob through the destroyed stream, and the tee's consumer through its own.
      if (err) teeOut?.destroy(err);
    },
  );
  if (teeHas && teeOut)
    pipeline(counted(failFirst(tarChunks(teeEntries(entries, teeHas), CHUNK_BYTES))), teeOut, (err) => {
      if (err) tap.destroy(err);
    });
  const members = await gzipMemberMemo(paths, GZIP_LEVEL, opts.reuse);
  const compressed = Readable.from(parallelGzip(tarBytes, GZIP_LEVEL, { memo: members.memo }));
  const storing = putBlob(paths, compressed).finally(() => members.close());
  if (teeing)
    teeing.catch((err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      teeOut?.destroy(error);
      tap.destroy(error);
    });
  const [stored, teed] = await Promise.allSettled([storing, teeing]);
  if (teed.status === 'rejected') throw teed.reason;
  if (produceFailure !== undefined) throw produceFailure;
  if (stored.status === 'rejected') throw stored.reason;
  await members.save(stored.value.digest);
  return {
    descriptor: { mediaType: MediaType.LayerTarGzip, digest: stored.value.digest, size: stored.value.size },
    diffId: `sha256:${diffHash.digest('hex')}` as Digest,
  };
}

/** The regular files without extended attributes that `teeHas` is offered (whiteouts are not files). */
function layerFiles(entries: readonly LayerEntry[]): LayerFile[] {
  const files: LayerFile[] = [];
  for (const { path, header } of entries) {
    if (header.type !== 'file' || (header.xattrs !== undefined && Object.keys(header.xattrs).length > 0))
      continue;
    if (path.slice(path.lastIndexOf('/') + 1).startsWith(WHITEOUT_PREFIX)) continue;
    files.push({
      path,
      mode: (header.mode ?? 0) & 0o7777,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      size: header.size ?? 0,
      mtime: Math.floor((header.mtime ?? new Date(0)).getTime() / 1000),
    });
  }
  return files;
}

/**
 * The entries the tee's consumer does not have (see WriteLayerOptions.teeHas), read a second
 * time: a small host file by the tar writer itself, else a new stream.
 */
async function* teeEntries(
  entries: readonly LayerEntry[],
  teeHas: Promise<ReadonlySet<string>>,
): AsyncGenerator<ReadyEntry> {
  const has = await teeHas;
  for (const entry of entries) {
    if (has.has(entry.path)) continue;
    const small = entry.sourcePath !== undefined && entry.header.size <= READ_AHEAD.maxFileBytes;
    if (entry.header.type === 'file' && small) yield { entry, hostFile: entry.sourcePath };
    else yield { entry, ...(entry.header.type === 'file' && entry.open ? { source: entry.open() } : {}) };
  }
}
