import { createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { deviceNumbers, fileTypeOf, type FileHeader, type FsChange } from '@kiln/oci';

/**
 * Large files are read in chunks of this size: each read is a thread-pool round trip, queued
 * behind compressions, so 64 KiB reads left the writer idle (1.4x slower on a 1 GiB file).
 */
const LARGE_FILE_CHUNK = 256 * 1024;

/** Extended attributes of a tree's entries by root-relative path (Node cannot read them itself). */
export type DirectoryXattrs = ReadonlyMap<string, Readonly<Record<string, Uint8Array>>>;

/**
 * Walks a directory tree (never following symlinks) and yields one upsert per entry below `dir`
 * in sorted order: regular files (content opened lazily), directories, symlinks, devices and
 * fifos, with their permission bits, uid/gid and mtime, and their extended attributes from
 * `xattrs` (read by the caller, e.g. with runner-native's helper). Files sharing an inode become
 * hardlinks to the first path seen (a hardlink carries no xattrs of its own). Sockets are skipped
 * (tar cannot hold them).
 */
export async function* layerChangesFromDirectory(
  dir: string,
  xattrs: DirectoryXattrs = new Map(),
): AsyncGenerator<FsChange> {
  const inodes = new Map<string, string>();
  yield* walk(dir, '', { inodes, xattrs });
}

interface WalkState {
  readonly inodes: Map<string, string>;
  readonly xattrs: DirectoryXattrs;
}

// Synchronous calls on purpose: a tree of 20,000 small files costs a thread-pool round trip per
// async lstat, and the pool is busy compressing the layer meanwhile (2x slower, measured).
async function* walk(root: string, rel: string, state: WalkState): AsyncGenerator<FsChange> {
  const { inodes } = state;
  const names = readdirSync(join(root, rel)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const abs = join(root, path);
    const st = lstatSync(abs);
    const type = fileTypeOf(st);
    if (type === undefined) continue;
    const attrs = state.xattrs.get(path);
    const base = {
      path,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime: st.mtime,
      size: 0,
      ...(attrs !== undefined && Object.keys(attrs).length > 0 ? { xattrs: attrs } : {}),
    };
    if (type === 'file') {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? inodes.get(inode) : undefined;
      if (first !== undefined) {
        const { xattrs: _ignored, ...linkBase } = base;
        yield { kind: 'upsert', header: { ...linkBase, type: 'link', linkname: first } };
        continue;
      }
      if (st.nlink > 1) inodes.set(inode, path);
      yield {
        kind: 'upsert',
        header: { ...base, type, size: st.size },
        open: () => createReadStream(abs, { highWaterMark: LARGE_FILE_CHUNK }),
        sourcePath: abs,
      };
    } else if (type === 'symlink') {
      yield { kind: 'upsert', header: { ...base, type, linkname: readlinkSync(abs) } };
    } else if (type === 'char-device' || type === 'block-device') {
      const header: FileHeader = { ...base, type, ...deviceNumbers(st.rdev) };
      yield { kind: 'upsert', header };
    } else {
      yield { kind: 'upsert', header: { ...base, type } };
      if (type === 'directory') yield* walk(root, path, state);
    }
  }
}
