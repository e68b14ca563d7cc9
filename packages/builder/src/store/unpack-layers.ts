import { createGunzip } from 'node:zlib';
import type { Digest } from '@kiln/oci';
import type { Layer, LayerStore } from '@kiln/layer-store';
import type { Snapshotter } from '@kiln/runner-native';

/**
 * Makes sure every layer is unpacked in the snapshotter (once per diffID, shared by all builds
 * and containers): the stored blob is read, verified, gunzipped when compressed and extracted.
 * Returns the diffIDs bottom → top, ready for `prepare` or `stat`.
 */
export async function unpackLayers(
  store: LayerStore,
  snapshotter: Snapshotter,
  layers: readonly Layer[],
): Promise<Digest[]> {
  // Every RUN asks, and the layers are nearly always there: check them all at once.
  const present = await Promise.all(layers.map((l) => snapshotter.has(l.diffId)));
  for (const [i, layer] of layers.entries()) {
    if (present[i] === true) continue;
    const blob = await store.openBlob(layer.descriptor.digest);
    if (!/gzip$/.test(layer.descriptor.mediaType)) {
      await snapshotter.unpack(layer.diffId, blob);
      continue;
    }
    const tar = blob.pipe(createGunzip());
    blob.on('error', (err: Error) => tar.destroy(err));
    await snapshotter.unpack(layer.diffId, tar);
  }
  return layers.map((l) => l.diffId);
}
