import type { Digest } from '@kiln/oci';
import type { LayerView } from './lookup-path.js';
import { RunnerError } from './runner-error.js';
import type { Snapshotter } from './snapshotter.js';

/**
 * The unpacked layers `lowers` (bottom → top) as lookups see them: each dir with its opaque
 * directories. Every layer must be unpacked in `snapshotter` (LAYER_MISSING otherwise).
 */
export async function openLayerViews(
  snapshotter: Snapshotter,
  lowers: readonly Digest[],
): Promise<LayerView[]> {
  const layers: LayerView[] = [];
  for (const diffId of lowers) {
    if (!(await snapshotter.has(diffId))) {
      throw new RunnerError('LAYER_MISSING', `layer ${diffId} is not unpacked`, 'call unpack() first');
    }
    const dir = snapshotter.layerDir(diffId);
    layers.push({ dir, opaque: await snapshotter.opaqueDirs(diffId) });
  }
  return layers;
}
