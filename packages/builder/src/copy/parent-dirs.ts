import { posix } from 'node:path';
import type { Digest, FileHeader } from '@kiln/oci';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import type { StepContext } from '../steps/step-context.js';
import type { CopyEntry } from './plan-copy.js';

/**
 * Directories above the copied entries: kept as the image has them (same mode and owner), or
 * created root-owned 0755 when missing, so the layer is complete on its own.
 */
export async function parentDirs(
  entries: readonly CopyEntry[],
  lowers: readonly Digest[],
  ctx: StepContext,
  location: ErrorLocation,
): Promise<CopyEntry[]> {
  const planned = new Set(entries.map((e) => e.header.path));
  const parents = new Set<string>();
  for (const e of entries) {
    for (
      let dir = posix.dirname(e.header.path);
      dir !== '.' && dir !== '/' && dir !== '';
      dir = posix.dirname(dir)
    ) {
      if (!planned.has(dir)) parents.add(dir);
    }
  }
  const out: CopyEntry[] = [];
  for (const dir of [...parents].sort()) {
    const found: FileHeader | undefined = await ctx.snapshotter.stat(lowers, dir);
    if (found && found.type !== 'directory') {
      throw new BuilderError(
        'INVALID_INSTRUCTION',
        `cannot copy into "/${dir}": it is not a directory in the image`,
        { location },
      );
    }
    const mtime = new Date((ctx.sourceDateEpoch ?? 0) * 1000);
    out.push({
      header: found
        ? { ...found, path: dir }
        : { path: dir, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime },
    });
  }
  return out;
}
