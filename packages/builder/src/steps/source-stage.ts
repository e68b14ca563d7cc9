import { imageState, resolveLocalImage } from '../base/initial-state.js';
import type { ErrorLocation } from '../builder-error.js';
import type { StageState } from '../state/stage-state.js';
import type { StepContext } from './step-context.js';

/** A stage or image a `--from` names, with a label for messages and its cache key. */
export interface SourceStage {
  readonly state: StageState;
  readonly label: string;
  readonly key: string;
}

/** The stage or image a `--from` names (a stage of this build first, else an image). */
export async function sourceStage(
  ref: string,
  ctx: StepContext,
  location: ErrorLocation,
): Promise<SourceStage> {
  const stage = ctx.fromStage?.(ref);
  if (stage) return { state: stage, label: `stage ${ref}`, key: stage.key };
  const state = imageState(
    await resolveLocalImage(ctx.store, ref, location, {
      insecure: ctx.insecureRegistries,
      caFiles: ctx.registryCaFiles,
      signal: ctx.signal,
    }),
  );
  return { state, label: `image ${ref}`, key: state.key };
}
