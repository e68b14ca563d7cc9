import { posix } from 'node:path';
import type { Digest, FileHeader } from '@kiln/oci';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import type { StepContext } from '../steps/step-context.js';
import type { CopyEntry } from './plan-copy.js';

/**
 * Directories above the copied entries: kept as the image has them (same mode and owner), or
 * created 0755 when missing, so the layer is complete on its own; created ones belong to
 * `owner` (`--chown`, as BuildKit's) or to root.
 */
export async function parentDirs(
  entries: readonly CopyEntry[],
  lowers: readonly Digest[],
  ctx: StepContext,
  at: { readonly location: ErrorLocation; readonly owner?: { readonly uid: number; readonly gid: number } },
): Promise<CopyEntry[]> {
  const { uid, gid } = at.owner ?? { uid: 0, gid: 0 };
  // Every ancestor of an entry, then those no entry plans. Sibling entries share a parent, and
  // climbing stops at an ancestor seen before, so a directory of 20,000 files costs one dirname
  // and one lookup in a small set per file.
  const parents = new Set<string>();
  let last: string | undefined;
  for (const e of entries) {
    const parent = parentOf(e.header.path);
    if (parent === last) continue;
    last = parent;
    for (let dir = parent; dir !== '' && !parents.has(dir); dir = parentOf(dir)) parents.add(dir);
  }
  for (const e of entries) parents.delete(e.header.path);
  const out: CopyEntry[] = [];
  for (const dir of [...parents].sort()) {
    const found: FileHeader | undefined = await ctx.snapshotter.stat(lowers, dir);
    if (found && found.type !== 'directory') {
      throw new BuilderError(
        'INVALID_INSTRUCTION',
        `cannot copy into "/${dir}": it is not a directory in the image`,
        { location: at.location },
      );
    }
    const mtime = new Date((ctx.sourceDateEpoch ?? 0) * 1000);
    out.push({
      header: found
        ? { ...found, path: dir }
        : { path: dir, type: 'directory', mode: 0o755, uid, gid, size: 0, mtime },
    });
  }
  return out;
}

/** The parent of a root-relative path ("" for a top-level name), as `posix.dirname` gives it. */
function parentOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' || dir === '/' ? '' : dir;
}
