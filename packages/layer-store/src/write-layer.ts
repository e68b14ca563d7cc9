import { createHash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { MediaType, type Descriptor, type Digest, type FsChange } from '@kiln/oci';
import { collectLayerEntries } from './collect-layer-entries.js';
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
}

/** Fixed so that the same tar always compresses to the same bytes (for a given zlib). */
const GZIP_LEVEL = 6;

/**
 * Turns a changeset into a stored layer in one streaming pass: sorted, deterministic tar →
 * sha256 (diffID) → gzip → blob (digest, size). Only headers are held in memory; each file's
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
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      callback(null, chunk);
    },
  });
  const compressed = pipeline(tarPackChunks(pack), tap, createGzip({ level: GZIP_LEVEL }), () => {
    // Failures reach putBlob through the destroyed gzip stream.
  });
  const storing = putBlob(paths, compressed);
  const producing = (async () => {
    for (const entry of entries) await writeTarEntry(pack, entry.header, entry.open?.());
    pack.finalize();
  })();
  producing.catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  const [produced, stored] = await Promise.allSettled([producing, storing]);
  if (produced.status === 'rejected') throw produced.reason;
  if (stored.status === 'rejected') throw stored.reason;
  return {
    descriptor: { mediaType: MediaType.LayerTarGzip, digest: stored.value.digest, size: stored.value.size },
    diffId: `sha256:${diffHash.digest('hex')}` as Digest,
  };
}
