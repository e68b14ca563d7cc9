import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { MediaType, sha256Digest, type Descriptor, type Digest } from '@kiln/oci';
import { getCacheRecord, putCacheRecord } from './cache-records.js';
import { writeImage, type Image } from './images.js';
import { LayerStoreError } from './layer-store-error.js';
import { openBlob, statBlob } from './open-blob.js';
import { parallelGzip } from './parallel-gzip.js';
import { parallelZstd } from './parallel-zstd.js';
import { putBlob } from './put-blob.js';
import type { StorePaths } from './store-paths.js';

/** How an exported image's layers are compressed. zstd belongs in OCI manifests only. */
export type LayerCompression = 'gzip' | 'zstd' | 'uncompressed';

const MEDIA_TYPE: Record<LayerCompression, string> = {
  gzip: MediaType.LayerTarGzip,
  zstd: MediaType.LayerTarZstd,
  uncompressed: MediaType.LayerTar,
};
const LEVEL: Record<LayerCompression, number> = { gzip: 6, zstd: 3, uncompressed: 0 };

/**
 * The same image with its layers in `compression` (same config and diffIDs, a new OCI manifest
 * stored beside the original; untagged, so GC may collect it). Layers already in that form are
 * reused. A converted blob is remembered by a cache record keyed by (diffID, algorithm, level), so
 * no layer is compressed twice; the record keeps the blob alive as cache, evictable by prune.
 * Every source layer is decompressed and its diffID checked while converting (LAYER_MISMATCH).
 */
export async function recompressImage(
  paths: StorePaths,
  image: Image,
  compression: LayerCompression,
): Promise<Image> {
  const target = MEDIA_TYPE[compression];
  if (image.manifest.layers.every((l) => l.mediaType === target)) return image;
  const layers = [];
  for (const [i, descriptor] of image.manifest.layers.entries()) {
    const diffId = image.config.rootfs.diff_ids[i];
    if (diffId === undefined)
      throw new LayerStoreError('INVALID_DOCUMENT', 'the config lists fewer diffIDs than layers');
    layers.push({ diffId, descriptor: await recompressLayer(paths, descriptor, diffId, compression) });
  }
  return writeImage(paths, image.config, layers);
}

async function recompressLayer(
  paths: StorePaths,
  source: Descriptor,
  diffId: Digest,
  compression: LayerCompression,
): Promise<Descriptor> {
  const mediaType = MEDIA_TYPE[compression];
  if (source.mediaType === mediaType) return source;
  const key = sha256Digest(`recompressed-layer\0${diffId}\0${compression}\0${LEVEL[compression]}`).slice(7);
  const known = parseRecord(await getCacheRecord(paths, key));
  if (known !== undefined && (await statBlob(paths, known.digest)) === known.size)
    return { mediaType, ...known };
  const tar = await openTar(paths, source);
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const tarBytes = tar.pipe(tap);
  tar.on('error', (err) => tap.destroy(err));
  const compressed =
    compression === 'zstd'
      ? Readable.from(parallelZstd(tarBytes, LEVEL.zstd))
      : compression === 'gzip'
        ? Readable.from(parallelGzip(tarBytes, LEVEL.gzip))
        : tarBytes;
  const stored = await putBlob(paths, compressed);
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== diffId) {
    throw new LayerStoreError(
      'LAYER_MISMATCH',
      `layer ${source.digest} holds ${actual}, but the config says ${diffId}`,
    );
  }
  await putCacheRecord(paths, key, {
    kind: 'recompressed-layer',
    diffId,
    compression,
    digest: stored.digest,
    size: stored.size,
  });
  return { mediaType, digest: stored.digest, size: stored.size };
}

/** The layer's uncompressed tar, verified against its blob digest as it is read. */
async function openTar(paths: StorePaths, source: Descriptor): Promise<Readable> {
  const blob = await openBlob(paths, source.digest, source.size);
  if (source.mediaType === MediaType.LayerTar) return blob;
  if (source.mediaType === MediaType.LayerTarGzip || source.mediaType === MediaType.DockerLayerGzip) {
    const out = new PassThrough();
    pipeline(blob, createGunzip(), out).catch((err: unknown) => out.destroy(err as Error));
    return out;
  }
  blob.destroy();
  throw new LayerStoreError(
    'INCOMPATIBLE_MEDIA_TYPE',
    `cannot recompress a layer of type ${source.mediaType}`,
  );
}

function parseRecord(doc: unknown): { digest: Digest; size: number } | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { digest, size } = doc as Record<string, unknown>;
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest) || typeof size !== 'number')
    return undefined;
  return { digest: digest as Digest, size };
}
