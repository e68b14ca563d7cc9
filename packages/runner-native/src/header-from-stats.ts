import type { BigIntStats } from 'node:fs';
import type { FileHeader, FileType } from '@kiln/oci';

/** The layer entry type of an lstat result; undefined for sockets, which layers cannot hold. */
export function fileTypeOf(st: BigIntStats): FileType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

/** An overlay whiteout: a character device 0/0. */
export function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

/**
 * A FileHeader for `path` from its lstat result. `linkname` is the symlink target, or for
 * `type: 'link'` the path of the first name of the inode. Size is 0 except for regular files.
 */
export function headerFromStats(
  path: string,
  st: BigIntStats,
  type: FileType,
  linkname?: string,
): FileHeader {
  const devices = type === 'char-device' || type === 'block-device';
  // Linux's dev_t encoding (glibc major()/minor()), which Node leaves to us.
  const rdev = st.rdev;
  const devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return {
    path,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === 'file' ? Number(st.size) : 0,
    mtime: new Date(Number(st.mtimeMs)),
    ...(linkname !== undefined ? { linkname } : {}),
    ...(devices ? { devmajor, devminor } : {}),
  };
}
