import type { TarHeader } from './tar-header.js';

/** A fixed-attribute tar header for image archives: root-owned, mtime 0, so archives are deterministic. */
export function layoutHeader(name: string, size: number, type: 'file' | 'directory'): TarHeader {
  return {
    name,
    size,
    type,
    mode: type === 'directory' ? 0o40755 : 0o100644,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: new Date(0),
    linkname: '',
    devmajor: 0,
    devminor: 0,
  };
}
