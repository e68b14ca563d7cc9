import type { HistoryEntry } from '@kiln/oci';
import { squashChanges } from '@kiln/runner-native';
import type { StageState } from '../state/stage-state.js';
import { prepareLayers } from '../steps/prepare-layers.js';
import type { StepContext } from '../steps/step-context.js';

/**
 * `--squash`: the layers the stage added on top of its base (image or earlier stage) become one
 * layer reproducing the same filesystem; the base's layers are kept as they are. As Docker does,
 * the stage's history entries stay but are marked `empty_layer`, and one entry carrying the new
 * layer is appended. A stage that added no layer is returned unchanged. Pure apart from storing
 * the layer (and unpacking the stage's layers if they are not yet).
 */
export async function squashStage(state: StageState, ctx: StepContext): Promise<StageState> {
  const base = state.base;
  if (base === undefined) throw new Error('internal: the stage has no recorded base');
  const added = state.layers.length - base.layers;
  if (added <= 0) return state;
  const lowers = await prepareLayers(state, ctx);
  const layer = await ctx.store.writeLayer(squashChanges(ctx.snapshotter, lowers, base.layers), {
    sourceDateEpoch: ctx.sourceDateEpoch,
  });
  const history: HistoryEntry[] = state.config.history.map((entry, i) =>
    i < base.history ? entry : { ...entry, empty_layer: true },
  );
  history.push({ created: ctx.created, comment: `merge ${added} layers into one (kiln build --squash)` });
  return {
    ...state,
    layers: [...state.layers.slice(0, base.layers), layer],
    config: { ...state.config, history },
  };
}
