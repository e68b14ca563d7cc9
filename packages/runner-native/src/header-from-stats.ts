import type { BigIntStats } from 'node:fs';
import { deviceNumbers, type FileHeader, type FileType } from '@kiln/oci';

/** An overlay whiteout: a character device 0/0. */
export function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

/**
 * A FileHeader for `path` from its lstat result. `linkname` is the symlink target, or for
 * `type: 'link'` the path of the first name of the inode. Size is 0 except for regular files.
 * `xattrs`, when given and not empty, are the entry's extended attributes.
 */
export function headerFromStats(
  path: string,
  st: BigIntStats,
  type: FileType,
  linkname?: string,
  xattrs?: Readonly<Record<string, Uint8Array>>,
): FileHeader {
  const devices = type === 'char-device' || type === 'block-device';
  return {
    path,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === 'file' ? Number(st.size) : 0,
    mtime: new Date(Number(st.mtimeMs)),
    ...(linkname !== undefined ? { linkname } : {}),
    ...(devices ? deviceNumbers(st.rdev) : {}),
    ...(xattrs !== undefined && Object.keys(xattrs).length > 0 ? { xattrs } : {}),
  };
}
