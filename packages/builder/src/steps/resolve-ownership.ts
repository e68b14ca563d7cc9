import type { Digest } from '@kiln/oci';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { parseChmod } from '../copy/parse-chmod.js';
import type { CopyOwnership } from '../copy/plan-copy.js';
import { resolveUserIds } from './resolve-user-ids.js';
import type { CopyRequest } from './plan-copy-step.js';
import type { StepContext } from './step-context.js';

/**
 * `--chown` and `--chmod` of a COPY (expanded): the owner as {@link resolveUserIds} gives it (an
 * unknown name is an error), `--chmod` octal or symbolic.
 */
export async function resolveOwnership(
  words: Pick<CopyRequest, 'ins' | 'chown' | 'chmod'>,
  at: { lowers: readonly Digest[]; ctx: StepContext; location: ErrorLocation },
): Promise<CopyOwnership> {
  const { uid, gid } = words.chown === undefined ? { uid: 0, gid: 0 } : await resolveUserIds(words.chown, at);
  if (words.chmod === undefined) return { uid, gid };
  const chmod = parseChmod(words.chmod);
  if (!chmod) {
    throw new BuilderError('INVALID_INSTRUCTION', `invalid --chmod=${words.ins.chmod ?? ''}`, {
      location: at.location,
      hint: 'use an octal mode (0755) or chmod clauses (u+x,go-w)',
    });
  }
  return { uid, gid, chmod };
}
