import { posix } from 'node:path';
import type { FileHeader } from '@kiln/oci';
import type { Copy } from '@kiln/parser';
import { MergedTree } from '@kiln/runner-native';
import { imageState, resolveLocalImage } from '../base/initial-state.js';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { cacheKey } from '../cache/cache-key.js';
import { contentDigest } from '../copy/content-digest.js';
import { matchSourcePaths } from '../copy/match-source-paths.js';
import {
  copyChanges,
  planCopy,
  resolveSource,
  type CopyEntry,
  type CopyOwnership,
} from '../copy/plan-copy.js';
import { contextTree, stageTree, type SourceTree } from '../copy/source-tree.js';
import { expansionVars, type StageState } from '../state/stage-state.js';
import { applyLayerStep } from './apply-layer-step.js';
import { expandInStage, locationOf } from './expand-in-stage.js';
import { prepareLayers } from './prepare-layers.js';
import { resolveOwnership } from './resolve-ownership.js';
import type { StepContext } from './step-context.js';

/**
 * COPY from the build context, another stage or an image: the selected files become a layer
 * directly, no sandbox needed.
 */
export async function copyInstruction(
  state: StageState,
  ins: Copy,
  ctx: StepContext,
  id: number,
): Promise<StageState> {
  const location = locationOf(ins, ctx.file);
  if (ins.kind === 'add')
    throw new BuilderError('UNSUPPORTED', 'ADD is not supported yet; use COPY', { location });
  // The parser accepts these; executing them silently without their effect would give wrong images.
  const unsupported = [
    ins.heredocs.length > 0 && 'heredoc sources (<<EOF)',
    ins.parents && '--parents',
    ins.exclude.length > 0 && '--exclude',
  ].filter((x): x is string => typeof x === 'string');
  if (unsupported.length > 0)
    throw new BuilderError('UNSUPPORTED', `COPY ${unsupported.join(', ')} not supported yet`, { location });
  const vars = expansionVars(state);
  const at = { ins, file: ctx.file, escape: ctx.escape };
  const sources = ins.sources.map((s) => expandInStage(s, vars, at));
  const destWord = expandInStage(ins.dest, vars, at);
  const dest = posix.resolve(state.config.config.WorkingDir || '/', destWord);
  const lowers = await prepareLayers(state, ctx);
  const owner = await resolveOwnership(ins, { lowers, ctx, location, vars });
  const from =
    ins.from === undefined ? undefined : await sourceStage(expandInStage(ins.from, vars, at), ctx, location);
  const tree: SourceTree = from
    ? stageTree(await MergedTree.open(ctx.snapshotter, await prepareLayers(from.state, ctx)))
    : contextTree(ctx.contextDir, ctx.contextFilter);
  const what = from ? `in ${from.label}` : 'in the build context';

  const existing = await ctx.snapshotter.stat(lowers, rel(dest));
  let destIsDir = destWord.endsWith('/') || sources.length > 1 || existing?.type === 'directory';
  const planned: CopyEntry[] = [];
  for (const source of sources) {
    const matches = await matchSourcePaths(tree, source);
    if (matches === 'escape') {
      throw new BuilderError(
        'CONTEXT_ESCAPE',
        `COPY source "${source}" is outside the ${from ? 'stage root' : 'build context'}`,
        { location },
      );
    }
    if (matches.length > 1 || matches.some((m) => m.fromWildcard)) destIsDir = true;
    const resolved = await Promise.all(
      matches.map(async (m) => ({ m, entry: await resolveSource(tree, m.rel) })),
    );
    const found = resolved.filter((r) => r.entry !== undefined);
    if (found.length === 0) {
      throw new BuilderError('COPY_SOURCE_NOT_FOUND', `COPY failed: "${source}" not found ${what}`, {
        location,
        hint: from
          ? undefined
          : 'paths are relative to the build context; check .dockerignore and the spelling',
      });
    }
    for (const { m, entry } of found) {
      if (!entry) continue;
      // A directory's contents go into dest; a file goes into dest when dest is a directory.
      const target =
        entry.header.type !== 'directory' && destIsDir ? posix.join(dest, posix.basename(m.rel)) : dest;
      planned.push(...(await planCopy(tree, entry, rel(target), owner)));
    }
  }
  const entries = [...(await parentDirs(planned, lowers, ctx, location)), ...planned];
  const contents = await contentDigest(entries, ctx.statCache);
  const fromPart = from ? `--from=${from.label} ` : '';
  const createdBy = `COPY ${fromPart}${sources.join(' ')} ${destWord} # buildkit`;
  const key = cacheKey(state.key, { step: 'COPY', createdBy, contents, source: from?.key ?? 'context' });
  return applyLayerStep(state, ctx, { id, key, createdBy, produce: (write) => write(copyChanges(entries)) });
}

/** The stage or image a `--from` names, with a label for messages and its cache key. */
async function sourceStage(
  ref: string,
  ctx: StepContext,
  location: ErrorLocation,
): Promise<{ state: StageState; label: string; key: string }> {
  const stage = ctx.fromStage?.(ref);
  if (stage) return { state: stage, label: `stage ${ref}`, key: stage.key };
  const state = imageState(
    await resolveLocalImage(ctx.store, ref, location, {
      insecure: ctx.insecureRegistries,
      signal: ctx.signal,
    }),
  );
  return { state, label: `image ${ref}`, key: state.key };
}

function rel(p: string): string {
  return p.replace(/^\/+/, '');
}

/**
 * Directories above the copied entries: kept as the image has them (same mode and owner), or
 * created root-owned 0755 when missing, so the layer is complete on its own.
 */
async function parentDirs(
  entries: readonly CopyEntry[],
  lowers: Parameters<StepContext['snapshotter']['stat']>[0],
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

export type { CopyOwnership };
