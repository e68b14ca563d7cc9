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
export async function extractLayer(tar: Readable, root: string): Promise<void> {
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
    for await (const entry of parser) await extractEntry(root, entry, deferred, scanner.take());
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
  deferred: Deferred,
  xattrs: TarXattrs | undefined,
): Promise<void> {
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
  const parent = await confinedDir(root, parentParts, true);
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
    await removeExisting(join(parent, hidden), false);
    deferred.whiteouts.push([...parentParts, hidden]);
    return;
  }
  const path = join(parent, name);
  await removeExisting(path, header.type === 'directory');
  await writeEntry(root, path, parts, entry, deferred);
  // A later entry of the same name replaces the earlier one's attributes; a hardlink has its target's.
  const rel = parts.join('/');
  if (xattrs !== undefined && header.type !== 'link') deferred.xattrs.set(rel, { parts, xattrs });
  else deferred.xattrs.delete(rel);
}

async function writeEntry(
  root: string,
  path: string,
  parts: string[],
  entry: Entry,
  deferred: Deferred,
): Promise<void> {
  const header = entry.header;
  const rel = parts.join('/');
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      // The parser destroys the entry when the tar ends early; a pipeline from it would never settle.
      if (entry.destroying) throw new RunnerError('UNPACK_FAILED', `layer tar ends inside "${rel}"`);
      // O_EXCL: never write through a symlink that could have appeared at this name.
      if ((header.size ?? 0) <= SMALL_FILE_BYTES) await writeSmallFile(entry, path);
      else await pipeline(entry, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
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

/** A later entry replaces an earlier one, except that a directory merges into a directory. */
async function removeExisting(path: string, isDir: boolean): Promise<void> {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined || (isDir && st.isDirectory())) return;
  await rm(path, { recursive: true, force: true });
}

/** Files up to this size are gathered in memory and written with one synchronous call. */
const SMALL_FILE_BYTES = 1024 * 1024;

/**
 * Reads a small entry to its end and writes it in one go (exclusive create, mode 0600 until
 * attributes are applied): far fewer round trips than a write stream per file.
 */
async function writeSmallFile(entry: Entry, path: string): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeFileSync(fd, Buffer.concat(chunks));
  } finally {
    closeSync(fd);
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
