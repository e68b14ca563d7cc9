import { posix } from 'node:path';
import { chompHeredoc, type Copy, type Heredoc } from '@kiln/parser';
import { MergedTree } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { download } from '../copy/add-sources.js';
import { archiveKind, type ArchiveKind } from '../copy/archive-kind.js';
import { contentDigests, fileDigest } from '../copy/content-digest.js';
import type { ContextReads } from '../copy/context-reads.js';
import { linkHardlinks, scopeHardlinks } from '../copy/link-hardlinks.js';
import { matchSourcePaths } from '../copy/match-source-paths.js';
import { parentDirs } from '../copy/parent-dirs.js';
import { planCopy, resolveSource, type CopyEntry, type CopyOwnership } from '../copy/plan-copy.js';
import { resolveInImage } from '../copy/resolve-in-image.js';
import { contextTree, stageTree, type SourceTree } from '../copy/source-tree.js';
import { patternMatcher } from '../context/context-filter.js';
import type { StageState } from '../state/stage-state.js';
import { expandInStage } from './expand-in-stage.js';
import { prepareLayers } from './prepare-layers.js';
import { resolveOwnership } from './resolve-ownership.js';
import { sourceStage } from './source-stage.js';
import type { StepContext } from './step-context.js';

/** A local archive ADD extracts into `dest` (root-relative). */
export interface PlannedArchive {
  readonly path: string;
  readonly kind: ArchiveKind;
  readonly dest: string;
}

/** A COPY or ADD, its words expanded (see {@link planCopyStep}). */
export interface CopyRequest {
  readonly ins: Copy;
  readonly word: string;
  readonly location: ErrorLocation;
  readonly vars: ReadonlyMap<string, string>;
  readonly sources: readonly string[];
  readonly destWord: string;
  /** Absolute image path. */
  readonly dest: string;
  readonly checksum?: string;
  /** `--from`, expanded. */
  readonly from?: string;
  /** `--chown` and `--chmod`, expanded (the history text shows them too). */
  readonly chown?: string;
  readonly chmod?: string;
}

/** What a COPY writes, and the digests its cache key is made of. */
export interface PlannedCopy {
  readonly entries: readonly CopyEntry[];
  readonly archives: readonly PlannedArchive[];
  /** Owner of archive contents when `--chown` was given. */
  readonly chown?: CopyOwnership;
  readonly contents: string;
  readonly files: Readonly<Record<string, string>>;
  /** sha256 (hex) of each regular file's bytes by entry path (see ContentDigests). */
  readonly bytes: ReadonlyMap<string, string>;
  readonly archiveDigests: readonly (readonly [string, ArchiveKind, string])[];
  /** The stage or image of `--from`. */
  readonly source?: { readonly label: string; readonly key: string };
}

export const URL_RE = /^https?:\/\//i;

/**
 * Lists what a COPY/ADD writes (context files, another stage's or image's files, heredocs, URL
 * downloads into `scratch()`, local archives to extract) and digests it. Reads of the build
 * context are recorded in `reads` when given.
 */
export async function planCopyStep(
  state: StageState,
  req: CopyRequest,
  ctx: StepContext,
  io: { readonly scratch: () => Promise<string>; readonly reads?: ContextReads },
): Promise<PlannedCopy> {
  const { ins, word, location, vars, sources, destWord, checksum } = req;
  const at = { ins, file: ctx.file, escape: ctx.escape };
  const lowers = await prepareLayers(state, ctx);
  // Where the destination really is: through the image's links (`/bin` → `/usr/bin`).
  const resolved = await resolveInImage(rel(req.dest), (p) => ctx.snapshotter.stat(lowers, p), location);
  const dest = `/${resolved.path}`;
  const excludes =
    ins.exclude.length > 0 ? patternMatcher(ins.exclude.map((p) => expandInStage(p, vars, at))) : undefined;
  const from = req.from === undefined ? undefined : await sourceStage(req.from, ctx, location);
  const owner: CopyOwnership = {
    ...(await resolveOwnership(req, { lowers, ctx, location })),
    ...(excludes ? { excludes } : {}),
    ...(from && ins.chown === undefined ? { keepOwners: true } : {}),
  };
  const tree: SourceTree = from
    ? stageTree(await MergedTree.open(ctx.snapshotter, await prepareLayers(from.state, ctx)))
    : contextTree(ctx.contextDir, ctx.contextFilter, io.reads);
  const what = from ? `in ${from.label}` : 'in the build context';
  const existing = resolved.found;
  // "dir/", "dir/." and "." name a directory, like a path a shell would complete.
  const namesDir = /(^|\/)\.?$/.test(destWord);
  let destIsDir = namesDir || sources.length + ins.heredocs.length > 1 || existing?.type === 'directory';
  const target = (name: string): string => rel(destIsDir ? posix.join(dest, name) : dest);

  const planned: CopyEntry[] = ins.heredocs.map((h) => heredocEntry(h, target(h.name), owner, vars, ctx));
  const archives: PlannedArchive[] = [];
  // Directories whose contents a directory source fills: they exist after the step even when
  // the source is empty, as the image has them or created as parents are.
  const filled: string[] = [];
  for (const source of sources) {
    if (ins.kind === 'add' && URL_RE.test(source)) {
      const d = await download(source, await io.scratch(), ctx.signal, checksum).catch((cause: unknown) => {
        throw new BuilderError(
          'COPY_SOURCE_NOT_FOUND',
          `ADD failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          {
            location,
            cause,
          },
        );
      });
      // URLs are not extracted unless --unpack=true, as in Docker.
      const kind = ins.unpack === true ? await archiveKind(d.path, location) : undefined;
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
    if (matches === 'empty') continue;
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
          ? await archiveKind(entry.hostPath, location)
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
      if (entry.header.type === 'directory' && rel(to) !== '') filled.push(rel(to));
      planned.push(...scopeHardlinks(await planCopy(tree, entry, rel(to), owner), planned.length));
    }
  }
  // Archives extract into dest: it must exist like the parents of any copied entry.
  const anchors: CopyEntry[] = [...archives.map((a) => a.dest), ...filled].map((dir) => ({
    header: {
      path: posix.join(dir, '.anchor'),
      type: 'file',
      mode: 0,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: new Date(0),
    },
  }));
  // concat, not spreads: spreading 20,000 entries costs milliseconds on a cold start.
  const parents = await parentDirs(planned.concat(anchors), lowers, ctx, {
    location,
    ...(ins.chown === undefined ? {} : { owner }),
  });
  // Before digesting: hard links are part of what the COPY writes, so of its cache key.
  const entries = linkHardlinks(parents.concat(planned));
  const { digest: contents, files, bytes } = await contentDigests(entries, ctx.statCache);
  const archiveDigests = await Promise.all(
    archives.map(async (a) => [a.dest, a.kind, await fileDigest(a.path, ctx.statCache)] as const),
  );
  return {
    entries,
    archives,
    ...(ins.chown === undefined ? {} : { chown: owner }),
    contents,
    files,
    bytes,
    archiveDigests,
    ...(from ? { source: { label: from.label, key: from.key } } : {}),
  };
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

/** An image path relative to the root. */
export function rel(p: string): string {
  return p.replace(/^\/+/, '');
}
