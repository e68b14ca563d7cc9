import { binaryPaxHeader } from './pax-header.js';
import type { TarHeader } from './tar-header.js';

/**
 * The bytes that come before an entry's content in a layer tar: the same bytes tar-stream's
 * pack writes for `header` (its defaults, its ustar encoding, its PAX header for names ustar
 * cannot hold or for `pax` records), after kiln's own binary PAX block when the entry has
 * extended attributes (as writeTarEntry writes them). Layers written before this encoder existed
 * went through tar-stream, and their diffIDs must not change: tar-encode.test.ts compares the two
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
  let name = h.name;
  let prefix = '';
  // (tar-stream's encode would add a "/" to a directory's name when given a numeric `typeflag`,
  // which pack never passes: names are taken as they are, toTarHeader adds the "/".)
  if (Buffer.byteLength(name) !== name.length) return undefined;
  while (Buffer.byteLength(name) > 100) {
    const i = name.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) return undefined;
  if (h.linkname && Buffer.byteLength(h.linkname) > 100) return undefined;
  buf.write(name);
  buf.write(octal(h.mode & 0o7777, 6), 100);
  buf.write(octal(h.uid, 6), 108);
  buf.write(octal(h.gid, 6), 116);
  writeSize(h.size, buf, 124);
  buf.write(octal((h.mtime.getTime() / 1000) | 0, 11), 136);
  buf[156] = 0x30 + typeFlag(h.type);
  if (h.linkname) buf.write(h.linkname, 157);
  buf.write('ustar\u000000', 257, 'latin1');
  if (h.uname) buf.write(h.uname, 265);
  if (h.gname) buf.write(h.gname, 297);
  buf.write(octal(h.devmajor || 0, 6), 329);
  buf.write(octal(h.devminor || 0, 6), 337);
  if (prefix) buf.write(prefix, 345);
  buf.write(octal(checksum(buf), 6), 148);
  return buf;
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

/** `n` octal digits and a space; all sevens when the value does not fit (as tar-stream does). */
function octal(value: number, n: number): string {
  const digits = value.toString(8);
  if (digits.length > n) return `${'7'.repeat(n)} `;
  return `${'0'.repeat(n - digits.length)}${digits} `;
}

/** The size field: 11 octal digits, or base-256 (GNU) past 8 GiB. */
function writeSize(size: number, buf: Buffer, at: number): void {
  if (size.toString(8).length <= 11) {
    buf.write(octal(size, 11), at);
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
function checksum(block: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += block[i] as number;
  for (let j = 156; j < 512; j++) sum += block[j] as number;
  return sum;
}

/** A PAX record with its decimal length in front (the length counts itself). */
function paxRecord(text: string): string {
  const len = Buffer.byteLength(text);
  let digits = Math.floor(Math.log(len) / Math.log(10)) + 1;
  if (len + digits >= Math.pow(10, digits)) digits++;
  return `${len + digits}${text}`;
}
