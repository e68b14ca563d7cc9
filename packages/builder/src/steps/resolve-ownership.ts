import type { Digest } from '@kiln/oci';
import type { Copy } from '@kiln/parser';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { parseChmod } from '../copy/parse-chmod.js';
import type { CopyOwnership } from '../copy/plan-copy.js';
import { expandInStage } from './expand-in-stage.js';
import { resolveUserIds } from './resolve-user-ids.js';
import type { StepContext } from './step-context.js';

/**
 * `--chown` and `--chmod` of a COPY: the owner as {@link resolveUserIds} gives it (an unknown
 * name is an error), `--chmod` octal or symbolic.
 */
export async function resolveOwnership(
  ins: Copy,
  at: {
    lowers: readonly Digest[];
    ctx: StepContext;
    location: ErrorLocation;
    vars: ReadonlyMap<string, string>;
  },
): Promise<CopyOwnership> {
  const { uid, gid } =
    ins.chown === undefined
      ? { uid: 0, gid: 0 }
      : await resolveUserIds(
          expandInStage(ins.chown, at.vars, { ins, file: at.ctx.file, escape: at.ctx.escape }),
          at,
        );
  if (ins.chmod === undefined) return { uid, gid };
  const chmod = parseChmod(
    expandInStage(ins.chmod, at.vars, { ins, file: at.ctx.file, escape: at.ctx.escape }),
  );
  if (!chmod) {
    throw new BuilderError('INVALID_INSTRUCTION', `invalid --chmod=${ins.chmod}`, {
      location: at.location,
      hint: 'use an octal mode (0755) or chmod clauses (u+x,go-w)',
    });
  }
  return { uid, gid, chmod };
}
