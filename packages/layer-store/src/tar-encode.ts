import { binaryPaxHeader } from './pax-header.js';
import type { TarHeader } from './tar-header.js';

/**
 * The bytes that come before an entry's content in a layer tar: the same bytes tar-stream's
 * pack writes for `header` (its defaults, its ustar encoding, its PAX header for names ustar
 * cannot hold or for `pax` records), after kiln's own binary PAX block when the entry has
 * extended attributes (binaryPaxHeader). Layers written before this encoder existed
 * went through tar-stream, and their diffIDs must not change: tar-chunks.test.ts compares the two
 * on many kinds of headers.
 */
export function encodeEntryHeader(header: TarHeader): Buffer[] {
  if (header.xattrs !== undefined && Object.keys(header.xattrs).length > 0) {
    const pax = binaryPaxHeader(header);
    return [pax.block, ...encodeAsTarStream(pax.entry)];
  }
  return encodeAsTarStream(header);
}

/** Bytes of zeros after `size` bytes of content, up to the next 512-byte block. */
export function paddingAfter(size: number): number {
  const rest = size % 512;
  return rest === 0 ? 0 : 512 - rest;
}

/** The two zero blocks that end a tar. */
export const END_OF_TAR_BYTES = 1024;

const DEFAULT_DIR_MODE = 0o755;
const DEFAULT_FILE_MODE = 0o644;

/** tar-stream's `pack.entry` defaults, then `_encode`: ustar when it fits and no PAX is asked. */
function encodeAsTarStream(given: TarHeader): Buffer[] {
  const h = {
    ...given,
    size: !given.size || given.type === 'symlink' ? 0 : given.size,
    type: given.type ?? 'file',
    uid: given.uid || 0,
    gid: given.gid || 0,
  };
  const mode = given.mode || (h.type === 'directory' ? DEFAULT_DIR_MODE : DEFAULT_FILE_MODE);
  const fields = { ...h, mode, mtime: given.mtime ?? new Date(0) };
  if (!given.pax) {
    const plain = encodeUstar(fields);
    if (plain) return [plain];
  }
  // tar-stream's _encodePax: a 'PaxHeader' entry carrying path, linkpath and the PAX records.
  let records = '';
  if (fields.name) records += paxRecord(` path=${fields.name}\n`);
  if (fields.linkname) records += paxRecord(` linkpath=${fields.linkname}\n`);
  for (const key in given.pax ?? {}) records += paxRecord(` ${key}=${given.pax?.[key] ?? ''}\n`);
  const body = Buffer.from(records);
  const base = {
    ...fields,
    name: 'PaxHeader',
    linkname: fields.linkname ? 'PaxHeader' : fields.linkname,
  };
  const paxHead = encodeUstar({ ...base, size: body.length, type: 'pax-header' });
  const entry = encodeUstar({ ...base, size: fields.size, type: fields.type });
  if (!paxHead || !entry) throw new Error('internal: a PaxHeader entry does not fit ustar');
  return [paxHead, body, Buffer.alloc(paddingAfter(body.length)), entry];
}

interface UstarFields {
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: Date;
  readonly type: string;
  readonly linkname?: string | null;
  readonly uname?: string;
  readonly gname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
}

/** tar-stream's headers.encode: a 512-byte ustar header, or undefined when the names do not fit. */
function encodeUstar(h: UstarFields): Buffer | undefined {
  const buf = Buffer.alloc(512);
  return encodeUstarInto(h, buf, 0) ? buf : undefined;
}

/**
 * encodeUstar into `buf` at `at` (512 zero bytes there); false, writing nothing, when the names
 * do not fit.
 */
function encodeUstarInto(h: UstarFields, buf: Buffer, at: number): boolean {
  let name = h.name;
  let prefix = '';
  // (tar-stream's encode would add a "/" to a directory's name when given a numeric `typeflag`,
  // which pack never passes: names are taken as they are, toTarHeader adds the "/".)
  if (Buffer.byteLength(name) !== name.length) return false;
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (name.length > 100 || prefix.length > 155) return false;
  if (h.linkname && Buffer.byteLength(h.linkname) > 100) return false;
  buf.write(name, at);
  writeOctal(buf, at + 100, h.mode & 0o7777, 6);
  writeOctal(buf, at + 108, h.uid, 6);
  writeOctal(buf, at + 116, h.gid, 6);
  writeSize(h.size, buf, at + 124);
  writeOctal(buf, at + 136, (h.mtime.getTime() / 1000) | 0, 11);
  buf[at + 156] = 0x30 + typeFlag(h.type);
  if (h.linkname) buf.write(h.linkname, at + 157);
  buf.write('ustar\u000000', at + 257, 'latin1');
  if (h.uname) buf.write(h.uname, at + 265);
  if (h.gname) buf.write(h.gname, at + 297);
  writeOctal(buf, at + 329, h.devmajor || 0, 6);
  writeOctal(buf, at + 337, h.devminor || 0, 6);
  if (prefix) buf.write(prefix, at + 345);
  writeOctal(buf, at + 148, checksum(buf, at), 6);
  return true;
}

/**
 * The header of an entry without extended attributes or PAX records whose names fit ustar,
 * written into `buf` at `at` (512 zero bytes there) without allocating: false otherwise, and
 * encodeEntryHeader gives the bytes.
 */
export function encodeHeaderInto(header: TarHeader, buf: Buffer, at: number): boolean {
  if (header.pax !== undefined) return false;
  if (header.xattrs !== undefined && Object.keys(header.xattrs).length > 0) return false;
  const type = header.type ?? 'file';
  return encodeUstarInto(
    {
      name: header.name,
      mode: header.mode || (type === 'directory' ? DEFAULT_DIR_MODE : DEFAULT_FILE_MODE),
      uid: header.uid || 0,
      gid: header.gid || 0,
      size: !header.size || type === 'symlink' ? 0 : header.size,
      mtime: header.mtime ?? new Date(0),
      type,
      linkname: header.linkname,
      uname: header.uname,
      gname: header.gname,
      devmajor: header.devmajor,
      devminor: header.devminor,
    },
    buf,
    at,
  );
}

const TYPE_FLAGS: Readonly<Record<string, number>> = {
  file: 0,
  link: 1,
  symlink: 2,
  'character-device': 3,
  'block-device': 4,
  directory: 5,
  fifo: 6,
  'contiguous-file': 7,
  'pax-header': 72,
};

function typeFlag(type: string): number {
  return TYPE_FLAGS[type] ?? 0;
}

/**
 * `n` octal digits and a space at `at`; all sevens when the value does not fit (as tar-stream
 * does). Written digit by digit: a string per field and entry was a visible share of the garbage.
 */
function writeOctal(buf: Buffer, at: number, value: number, n: number): void {
  let v = value;
  let digits = 1;
  for (let x = Math.floor(v / 8); x > 0; x = Math.floor(x / 8)) digits++;
  if (digits > n) {
    buf.fill(0x37, at, at + n);
  } else {
    for (let i = n - 1; i >= 0; i--) {
      buf[at + i] = 0x30 + (v % 8);
      v = Math.floor(v / 8);
    }
  }
  buf[at + n] = 0x20;
}

/** The size field: 11 octal digits, or base-256 (GNU) past 8 GiB. */
function writeSize(size: number, buf: Buffer, at: number): void {
  if (size.toString(8).length <= 11) {
    writeOctal(buf, at, size, 11);
    return;
  }
  buf[at] = 0x80;
  let rest = size;
  for (let i = 11; i > 0; i--) {
    buf[at + i] = rest & 0xff;
    rest = Math.floor(rest / 0x100);
  }
}

/** The header checksum: the sum of its bytes with the checksum field taken as spaces. */
function checksum(block: Buffer, at: number): number {
  let sum = 8 * 32;
  for (let i = at; i < at + 148; i++) sum += block[i] as number;
  for (let j = at + 156; j < at + 512; j++) sum += block[j] as number;
  return sum;
}

/** A PAX record with its decimal length in front (the length counts itself). */
function paxRecord(text: string): string {
  const len = Buffer.byteLength(text);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return `${len + digits}${text}`;
}
