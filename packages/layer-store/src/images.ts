import { MediaType, type Descriptor, type Digest, type ImageConfig, type Manifest } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import { statBlob } from './open-blob.js';
import { parseImageConfig } from './parse-image-config.js';
import { parseManifest } from './parse-manifest.js';
import { putBytes } from './put-bytes.js';
import { jsonBlob } from './put-json.js';
import { readJson } from './read-json.js';
import type { StorePaths } from './store-paths.js';
import type { Layer } from './write-layer.js';

export interface Image {
  readonly manifest: Manifest;
  readonly manifestDescriptor: Descriptor;
  readonly config: ImageConfig;
}

/**
 * Stores an image: the config (its `rootfs` replaced by the layers' diffIDs, so the two cannot
 * disagree) and an OCI manifest listing the layers in order. Every layer blob must already be
 * stored (BLOB_NOT_FOUND otherwise). Idempotent: the same inputs give the same manifest digest.
 */
export async function writeImage(
  paths: StorePaths,
  config: ImageConfig,
  layers: readonly Layer[],
): Promise<Image> {
  await Promise.all(
    layers.map(async (layer) => {
      const size = await statBlob(paths, layer.descriptor.digest);
      if (size === undefined) {
        throw new LayerStoreError('BLOB_NOT_FOUND', `layer ${layer.descriptor.digest} is not in the store`);
      }
      if (size !== layer.descriptor.size) {
        throw new LayerStoreError(
          'BLOB_SIZE_MISMATCH',
          `layer ${layer.descriptor.digest} has ${size} bytes on disk`,
        );
      }
    }),
  );
  const fullConfig: ImageConfig = {
    ...config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configBlob = jsonBlob(fullConfig, MediaType.ImageConfig);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    config: configBlob.descriptor,
    layers: layers.map((l) => ({
      mediaType: l.descriptor.mediaType,
      digest: l.descriptor.digest,
      size: l.descriptor.size,
    })),
  };
  const manifestBlob = jsonBlob(manifest, MediaType.ImageManifest);
  // Both at once: nothing names the manifest until a tag does, after both are stored, so a
  // manifest stored before its config is never reachable on its own.
  await Promise.all([putBytes(paths, configBlob.bytes), putBytes(paths, manifestBlob.bytes)]);
  const manifestDescriptor = manifestBlob.descriptor;
  return { manifest, manifestDescriptor, config: fullConfig };
}

/** Reads and validates a stored image: manifest and config verified against their digests and sizes. */
export async function readImage(paths: StorePaths, manifestDigest: Digest): Promise<Image> {
  const manifest = parseManifest(await readJson(paths, manifestDigest));
  const size = (await statBlob(paths, manifestDigest)) ?? 0;
  const config = parseImageConfig(
    await readJson(paths, manifest.config.digest, undefined, manifest.config.size),
  );
  return {
    manifest,
    manifestDescriptor: {
      mediaType: manifest.mediaType ?? MediaType.ImageManifest,
      digest: manifestDigest,
      size,
    },
    config,
  };
}
