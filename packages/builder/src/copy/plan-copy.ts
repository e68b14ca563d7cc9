import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { FileHeader, FsChange } from '@kiln/oci';

/** One entry a COPY writes: where it goes in the image and where its bytes come from. */
export interface CopyEntry {
  readonly header: FileHeader;
  /** Absolute host path of a regular file's content. */
  readonly source?: string;
}

export interface CopyOwnership {
  readonly uid: number;
  readonly gid: number;
  /** Replaces the permission bits of every entry when given (`--chmod`). */
  readonly mode?: number;
}

/**
 * Lists what copying the host path `src` to the image path `dest` (root-relative) writes: a
 * file or symlink becomes `dest`; a directory's contents go below `dest`, recursively, in
 * sorted order. Ownership comes from `owner` (never from the host), mtimes from the host files.
 */
export async function planCopy(src: string, dest: string, owner: CopyOwnership): Promise<CopyEntry[]> {
  const out: CopyEntry[] = [];
  const st = await lstat(src);
  if (st.isDirectory()) {
    // The image root itself is never an entry of a layer.
    if (dest !== '') out.push({ header: dirHeader(dest, st.mode, st.mtime, owner) });
    await walk(src, dest, owner, out);
  } else {
    out.push(await entryFor(src, dest, owner));
  }
  return out;
}

async function walk(dir: string, dest: string, owner: CopyOwnership, out: CopyEntry[]): Promise<void> {
  for (const name of (await readdir(dir)).sort()) {
    const src = posix.join(dir, name);
    const target = dest === '' ? name : posix.join(dest, name);
    const st = await lstat(src);
    if (st.isDirectory()) {
      out.push({ header: dirHeader(target, st.mode, st.mtime, owner) });
      await walk(src, target, owner, out);
    } else {
      out.push(await entryFor(src, target, owner));
    }
  }
}

function dirHeader(path: string, mode: number, mtime: Date, owner: CopyOwnership): FileHeader {
  return {
    path,
    type: 'directory',
    mode: owner.mode ?? mode & 0o7777,
    uid: owner.uid,
    gid: owner.gid,
    size: 0,
    mtime,
  };
}

async function entryFor(src: string, path: string, owner: CopyOwnership): Promise<CopyEntry> {
  const st = await lstat(src);
  const base = { path, uid: owner.uid, gid: owner.gid, mtime: st.mtime };
  if (st.isSymbolicLink()) {
    return { header: { ...base, type: 'symlink', mode: 0o777, size: 0, linkname: await readlink(src) } };
  }
  if (st.isFile()) {
    return {
      header: { ...base, type: 'file', mode: owner.mode ?? st.mode & 0o7777, size: st.size },
      source: src,
    };
  }
  // Sockets, fifos and devices in a build context are not copied, as in BuildKit.
  return { header: { ...base, type: 'fifo', mode: st.mode & 0o7777, size: 0 } };
}

/** The entries as a layer changeset; each file is opened only when the layer writer reads it. */
export async function* copyChanges(entries: readonly CopyEntry[]): AsyncIterable<FsChange> {
  for (const e of entries) {
    if (e.header.type === 'fifo') continue;
    const source = e.source;
    yield source
      ? { kind: 'upsert', header: e.header, open: () => createReadStream(source) }
      : { kind: 'upsert', header: e.header };
  }
}
