import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { deviceNumbers, fileTypeOf, type FileHeader, type FsChange } from '@kiln/oci';

/**
 * Walks a directory tree (never following symlinks) and yields one upsert per entry below `dir`
 * in sorted order: regular files (content opened lazily), directories, symlinks, devices and
 * fifos, with their permission bits, uid/gid and mtime. Files sharing an inode become hardlinks
 * to the first path seen. Sockets are skipped (tar cannot hold them); xattrs are not read.
 */
export async function* layerChangesFromDirectory(dir: string): AsyncGenerator<FsChange> {
  const inodes = new Map<string, string>();
  yield* walk(dir, '', inodes);
}

async function* walk(root: string, rel: string, inodes: Map<string, string>): AsyncGenerator<FsChange> {
  const names = (await readdir(join(root, rel))).sort((a, b) =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)),
  );
  for (const name of names) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const abs = join(root, path);
    const st = await lstat(abs);
    const type = fileTypeOf(st);
    if (type === undefined) continue;
    const base = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0 };
    if (type === 'file') {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? inodes.get(inode) : undefined;
      if (first !== undefined) {
        yield { kind: 'upsert', header: { ...base, type: 'link', linkname: first } };
        continue;
      }
      if (st.nlink > 1) inodes.set(inode, path);
      yield {
        kind: 'upsert',
        header: { ...base, type, size: st.size },
        open: () => createReadStream(abs),
        sourcePath: abs,
      };
    } else if (type === 'symlink') {
      yield { kind: 'upsert', header: { ...base, type, linkname: await readlink(abs) } };
    } else if (type === 'char-device' || type === 'block-device') {
      const header: FileHeader = { ...base, type, ...deviceNumbers(st.rdev) };
      yield { kind: 'upsert', header };
    } else {
      yield { kind: 'upsert', header: { ...base, type } };
      if (type === 'directory') yield* walk(root, path, inodes);
    }
  }
}
