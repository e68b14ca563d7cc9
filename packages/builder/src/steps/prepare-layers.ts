import { createGunzip } from 'node:zlib';
import type { Digest } from '@kiln/oci';
import type { StageState } from '../state/stage-state.js';
import type { StepContext } from './step-context.js';

/**
 * Makes sure every layer of the stage is unpacked in the snapshotter (once per diffID, shared by
 * all builds) and returns the diffIDs bottom → top, ready for `prepare` or `stat`.
 */
export async function prepareLayers(state: StageState, ctx: StepContext): Promise<Digest[]> {
  for (const layer of state.layers) {
    if (await ctx.snapshotter.has(layer.diffId)) continue;
    const blob = await ctx.store.openBlob(layer.descriptor.digest);
    if (!/gzip$/.test(layer.descriptor.mediaType)) {
      await ctx.snapshotter.unpack(layer.diffId, blob);
      continue;
    }
    const tar = blob.pipe(createGunzip());
    blob.on('error', (err: Error) => tar.destroy(err));
    await ctx.snapshotter.unpack(layer.diffId, tar);
  }
  return state.layers.map((l) => l.diffId);
}
