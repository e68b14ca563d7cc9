import type { TarHeader } from './tar-header.js';

/**
 * A PAX extended header that kiln encodes itself, as the bytes to put before an entry, and the
 * entry's own ustar header, which then needs no PAX from tar-stream. tar-stream writes PAX values
 * as UTF-8 text, which cannot hold binary xattr values (`security.capability`), and lets no
 * body be written for a non-file entry, so the PAX block (header, records, padding) comes whole.
 * A name or link target ustar cannot hold is replaced by an ASCII stand-in in the entry header,
 * since readers take `path`/`linkpath` from the PAX records. Records come in a fixed order
 * (path, linkpath, the other PAX keys sorted, then xattrs sorted), so output is deterministic.
 */
export function binaryPaxHeader(header: TarHeader): { block: Buffer; entry: TarHeader } {
  const records: Buffer[] = [record('path', Buffer.from(header.name))];
  if (header.linkname) records.push(record('linkpath', Buffer.from(header.linkname)));
  const pax = header.pax ?? {};
  for (const key of Object.keys(pax).sort()) records.push(record(key, Buffer.from(pax[key] ?? '')));
  const xattrs = header.xattrs ?? {};
  for (const name of Object.keys(xattrs).sort()) {
    records.push(record(`SCHILY.xattr.${name}`, Buffer.from(xattrs[name] ?? new Uint8Array())));
  }
  const body = Buffer.concat(records);
  const { pax: _pax, xattrs: _xattrs, ...plain } = header;
  const name = fitsUstarName(header.name)
    ? header.name
    : standIn(header.name, 99) + (header.type === 'directory' ? '/' : '');
  const linkname =
    header.linkname && !fitsUstarLink(header.linkname)
      ? standIn(header.linkname, 100)
      : (header.linkname ?? '');
  return {
    block: Buffer.concat([
      paxUstarHeader(body.length, header.mtime ?? new Date(0)),
      body,
      Buffer.alloc(padding(body.length)),
    ]),
    entry: { ...plain, name, linkname },
  };
}

/** The 512-byte ustar header of a PAX extended header entry (typeflag 'x') with a body of `size` bytes. */
function paxUstarHeader(size: number, mtime: Date): Buffer {
  const block = Buffer.alloc(512);
  const octal = (value: number, at: number, width: number): void => {
    block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, 'latin1');
  };
  block.write('PaxHeader', 0, 'latin1');
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(Math.max(0, Math.floor(mtime.getTime() / 1000)), 136, 12);
  block.write('x', 156, 'latin1');
  block.write('ustar\x0000', 257, 'latin1');
  octal(0, 329, 8);
  octal(0, 337, 8);
  // The checksum is summed with its own field as spaces.
  block.fill(0x20, 148, 156);
  const sum = block.reduce((n, b) => n + b, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function padding(size: number): number {
  return (512 - (size % 512)) % 512;
}

/** `"<length> <key>=<value>\n"`, where the length counts the whole record, its own digits included. */
function record(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

/** Mirrors tar-stream's ustar encoder: ASCII, and ≤ 100 bytes after moving leading directories into a ≤ 155-byte prefix. */
function fitsUstarName(name: string): boolean {
  if (Buffer.byteLength(name) !== name.length) return false;
  let rest = name;
  let prefix = '';
  while (rest.length > 100) {
    const i = rest.indexOf('/');
    if (i === -1) return false;
    prefix += prefix ? `/${rest.slice(0, i)}` : rest.slice(0, i);
    rest = rest.slice(i + 1);
  }
  return prefix.length <= 155;
}

function fitsUstarLink(link: string): boolean {
  return Buffer.byteLength(link) === link.length && link.length <= 100;
}

/** The last `max` characters of `text` with everything but printable ASCII replaced by "_". */
function standIn(text: string, max: number): string {
  return text
    .replace(/\/$/, '')
    .replace(/[^\x20-\x7e]/g, '_')
    .slice(-max)
    .replace(/^\/+/, '');
}
