import { posix } from 'node:path';
import type { Digest, FsChange } from '@kiln/oci';
import { chompHeredoc, type Copy, type Heredoc } from '@kiln/parser';
import { MergedTree } from '@kiln/runner-native';
import { imageState, resolveLocalImage } from '../base/initial-state.js';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { cacheKey } from '../cache/cache-key.js';
import { archiveChanges, archiveKind, download, scratchDir, type ArchiveKind } from '../copy/add-sources.js';
import { contentDigests, fileDigest } from '../copy/content-digest.js';
import { matchSourcePaths } from '../copy/match-source-paths.js';
import { parentDirs } from '../copy/parent-dirs.js';
import {
  copyChanges,
  planCopy,
  resolveSource,
  type CopyEntry,
  type CopyOwnership,
} from '../copy/plan-copy.js';
import { contextTree, stageTree, type SourceTree } from '../copy/source-tree.js';
import { patternMatcher } from '../context/context-filter.js';
import { expansionVars, type StageState } from '../state/stage-state.js';
import { applyLayerStep } from './apply-layer-step.js';
import { expandInStage, locationOf } from './expand-in-stage.js';
import { prepareLayers } from './prepare-layers.js';
import { resolveOwnership } from './resolve-ownership.js';
import type { StepContext } from './step-context.js';

/** A local archive ADD extracts into `dest` (root-relative). */
interface PlannedArchive {
  readonly path: string;
  readonly kind: ArchiveKind;
  readonly dest: string;
}

const URL_RE = /^https?:\/\//i;

/**
 * COPY and ADD: files from the build context, another stage or an image, heredocs, and for ADD
 * also URLs (with `--checksum`) and local tar archives extracted by content. The result is one
 * layer written directly, no sandbox needed.
 */
export async function copyInstruction(
  state: StageState,
  ins: Copy,
  ctx: StepContext,
  id: number,
): Promise<StageState> {
  const location = locationOf(ins, ctx.file);
  const word = ins.kind.toUpperCase();
  // The parser accepts these; executing them silently without their effect would give wrong images.
  const unsupported = [ins.keepGitDir && '--keep-git-dir'].filter((x): x is string => typeof x === 'string');
  if (unsupported.length > 0)
    throw new BuilderError('UNSUPPORTED', `${word} ${unsupported.join(', ')} not supported yet`, {
      location,
    });
  const vars = expansionVars(state);
  const at = { ins, file: ctx.file, escape: ctx.escape };
  const sources = ins.sources.map((s) => expandInStage(s, vars, at));
  const destWord = expandInStage(ins.dest, vars, at);
  const dest = posix.resolve(state.config.config.WorkingDir || '/', destWord);
  const checksum = ins.checksum === undefined ? undefined : expandInStage(ins.checksum, vars, at);
  if (
    checksum !== undefined &&
    (!/^sha256:[0-9a-f]{64}$/.test(checksum) || !sources.every((s) => URL_RE.test(s)))
  ) {
    throw new BuilderError(
      'INVALID_INSTRUCTION',
      '--checksum takes sha256:<64 hex> and applies to URL sources only',
      { location },
    );
  }
  const lowers = await prepareLayers(state, ctx);
  const excludes =
    ins.exclude.length > 0 ? patternMatcher(ins.exclude.map((p) => expandInStage(p, vars, at))) : undefined;
  const owner = {
    ...(await resolveOwnership(ins, { lowers, ctx, location, vars })),
    ...(excludes ? { excludes } : {}),
  };
  const from =
    ins.from === undefined ? undefined : await sourceStage(expandInStage(ins.from, vars, at), ctx, location);
  const tree: SourceTree = from
    ? stageTree(await MergedTree.open(ctx.snapshotter, await prepareLayers(from.state, ctx)))
    : contextTree(ctx.contextDir, ctx.contextFilter);
  const what = from ? `in ${from.label}` : 'in the build context';
  const existing = await ctx.snapshotter.stat(lowers, rel(dest));
  // "dir/", "dir/." and "." name a directory, like a path a shell would complete.
  const namesDir = /(^|\/)\.?$/.test(destWord);
  let destIsDir = namesDir || sources.length + ins.heredocs.length > 1 || existing?.type === 'directory';
  const target = (name: string): string => rel(destIsDir ? posix.join(dest, name) : dest);

  const scratch = await scratchDir(ctx.store.root);
  try {
    const planned: CopyEntry[] = ins.heredocs.map((h) => heredocEntry(h, target(h.name), owner, vars, ctx));
    const archives: PlannedArchive[] = [];
    for (const source of sources) {
      if (ins.kind === 'add' && URL_RE.test(source)) {
        const d = await download(source, scratch.path, ctx.signal, checksum).catch((cause: unknown) => {
          throw new BuilderError(
            'COPY_SOURCE_NOT_FOUND',
            `ADD failed: ${cause instanceof Error ? cause.message : String(cause)}`,
            { location, cause },
          );
        });
        // URLs are not extracted unless --unpack=true, as in Docker.
        const kind = ins.unpack === true ? await archiveKind(d.path) : undefined;
        if (kind) archives.push({ path: d.path, kind, dest: rel(dest) });
        else {
          const header = {
            path: target(d.name),
            type: 'file' as const,
            mode: owner.chmod ? owner.chmod(0o600, false) : 0o600,
            uid: owner.uid,
            gid: owner.gid,
            size: d.size,
            mtime: d.mtime,
          };
          planned.push({ header, source: d.path });
        }
        continue;
      }
      const matches = await matchSourcePaths(tree, source);
      if (matches === 'escape') {
        throw new BuilderError(
          'CONTEXT_ESCAPE',
          `${word} source "${source}" is outside the ${from ? 'stage root' : 'build context'}`,
          { location },
        );
      }
      if (matches.length > 1 || matches.some((m) => m.fromWildcard)) destIsDir = true;
      const found = [];
      for (const m of matches) {
        if (excludes?.(posix.basename(m.rel)) || excludes?.(m.rel)) continue;
        const entry = await resolveSource(tree, m.rel);
        if (entry) found.push({ m, entry });
      }
      if (found.length === 0) {
        throw new BuilderError('COPY_SOURCE_NOT_FOUND', `${word} failed: "${source}" not found ${what}`, {
          location,
          hint: from
            ? undefined
            : 'paths are relative to the build context; check .dockerignore and the spelling',
        });
      }
      for (const { m, entry } of found) {
        const kind =
          ins.kind === 'add' && ins.unpack !== false && entry.header.type === 'file'
            ? await archiveKind(entry.hostPath)
            : undefined;
        if (kind) {
          archives.push({ path: entry.hostPath, kind, dest: rel(dest) });
          continue;
        }
        // A directory's contents go into dest; a file goes into dest when dest is a directory;
        // with --parents, both keep their path (after a `/./` marker, if any) below dest.
        const to = ins.parents
          ? posix.join(dest, parentsPath(source, m.rel))
          : entry.header.type !== 'directory' && destIsDir
            ? posix.join(dest, posix.basename(m.rel))
            : dest;
        planned.push(...(await planCopy(tree, entry, rel(to), owner)));
      }
    }
    // Archives extract into dest: its parents must exist like those of any copied entry.
    const anchors: CopyEntry[] = archives.map((a) => ({
      header: {
        path: posix.join(a.dest, '.archive'),
        type: 'file',
        mode: 0,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: new Date(0),
      },
    }));
    // concat, not spreads: spreading 20,000 entries costs milliseconds on a cold start.
    const parents = await parentDirs(planned.concat(anchors), lowers, ctx, location);
    const entries = parents.concat(planned);
    const { digest: contents, files } = await contentDigests(entries, ctx.statCache);
    const archiveDigests = await Promise.all(
      archives.map(async (a) => [a.dest, a.kind, await fileDigest(a.path, ctx.statCache)]),
    );
    const fromPart = from ? `--from=${from.label} ` : '';
    const createdBy = `${word} ${fromPart}${[...ins.heredocs.map((h) => `<<${h.name}`), ...sources].join(' ')} ${destWord} # buildkit`;
    const key = cacheKey(state.key, {
      step: word,
      createdBy,
      contents,
      archives: archiveDigests,
      source: from?.key ?? 'context',
    });
    const chown = ins.chown === undefined ? undefined : owner;
    const slot = `${ctx.stageIndex ?? 0}:${ins.range.start.line}`;
    return await applyLayerStep(state, ctx, {
      id,
      key,
      createdBy,
      explain: {
        slot,
        inputs: {
          parent: state.key,
          instruction: createdBy,
          source: from?.label ?? 'context',
          archives: archiveDigests,
          files,
        },
      },
      produce: async (write) => {
        // The layer is unpacked while it is written (the next step needs it as a lower), not
        // unpacked again from its blob; files equal to those of this step's layer in the last
        // build are hardlinked from it (a rebuild after one file of thousands changed).
        const previous = ctx.explain?.previousLayer(slot);
        const staged = await ctx.snapshotter.stage({
          ...(previous ? { reuse: previous.diffId as Digest } : {}),
          thread: bigLayer(entries),
        });
        try {
          const changes = mergeChanges([
            copyChanges(entries),
            ...archives.map((a) => archiveChanges(a, a.dest, scratch.path, chown)),
          ]);
          const layer = await write(changes, { tee: (tar) => staged.extract(tar) });
          if (layer) await staged.commit(layer.diffId);
          else await staged.discard();
        } catch (error) {
          await staged.discard();
          throw error;
        }
      },
    });
  } finally {
    await scratch.remove();
  }
}

/** A heredoc source as a file; unquoted delimiters expand `$VAR` and `${VAR}` (not quotes). */
function heredocEntry(
  h: Heredoc,
  path: string,
  owner: CopyOwnership,
  vars: ReadonlyMap<string, string>,
  ctx: StepContext,
): CopyEntry {
  const body = h.chomp ? chompHeredoc(h.content) : h.content;
  const text = h.expand
    ? body.replace(
        /\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
        (m, a?: string, b?: string) => (m === '\\$' ? '$' : (vars.get(a ?? b ?? '') ?? '')),
      )
    : body;
  const content = Buffer.from(text);
  const mtime = new Date((ctx.sourceDateEpoch ?? 0) * 1000);
  return {
    header: {
      path,
      type: 'file',
      mode: owner.chmod ? owner.chmod(0o644, false) : 0o644,
      uid: owner.uid,
      gid: owner.gid,
      size: content.length,
      mtime,
    },
    content,
  };
}

/** Several changesets as one; a later entry for the same path replaces an earlier one (archives over parents). */
async function* mergeChanges(sets: readonly AsyncIterable<FsChange>[]): AsyncIterable<FsChange> {
  const byPath = new Map<string, FsChange>();
  for (const set of sets)
    for await (const c of set) byPath.set(c.kind === 'upsert' ? c.header.path : c.path, c);
  yield* byPath.values();
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
      caFiles: ctx.registryCaFiles,
      signal: ctx.signal,
    }),
  );
  return { state, label: `image ${ref}`, key: state.key };
}

/**
 * The path `--parents` keeps for a match: all of it, or what follows the `/./` marker of the
 * source (`COPY --parents ./src/./app/*.js /dst/` puts `app/x.js` at `/dst/app/x.js`).
 */
function parentsPath(source: string, matched: string): string {
  const marker = source.indexOf('/./');
  if (marker < 0) return matched;
  const prefix = posix.normalize(`/${source.slice(0, marker)}`).slice(1);
  return prefix === '' ? matched : matched.slice(prefix.length + 1);
}

function rel(p: string): string {
  return p.replace(/^\/+/, '');
}

/** Entries or bytes past which a layer is unpacked on a worker thread (it costs ~30 ms to start). */
const THREAD_ENTRIES = 1000;
const THREAD_BYTES = 64 * 1024 * 1024;

function bigLayer(entries: readonly CopyEntry[]): boolean {
  if (entries.length >= THREAD_ENTRIES) return true;
  let bytes = 0;
  for (const e of entries) bytes += e.header.size;
  return bytes >= THREAD_BYTES;
}
