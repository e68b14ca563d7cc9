import type { Digest } from '@kiln/oci';
import type { StageState } from '../state/stage-state.js';
import { unpackLayers } from '../store/unpack-layers.js';
import type { StepContext } from './step-context.js';

/**
 * Makes sure every layer of the stage is unpacked in the snapshotter (once per diffID, shared by
 * all builds) and returns the diffIDs bottom → top, ready for `prepare` or `stat`.
 */
export function prepareLayers(state: StageState, ctx: StepContext): Promise<Digest[]> {
  return unpackLayers(ctx.store, ctx.snapshotter, state.layers);
}
