import { lstat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { FileHeader } from '@kiln/oci';
import type { Copy } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';
import { cacheKey } from '../cache/cache-key.js';
import { contentDigest } from '../copy/content-digest.js';
import { matchContextPaths } from '../copy/match-context-paths.js';
import { copyChanges, planCopy, type CopyEntry, type CopyOwnership } from '../copy/plan-copy.js';
import { expansionVars, type StageState } from '../state/stage-state.js';
import { applyLayerStep } from './apply-layer-step.js';
import { expandInStage, locationOf } from './expand-in-stage.js';
import { prepareLayers } from './prepare-layers.js';
import type { StepContext } from './step-context.js';

/** COPY from the build context: the matched files become a layer directly, no sandbox needed. */
export async function copyInstruction(
  state: StageState,
  ins: Copy,
  ctx: StepContext,
  id: number,
): Promise<StageState> {
  const location = locationOf(ins, ctx.file);
  if (ins.kind === 'add')
    throw new BuilderError('UNSUPPORTED', 'ADD is not supported yet; use COPY', { location });
  if (ins.from !== undefined)
    throw new BuilderError('UNSUPPORTED', 'COPY --from is not supported yet', { location });
  const vars = expansionVars(state);
  const at = { ins, file: ctx.file, escape: ctx.escape };
  const owner = ownership(ins, location);
  const sources = ins.sources.map((s) => expandInStage(s, vars, at));
  const destWord = expandInStage(ins.dest, vars, at);
  const dest = posix.resolve(state.config.config.WorkingDir || '/', destWord);

  const lowers = await prepareLayers(state, ctx);
  const existing = await ctx.snapshotter.stat(lowers, rel(dest));
  let destIsDir = destWord.endsWith('/') || sources.length > 1 || existing?.type === 'directory';
  const planned: CopyEntry[] = [];
  for (const source of sources) {
    const matches = await matchContextPaths(ctx.contextDir, source);
    if (matches === 'escape') {
      throw new BuilderError('CONTEXT_ESCAPE', `COPY source "${source}" is outside the build context`, {
        location,
      });
    }
    if (matches.length === 0) {
      throw new BuilderError(
        'COPY_SOURCE_NOT_FOUND',
        `COPY failed: "${source}" not found in the build context`,
        {
          location,
          hint: 'paths are relative to the build context; check .dockerignore and the spelling',
        },
      );
    }
    if (matches.length > 1 || matches.some((m) => m.fromWildcard)) destIsDir = true;
    for (const m of matches) {
      const src = posix.join(ctx.contextDir, m.rel);
      const isDir = (await lstat(src)).isDirectory();
      // A directory's contents go into dest; a file goes into dest when dest is a directory.
      const target = !isDir && destIsDir ? posix.join(dest, posix.basename(m.rel)) : dest;
      planned.push(...(await planCopy(src, rel(target), owner)));
    }
  }
  const entries = [...(await parentDirs(planned, lowers, ctx)), ...planned];
  const contents = await contentDigest(entries);
  const createdBy = `COPY ${sources.join(' ')} ${destWord} # buildkit`;
  const key = cacheKey(state.key, { step: 'COPY', createdBy, contents });
  return applyLayerStep(state, ctx, { id, key, createdBy, produce: (write) => write(copyChanges(entries)) });
}

function rel(p: string): string {
  return p.replace(/^\/+/, '');
}

function ownership(ins: Copy, location: { file: string; line: number; column: number }): CopyOwnership {
  let uid = 0;
  let gid = 0;
  if (ins.chown !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(ins.chown);
    if (!m) {
      throw new BuilderError('UNSUPPORTED', `--chown=${ins.chown}: only numeric uid[:gid] is supported yet`, {
        location,
      });
    }
    uid = Number(m[1]);
    gid = m[2] === undefined ? uid : Number(m[2]);
  }
  if (ins.chmod === undefined) return { uid, gid };
  if (!/^[0-7]{3,4}$/.test(ins.chmod)) {
    throw new BuilderError('UNSUPPORTED', `--chmod=${ins.chmod}: only octal modes are supported yet`, {
      location,
    });
  }
  return { uid, gid, mode: parseInt(ins.chmod, 8) };
}

/**
 * Directories above the copied entries: kept as the image has them (same mode and owner), or
 * created root-owned 0755 when missing, so the layer is complete on its own.
 */
async function parentDirs(
  entries: readonly CopyEntry[],
  lowers: Parameters<StepContext['snapshotter']['stat']>[0],
  ctx: StepContext,
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
