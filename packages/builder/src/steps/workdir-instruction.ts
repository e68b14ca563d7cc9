import type { SingleValue } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';
import { cacheKey } from '../cache/cache-key.js';
import { parentDirs } from '../copy/parent-dirs.js';
import { copyChanges } from '../copy/plan-copy.js';
import { resolveInImage } from '../copy/resolve-in-image.js';
import type { StageState } from '../state/stage-state.js';
import { applyLayerStep } from './apply-layer-step.js';
import { applyMetadata } from './apply-metadata.js';
import { locationOf } from './expand-in-stage.js';
import { prepareLayers } from './prepare-layers.js';
import { resolveUserIds } from './resolve-user-ids.js';
import type { StepContext } from './step-context.js';

/**
 * WORKDIR: sets the working directory and, as BuildKit does, creates it (and missing parents,
 * 0755) in a layer of its own when the image does not have it yet. The directories it creates
 * belong to the stage's USER (resolved as COPY --chown is, an unknown name as root, like
 * BuildKit's mkdir), so `USER app` then `WORKDIR /app` gives app a directory it can write to;
 * directories the image has keep their owner.
 */
export async function workdirInstruction(
  state: StageState,
  ins: SingleValue,
  ctx: StepContext,
  id: number,
): Promise<StageState> {
  const next = applyMetadata(state, ins, ctx);
  const dir = (next.config.config.WorkingDir ?? '/').replace(/^\/+/, '');
  if (dir === '') return next;
  const lowers = await prepareLayers(state, ctx);
  const location = locationOf(ins, ctx.file);
  // Through the image's links, as a path lookup would (`/lib/app` is `usr/lib/app` on Debian).
  const { path: real, found: existing } = await resolveInImage(
    dir,
    (p) => ctx.snapshotter.stat(lowers, p),
    location,
  );
  if (real === '' || existing?.type === 'directory') return next;
  if (existing)
    throw new BuilderError('INVALID_INSTRUCTION', `WORKDIR /${dir} exists and is not a directory`, {
      location,
    });
  const anchor = {
    header: {
      path: `${real}/.`,
      type: 'file' as const,
      mode: 0,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: new Date(0),
    },
  };
  const user = next.config.config.User;
  const owner = user
    ? await resolveUserIds(user, { lowers, ctx, location, unknownAsRoot: true })
    : { uid: 0, gid: 0 };
  const dirs = await parentDirs([anchor], lowers, ctx, { location, owner });
  // The layer step records its own history entry (with a layer) in place of the metadata one.
  const withoutEntry = { ...next, config: { ...next.config, history: state.config.history } };
  const createdBy = `WORKDIR /${dir}`;
  return applyLayerStep(withoutEntry, ctx, {
    id,
    key: cacheKey(next.key, {
      step: 'WORKDIR',
      dir,
      mtime: ctx.sourceDateEpoch ?? 0,
      // Only when not root, so the keys of root-owned WORKDIR steps stay as they were.
      ...(owner.uid !== 0 || owner.gid !== 0 ? { owner } : {}),
    }),
    createdBy,
    produce: async (write) => {
      await write(copyChanges(dirs));
    },
  });
}
