import type { Header } from 'tar-stream';
import type { FileHeader, FileType } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';

/**
 * A tar-stream header with every field explicit, plus PAX records (tar-stream writes `pax`) and
 * extended attributes, which the tar writer (tar-encode.ts) writes as binary-safe `SCHILY.xattr.*`
 * PAX records.
 */
export interface TarHeader extends Header {
  readonly pax?: Readonly<Record<string, string>>;
  readonly xattrs?: Readonly<Record<string, Uint8Array>>;
}

const TAR_TYPE = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'link',
  'char-device': 'character-device',
  'block-device': 'block-device',
  fifo: 'fifo',
} as const satisfies Record<FileType, Header['type']>;

// tar-stream replaces a falsy mode with 0644/0755; the file-type bits keep mode 0 honest
// (the encoder masks them off again).
const TYPE_BITS: Record<FileType, number> = {
  file: 0o100000,
  link: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  'char-device': 0o020000,
  'block-device': 0o060000,
  fifo: 0o010000,
};

const MAX_USTAR_ID = 0o7777777;

/** Header mtime in whole seconds: clamped to `sourceDateEpoch` when given, never negative. */
export function tarMtime(mtime: Date, sourceDateEpoch?: number): Date {
  const seconds = Math.floor(mtime.getTime() / 1000);
  if (!Number.isFinite(seconds)) throw new LayerStoreError('INVALID_CHANGE', 'invalid mtime');
  const clamped = sourceDateEpoch !== undefined && seconds > sourceDateEpoch ? sourceDateEpoch : seconds;
  return new Date(Math.max(0, clamped) * 1000);
}

/**
 * The tar header for one entry, from a FileHeader whose path is already normalised. Directories
 * get a trailing "/"; xattrs and ids too large for ustar go into PAX records in sorted order.
 */
export function toTarHeader(h: FileHeader, path: string, sourceDateEpoch?: number): TarHeader {
  const pax: Record<string, string> = {};
  const xattrNames = Object.keys(h.xattrs ?? {}).sort();
  const xattrs: Record<string, Uint8Array> = {};
  for (const name of xattrNames) xattrs[name] = h.xattrs?.[name] ?? new Uint8Array();
  if (h.gid > MAX_USTAR_ID) pax.gid = String(h.gid);
  if (h.uid > MAX_USTAR_ID) pax.uid = String(h.uid);
  const isDevice = h.type === 'char-device' || h.type === 'block-device';
  return {
    name: h.type === 'directory' ? `${path}/` : path,
    mode: (h.mode & 0o7777) | TYPE_BITS[h.type],
    uid: h.uid,
    gid: h.gid,
    size: h.type === 'file' ? h.size : 0,
    mtime: tarMtime(h.mtime, sourceDateEpoch),
    type: TAR_TYPE[h.type],
    linkname: h.type === 'symlink' || h.type === 'link' ? (h.linkname ?? '') : '',
    uname: '',
    gname: '',
    devmajor: isDevice ? (h.devmajor ?? 0) : 0,
    devminor: isDevice ? (h.devminor ?? 0) : 0,
    ...(Object.keys(pax).length > 0 ? { pax } : {}),
    ...(xattrNames.length > 0 ? { xattrs } : {}),
  };
}

/** A whiteout or opaque marker: an empty regular file, 0644, root-owned, mtime fixed for determinism. */
export function whiteoutHeader(name: string, sourceDateEpoch?: number): TarHeader {
  return {
    name,
    mode: 0o644 | TYPE_BITS.file,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: new Date(Math.max(0, sourceDateEpoch ?? 0) * 1000),
    type: 'file',
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  };
}
