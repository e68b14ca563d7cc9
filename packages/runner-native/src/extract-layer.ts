import {
  closeSync,
  createWriteStream,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { rm, lutimes } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Extract, type Header } from 'tar-stream';
import { TarXattrScanner, type TarXattrs } from '@kiln/oci';
import { applyAttributes } from './apply-attributes.js';
import { applyXattrs, type PendingXattrs } from './apply-xattrs.js';
import { confinedDir } from './confined-dir.js';
import { runHelper } from './run-helper.js';
import { RunnerError } from './runner-error.js';
import { splitEntryPath } from './split-entry-path.js';
import { userNamespace } from './user-namespace.js';

/** One tar entry: its header and a readable of its content. */
type Entry = Extract extends AsyncIterable<infer E> ? E : never;

const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

/** Optional work an extraction does besides writing the layer (see {@link extractLayer}). */
export interface ExtractOptions {
  /**
   * An older unpacked layer whose regular files may stand in for files of this one: a small file
   * whose path, bytes (`digests`, sha256 hex by root-relative path, see digest-records), owner,
   * mode, size and mtime are equal, and which has no extended attributes on either side, is
   * hardlinked from `dir` instead of written. Unpacked layers are never modified, so sharing
   * inodes between them is safe.
   */
  readonly reuse?: { readonly dir: string; readonly digests: ReadonlyMap<string, string> };
  /** Filled with the sha256 (hex) of each small regular file without extended attributes, by path. */
  readonly digests?: Map<string, string>;
}

/** Per-extraction state: the options and the directories already checked by confinedDir. */
interface Extraction {
  readonly opts: ExtractOptions;
  /** Root-relative directories known to be real directories (not symlinks) in this extraction. */
  readonly dirs: Set<string>;
  /**
   * Every root-relative path this extraction created (entries and implied parents). The root
   * starts empty, so a path not in here does not exist and needs no removal first.
   */
  readonly made: Set<string>;
}

/** What Node cannot create itself; the helper makes it in one call after the tar is read. */
interface Deferred {
  /** Root-relative components; re-checked in `finish` since later entries may have replaced a parent. */
  readonly whiteouts: string[][];
  readonly opaques: string[][];
  readonly nodes: Array<{ spec: string; parts: string[]; header: Header }>;
  /** Directory mtimes, set last because creating entries inside a directory changes its mtime. */
  readonly dirTimes: Array<{ parts: string[]; mtime: Date }>;
  /** Extended attributes by root-relative path, set last (after chown, which clears capabilities). */
  readonly xattrs: Map<string, PendingXattrs>;
}

/**
 * Extracts an uncompressed layer tar into the (fresh, empty) directory `root`, as overlayfs expects
 * a lower dir: `.wh.<name>` becomes a whiteout device, `.wh..wh..opq` an opaque directory. Nothing
 * is ever written outside `root`: absolute names and ".." are refused, every parent is resolved with
 * lstat and a symlink parent is `UNSAFE_PATH`, hardlink targets must be inside and not directories.
 * Owner, mode and mtime come from the headers. Reads `tar` to its end, or destroys it on error.
 * What is applied after the last entry (whiteouts, opaque markers, device nodes, directory
 * mtimes) is re-resolved first, because a later entry may have turned a parent into a symlink:
 * deferred nodes then fail with `UNSAFE_PATH`, and the mtime of a replaced directory is dropped.
 * Names containing NUL are `UNSAFE_PATH`; a truncated or corrupt tar is `UNPACK_FAILED`.
 * In a user namespace (rootless mode) character and block devices are skipped, since only real
 * root may create them (as rootless Docker and Podman do), and owners the namespace does not map
 * become root (see `applyAttributes`); whiteouts and fifos are created as usual.
 * PAX `SCHILY.xattr.*` records are applied last with their raw bytes (see applyXattrs): all of
 * them as root, only `user.*` otherwise; overlayfs's private names never.
 */
export async function extractLayer(tar: Readable, root: string, opts: ExtractOptions = {}): Promise<void> {
  const x: Extraction = { opts, dirs: new Set(), made: new Set() };
  const deferred: Deferred = { whiteouts: [], opaques: [], nodes: [], dirTimes: [], xattrs: new Map() };
  const parser = extract();
  // tar-stream decodes PAX values as UTF-8; the scanner keeps binary xattr values intact.
  const scanner = new TarXattrScanner();
  const scan = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      scanner.write(chunk);
      callback(null, chunk);
    },
  });
  const feeding = pipeline(tar, scan, parser);
  feeding.catch(() => undefined); // surfaced through the iterator below
  try {
    for await (const entry of parser)
      await extractEntry(root, entry, { x, deferred, xattrs: scanner.take() });
    await feeding;
  } catch (error) {
    tar.destroy();
    throw error;
  }
  await finish(root, deferred);
}

async function extractEntry(
  root: string,
  entry: Entry,
  at: { readonly x: Extraction; readonly deferred: Deferred; readonly xattrs: TarXattrs | undefined },
): Promise<void> {
  const { x, deferred, xattrs } = at;
  const header = entry.header;
  if (header.name.includes('\0') || (header.linkname ?? '').includes('\0')) {
    throw new RunnerError(
      'UNSAFE_PATH',
      `layer entry name contains a NUL byte: ${JSON.stringify(header.name)}`,
    );
  }
  const parts = splitEntryPath(header.name);
  const name = parts.at(-1);
  if (name === undefined) {
    // The root entry ("./") carries the root directory's own attributes.
    entry.resume();
    if (header.type === 'directory') {
      await applyAttributes(root, header, true);
      deferred.dirTimes.push({ parts: [], mtime: header.mtime ?? new Date(0) });
    }
    return;
  }
  const parentParts = parts.slice(0, -1);
  const parent = await knownDir(root, parentParts, x);
  if (name === OPAQUE) {
    entry.resume();
    deferred.opaques.push(parentParts);
    return;
  }
  if (name.startsWith(WHITEOUT)) {
    entry.resume();
    const hidden = name.slice(WHITEOUT.length);
    if (hidden === '' || hidden === '.' || hidden === '..') {
      throw new RunnerError('UNSAFE_PATH', `invalid whiteout "${header.name}"`);
    }
    const gone = [...parentParts, hidden];
    if (x.made.has(gone.join('/')) && (await removeExisting(join(parent, hidden), false))) forget(x, gone);
    deferred.whiteouts.push([...parentParts, hidden]);
    return;
  }
  const path = join(parent, name);
  const rel = parts.join('/');
  if (x.made.has(rel) && (await removeExisting(path, header.type === 'directory'))) forget(x, parts);
  // Whatever this entry is, an earlier entry's digest for the path no longer describes it.
  x.opts.digests?.delete(rel);
  x.made.add(rel);
  await writeEntry(root, path, parts, entry, { x, deferred, plain: xattrs === undefined });
  // A later entry of the same name replaces the earlier one's attributes; a hardlink has its target's.
  if (xattrs !== undefined && header.type !== 'link') deferred.xattrs.set(rel, { parts, xattrs });
  else deferred.xattrs.delete(rel);
}

async function writeEntry(
  root: string,
  path: string,
  parts: string[],
  entry: Entry,
  at: { readonly x: Extraction; readonly deferred: Deferred; readonly plain: boolean },
): Promise<void> {
  const { deferred } = at;
  const header = entry.header;
  const rel = parts.join('/');
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      // The parser destroys the entry when the tar ends early; a pipeline from it would never settle.
      if (entry.destroying) throw new RunnerError('UNPACK_FAILED', `layer tar ends inside "${rel}"`);
      // O_EXCL: never write through a symlink that could have appeared at this name.
      if ((header.size ?? 0) > SMALL_FILE_BYTES)
        await pipeline(entry, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
      else if (await writeSmallFile(entry, path, { rel, opts: at.x.opts, plain: at.plain })) return;
      await applyAttributes(path, header);
      return;
    case 'directory':
      entry.resume();
      try {
        mkdirSync(path);
      } catch (error) {
        ignoreExists(error);
      }
      await applyAttributes(path, header, true);
      deferred.dirTimes.push({ parts, mtime: header.mtime ?? new Date(0) });
      return;
    case 'symlink':
      entry.resume();
      symlinkSync(header.linkname ?? '', path);
      await applyAttributes(path, header);
      return;
    case 'link': {
      entry.resume();
      const targetParts = splitEntryPath(header.linkname ?? '');
      const targetName = targetParts.at(-1);
      if (targetName === undefined)
        throw new RunnerError('UNSAFE_PATH', `hardlink "${rel}" to the layer root`);
      const target = join(await confinedDir(root, targetParts.slice(0, -1), false), targetName);
      const st = lstatSync(target, { throwIfNoEntry: false });
      if (st === undefined || st.isDirectory()) {
        throw new RunnerError(
          'UNSAFE_PATH',
          `hardlink "${rel}" to missing or directory "${header.linkname ?? ''}"`,
        );
      }
      linkSync(target, path);
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      entry.resume();
      if (header.type !== 'fifo' && !userNamespace().initial) return;
      const kind = header.type === 'fifo' ? 'p' : header.type === 'block-device' ? 'b' : 'c';
      const spec = `${kind}:${header.devmajor ?? 0}:${header.devminor ?? 0}:${rel}`;
      deferred.nodes.push({ spec, parts, header });
      return;
    }
    default:
      // pax/GNU meta entries are consumed by tar-stream; anything else has no filesystem form.
      entry.resume();
  }
}

/**
 * A later entry replaces an earlier one, except that a directory merges into a directory.
 * True when something was removed.
 */
async function removeExisting(path: string, isDir: boolean): Promise<boolean> {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined || (isDir && st.isDirectory())) return false;
  await rm(path, { recursive: true, force: true });
  return true;
}

/**
 * confinedDir (creating missing parents), skipping the checks for directories this extraction
 * already made or checked: most entries share their parents. Sound because `dirs` forgets a path
 * (and everything below it) whenever the path is removed or replaced (see `forget`).
 */
async function knownDir(root: string, parts: readonly string[], x: Extraction): Promise<string> {
  const rel = parts.join('/');
  if (parts.length === 0 || x.dirs.has(rel)) return parts.length === 0 ? root : join(root, rel);
  const dir = await confinedDir(root, parts, true);
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    x.dirs.add(p);
    x.made.add(p);
  }
  return dir;
}

/**
 * Drops `parts` and everything below it from the known directories and the recorded digests: it
 * was removed or replaced.
 */
function forget(x: Extraction, parts: readonly string[]): void {
  const rel = parts.join('/');
  const below = (p: string): boolean => p === rel || p.startsWith(`${rel}/`);
  for (const d of x.dirs) if (below(d)) x.dirs.delete(d);
  const digests = x.opts.digests;
  if (digests) for (const p of digests.keys()) if (below(p)) digests.delete(p);
}

/** Files up to this size are gathered in memory and written with one synchronous call. */
const SMALL_FILE_BYTES = 1024 * 1024;

/**
 * Reads a small entry to its end and writes it in one go (exclusive create, mode 0600 until
 * attributes are applied): far fewer round trips than a write stream per file. With
 * `opts.reuse`, an equal file of the older layer is hardlinked instead (see ExtractOptions):
 * true then, and the file already has its attributes. `plain`: the entry has no xattrs.
 */
async function writeSmallFile(
  entry: Entry,
  path: string,
  at: { readonly rel: string; readonly opts: ExtractOptions; readonly plain: boolean },
): Promise<boolean> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
  const data = Buffer.concat(chunks);
  const { reuse, digests } = at.opts;
  const known = at.plain ? reuse?.digests.get(at.rel) : undefined;
  const digest =
    at.plain && (known !== undefined || digests)
      ? createHash('sha256').update(data).digest('hex')
      : undefined;
  if (digest !== undefined) digests?.set(at.rel, digest);
  if (
    reuse &&
    known !== undefined &&
    known === digest &&
    linkEqual(join(reuse.dir, at.rel), path, entry.header)
  )
    return true;
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeFileSync(fd, data);
  } finally {
    closeSync(fd);
  }
  return false;
}

/**
 * Hardlinks `candidate` (a file of an older unpacked layer) to `path` when its owner, mode, size
 * and mtime are what `header` says; false when they differ or the link fails (a full link count,
 * say), and the caller writes the file instead. Only ids are compared in a user namespace too:
 * the older layer was unpacked by the same rules.
 */
function linkEqual(candidate: string, path: string, header: Header): boolean {
  const st = lstatSync(candidate, { throwIfNoEntry: false });
  if (
    st === undefined ||
    !st.isFile() ||
    st.size !== (header.size ?? 0) ||
    (st.mode & 0o7777) !== ((header.mode ?? 0o644) & 0o7777) ||
    st.uid !== (header.uid ?? 0) ||
    st.gid !== (header.gid ?? 0) ||
    st.mtimeMs !== (header.mtime ?? new Date(0)).getTime()
  )
    return false;
  try {
    linkSync(candidate, path);
    return true;
  } catch {
    return false;
  }
}

function ignoreExists(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
}

async function finish(root: string, deferred: Deferred): Promise<void> {
  const args = ['whiteouts', '--dir', root];
  for (const w of deferred.whiteouts) {
    await confinedDir(root, w.slice(0, -1), false);
    args.push('--mknod', w.join('/'));
  }
  const nodePaths: string[] = [];
  for (const n of deferred.nodes) {
    nodePaths.push(join(await confinedDir(root, n.parts.slice(0, -1), false), n.parts.at(-1) ?? ''));
    args.push('--device', n.spec);
  }
  for (const o of deferred.opaques) {
    await confinedDir(root, o, false);
    args.push('--opaque', o.length > 0 ? o.join('/') : '.');
  }
  if (args.length > 3) await runHelper(args);
  for (const [i, n] of deferred.nodes.entries()) await applyAttributes(nodePaths[i] ?? '', n.header);
  await applyXattrs(root, deferred.xattrs);
  for (const d of deferred.dirTimes) {
    // A directory replaced later in the tar (by a file or a symlink) keeps its replacement's times.
    const dir = await confinedDir(root, d.parts, false).catch((error: unknown) => {
      if (error instanceof RunnerError) return undefined;
      throw error;
    });
    if (dir !== undefined) await lutimes(dir, d.mtime, d.mtime);
  }
}
