import { mkdir } from 'node:fs/promises';
import type { Digest } from '@kiln/oci';
import type { LayerView } from './lookup-path.js';
import { mergeLayers } from './merge-layers.js';
import { opaqueDirs } from './opaque-dirs.js';
import { requireRoot } from './require-root.js';
import { RunnerError } from './runner-error.js';
import type { Snapshotter } from './snapshotter.js';

/**
 * Writes the merged filesystem of `lowers` (bottom → top, all unpacked in `snapshotter`, else
 * LAYER_MISSING) into the directory `dest` exactly as a copy snapshot would: whiteouts and opaque
 * directories applied, owners, modes, times, symlinks, hardlinks and device nodes kept. `dest` is
 * created if missing; entries already there at the same paths are replaced, others are left, and
 * `dest` itself takes the attributes of the image's root. Not atomic: a failure leaves a partial tree.
 */
export async function mergeRootfs(
  snapshotter: Snapshotter,
  lowers: readonly Digest[],
  dest: string,
): Promise<void> {
  requireRoot('writing a root filesystem with its owners');
  const layers: LayerView[] = [];
  for (const diffId of lowers) {
    if (!(await snapshotter.has(diffId))) {
      throw new RunnerError('LAYER_MISSING', `layer ${diffId} is not unpacked`, 'call unpack() first');
    }
    const dir = snapshotter.layerDir(diffId);
    layers.push({ dir, opaque: await opaqueDirs(dir) });
  }
  await mkdir(dest, { recursive: true, mode: 0o755 });
  await mergeLayers(layers, dest);
}
