import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { FileHeader, FsChange } from '@kiln/oci';
import type { FileStamp } from '../cache/stat-cache.js';
import type { ChmodFn } from './parse-chmod.js';
import { smallInt } from './small-int.js';
import type { SourceEntry, SourceTree } from './source-tree.js';

/** One entry a COPY writes: where it goes in the image and where its bytes come from. */
export interface CopyEntry {
  readonly header: FileHeader;
  /** Absolute host path of a regular file's content. */
  readonly source?: string;
  /** The stamp of `source` when it was planned, if known: its digest needs no second stat. */
  readonly stamp?: FileStamp;
  /** A regular file's content held in memory (heredoc sources). */
  readonly content?: Buffer;
  /** `dev:ino` of a source file that has other names (see SourceEntry.inode). */
  readonly inode?: string;
}

export interface CopyOwnership {
  readonly uid: number;
  readonly gid: number;
  /**
   * Keep each entry's own uid and gid instead (`COPY --from` without `--chown`: BuildKit keeps a
   * stage's or image's owners; only the build context's files become 0:0).
   */
  readonly keepOwners?: boolean;
  /** Changes the permission bits of every entry when given (`--chmod`). */
  readonly chmod?: ChmodFn;
  /** `--exclude`: whether a path below a copied directory (relative to it) is left out. */
  readonly excludes?: (relativePath: string) => boolean;
}

const MAX_SYMLINK_HOPS = 40;

/**
 * The entry a COPY source names, following symlinks (the source itself, as BuildKit does) inside
 * the tree's root: an absolute target is taken relative to the root. Undefined when dangling.
 */
export async function resolveSource(tree: SourceTree, rel: string): Promise<SourceEntry | undefined> {
  let path = rel;
  for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
    const e = await tree.entry(path);
    if (e?.header.type !== 'symlink') return e;
    const target = e.header.linkname ?? '';
    path = posix
      .normalize(target.startsWith('/') ? target : posix.join('/', posix.dirname(path), target))
      .replace(/^\/+/, '');
  }
  return undefined;
}

/**
 * Lists what copying `src` (an entry of `tree`) to the image path `dest` (root-relative) writes:
 * a file becomes `dest`; a directory's contents go below `dest`, recursively, in sorted order,
 * not the directory itself (`dest` is kept as the image has it, or created as any parent is:
 * see parentDirs); symlinks inside a directory are copied as symlinks. Ownership comes from
 * `owner` (from the source only with `keepOwners`), mtimes from the source files.
 */
export async function planCopy(
  tree: SourceTree,
  src: SourceEntry,
  dest: string,
  owner: CopyOwnership,
): Promise<CopyEntry[]> {
  const out: CopyEntry[] = [];
  if (src.header.type === 'directory') {
    if (tree.walk) await walkAtOnce(tree.walk.bind(tree), src.header.path, dest, owner, out);
    else await walk(tree, { dir: src.header.path, rel: '' }, dest, owner, out);
  } else {
    out.push(entryFor(src, dest, owner));
  }
  return out;
}

async function walk(
  tree: SourceTree,
  at: { readonly dir: string; readonly rel: string },
  dest: string,
  owner: CopyOwnership,
  out: CopyEntry[],
): Promise<void> {
  const { dir } = at;
  for (const name of await tree.list(dir)) {
    const rel = at.rel === '' ? name : `${at.rel}/${name}`;
    if (owner.excludes?.(rel)) continue;
    // `dir` and `dest` are clean relative paths and `name` has no slash: joining is concatenating.
    const e = await tree.entry(dir === '' ? name : `${dir}/${name}`);
    if (!e) continue;
    const target = dest === '' ? name : `${dest}/${name}`;
    if (e.header.type === 'directory') {
      out.push({ header: retarget(e.header, target, owner) });
      await walk(tree, { dir: e.header.path, rel }, target, owner, out);
    } else {
      out.push(entryFor(e, target, owner));
    }
  }
}

/** {@link walk} for a tree that reads a whole directory tree in one batch. */
async function walkAtOnce(
  walkTree: NonNullable<SourceTree['walk']>,
  dir: string,
  dest: string,
  owner: CopyOwnership,
  out: CopyEntry[],
): Promise<void> {
  const { excludes } = owner;
  const prefix = dir === '' ? 0 : dir.length + 1;
  for (const e of await walkTree(dir, excludes && ((rel) => !excludes(rel)))) {
    const rel = e.header.path.slice(prefix);
    const target = dest === '' ? rel : `${dest}/${rel}`;
    out.push(
      e.header.type === 'directory'
        ? { header: retarget(e.header, target, owner) }
        : entryFor(e, target, owner),
    );
  }
}

/** The header fields {@link retarget} copies; a field added to FileHeader fails to compile below. */
type CopiedField =
  | 'path'
  | 'type'
  | 'mode'
  | 'uid'
  | 'gid'
  | 'size'
  | 'mtime'
  | 'linkname'
  | 'devmajor'
  | 'devminor'
  | 'xattrs';
const everyFieldCopied: Record<Exclude<keyof FileHeader, CopiedField>, never> = {};
void everyFieldCopied;

function retarget(h: FileHeader, path: string, owner: CopyOwnership): FileHeader {
  const { type } = h;
  const mode = type === 'symlink' ? 0o777 : owner.chmod ? owner.chmod(h.mode, type === 'directory') : h.mode;
  // Field by field rather than a spread: per entry of a 20,000-file COPY, the spread was a
  // visible share of planning it.
  const out: { -readonly [K in keyof FileHeader]: FileHeader[K] } = {
    path,
    type,
    mode: smallInt(mode),
    uid: smallInt(owner.keepOwners ? h.uid : owner.uid),
    gid: smallInt(owner.keepOwners ? h.gid : owner.gid),
    size: smallInt(h.size),
    mtime: h.mtime,
  };
  if (h.linkname !== undefined) out.linkname = h.linkname;
  if (h.devmajor !== undefined) out.devmajor = h.devmajor;
  if (h.devminor !== undefined) out.devminor = h.devminor;
  if (h.xattrs !== undefined) out.xattrs = h.xattrs;
  return out;
}

function entryFor(e: SourceEntry, path: string, owner: CopyOwnership): CopyEntry {
  const header = retarget(e.header, path, owner);
  if (header.type !== 'file') return { header };
  const { hostPath: source, stamp, inode } = e;
  if (inode !== undefined) return stamp ? { header, source, stamp, inode } : { header, source, inode };
  return stamp ? { header, source, stamp } : { header, source };
}

/** The entries as a layer changeset; each file is opened only when the layer writer reads it. */
export async function* copyChanges(entries: readonly CopyEntry[]): AsyncIterable<FsChange> {
  for (const e of entries) {
    // Sockets, fifos and devices in a build context are not copied, as in BuildKit.
    if (e.header.type === 'fifo' || e.header.type === 'char-device' || e.header.type === 'block-device')
      continue;
    const { source, content } = e;
    if (source)
      yield { kind: 'upsert', header: e.header, open: () => createReadStream(source), sourcePath: source };
    else if (content) yield { kind: 'upsert', header: e.header, open: () => Readable.from([content]) };
    else yield { kind: 'upsert', header: e.header };
  }
}
