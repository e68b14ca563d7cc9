import { mkdir } from 'node:fs/promises';
import type { Digest } from '@kiln/oci';
import { openLayerViews } from './layer-views.js';
import { mergeLayers } from './merge-layers.js';
import { requireRoot } from './require-root.js';
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
  const layers = await openLayerViews(snapshotter, lowers);
  await mkdir(dest, { recursive: true, mode: 0o755 });
  await mergeLayers(layers, dest);
}
