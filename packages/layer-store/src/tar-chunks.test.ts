import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar, { type Pack } from 'tar-stream';
import type { LayerEntry } from './layer-entry.js';
import type { ReadyEntry } from './read-ahead.js';
import { tarChunks } from './tar-chunks.js';
import type { TarHeader } from './tar-header.js';
import { binaryPaxHeader } from './pax-header.js';

// tarChunks must write the bytes tar-stream's pack wrote for kiln (each entry given to pack.entry,
// extended attributes first in kiln's binary PAX block): layers made before it keep their
// diffIDs. Both are given the same headers, of every kind kiln writes.

const T = new Date('2024-05-01T12:00:00.750Z');
const base = { uid: 0, gid: 0, mtime: T, linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0 };
const file = (name: string, size: number, extra: Partial<TarHeader> = {}): TarHeader => ({
  ...base,
  name,
  mode: 0o100644,
  size,
  type: 'file',
  ...extra,
});
const long = (n: number, seg = 'segment'): string =>
  Array.from({ length: n }, (_, i) => `${seg}${i}`).join('/');

function headers(): TarHeader[] {
  return [
    { ...base, name: 'dir/', mode: 0o40755, size: 0, type: 'directory' },
    file('dir/a.txt', 11),
    file('dir/empty', 0),
    file('setuid', 3, { mode: 0o104755, uid: 1000, gid: 50 }),
    { ...base, name: 'link', mode: 0o120777, size: 0, type: 'symlink', linkname: '../dir/a.txt' },
    { ...base, name: 'hard', mode: 0o100644, size: 0, type: 'link', linkname: 'dir/a.txt' },
    { ...base, name: 'dev/null', mode: 0o20666, size: 0, type: 'character-device', devmajor: 1, devminor: 3 },
    { ...base, name: 'fifo', mode: 0o10600, size: 0, type: 'fifo' },
    // Names ustar splits into prefix and name, and names it cannot hold (PAX path).
    file(`${long(12)}/f`, 5),
    file(`${long(40)}/g`, 5),
    file('x'.repeat(150), 5),
    { ...base, name: `${long(30)}/`, mode: 0o40700, size: 0, type: 'directory' },
    file('ünïcödé/名前.txt', 7),
    { ...base, name: 'longlink', mode: 0o120777, size: 0, type: 'symlink', linkname: long(30) },
    { ...base, name: 'utflink', mode: 0o120777, size: 0, type: 'symlink', linkname: 'ü/ß' },
    // Ids past ustar's octal fields (toTarHeader adds PAX records), and a PAX-only entry.
    file('bigid', 2, { uid: 3_000_000, gid: 4_000_000, pax: { gid: '4000000', uid: '3000000' } }),
    {
      ...base,
      name: 'bigdir/',
      mode: 0o40755,
      size: 0,
      type: 'directory',
      uid: 3_000_000,
      pax: { uid: '3000000' },
    },
    // Extended attributes: kiln's own binary PAX block, then the entry.
    file('caps', 4, {
      xattrs: {
        'security.capability': new Uint8Array([1, 0, 0, 2, 0xff, 0]),
        'user.a': new Uint8Array([65]),
      },
    }),
    file(`${long(40)}/xattr`, 1, { xattrs: { 'user.b': new Uint8Array([0]) } }),
    file('.wh.gone', 0, { mtime: new Date(0) }),
    file('big', 700_000),
    file('odd', 513),
  ];
}

function content(h: TarHeader): Buffer {
  return Buffer.alloc(h.type === 'file' ? (h.size ?? 0) : 0, h.name.length % 251);
}

/** The reference: tar-stream's pack, as kiln used it for layers before tarChunks. */
async function viaTarStream(list: readonly TarHeader[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of pack as AsyncIterable<Buffer>) out.push(chunk);
  })();
  for (const h of list) await packEntry(pack, h, h.type === 'file' ? content(h) : undefined);
  pack.finalize();
  await reading;
  return Buffer.concat(out);
}

function packEntry(pack: Pack, tarHeader: TarHeader, data?: Buffer): Promise<void> {
  let header = tarHeader;
  if (header.xattrs !== undefined && Object.keys(header.xattrs).length > 0) {
    const pax = binaryPaxHeader(header);
    pack.push(pax.block);
    header = pax.entry;
  }
  // tar-stream mutates the header it is given: hand it a copy.
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (data === undefined) pack.entry({ ...header }, done);
    else pack.entry({ ...header }, data, done);
  });
}

async function viaTarChunks(
  list: readonly TarHeader[],
  ready: (h: TarHeader) => ReadyEntry,
): Promise<Buffer> {
  const out: Buffer[] = [];
  async function* entries(): AsyncGenerator<ReadyEntry> {
    for (const h of list) yield ready(h);
  }
  for await (const chunk of tarChunks(entries(), 4096)) {
    expect(chunk.length).toBeLessThanOrEqual(4096);
    out.push(chunk);
  }
  return Buffer.concat(out);
}

const entryOf = (h: TarHeader): LayerEntry => ({ path: h.name, key: Buffer.from(h.name), header: h });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-tar-chunks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the same bytes as tar-stream, content given as Buffers', async () => {
  const list = headers();
  const want = await viaTarStream(list);
  const got = await viaTarChunks(list, (h) => ({
    entry: entryOf(h),
    ...(h.type === 'file' ? { source: content(h) } : {}),
  }));
  expect(got.length).toBe(want.length);
  expect(got.equals(want)).toBe(true);
});

test('the same bytes with content streamed or read from host files', async () => {
  const list = headers();
  const want = await viaTarStream(list);
  const paths = new Map<string, string>();
  for (const [i, h] of list.entries())
    if (h.type === 'file') {
      const path = join(dir, `f${i}`);
      await writeFile(path, content(h));
      paths.set(h.name, path);
    }
  const got = await viaTarChunks(list, (h) => {
    if (h.type !== 'file') return { entry: entryOf(h) };
    // Every other file from the host, the rest streamed in small pieces.
    const path = paths.get(h.name) as string;
    return (h.size ?? 0) % 2 === 1
      ? { entry: entryOf(h), hostFile: path }
      : { entry: entryOf(h), source: Readable.from([content(h).subarray(0, 100), content(h).subarray(100)]) };
  });
  expect(got.equals(want)).toBe(true);
});

test('a file shorter or longer than its header is FILE_SIZE_MISMATCH', async () => {
  const path = join(dir, 'short');
  await writeFile(path, 'abc');
  const h = file('short', 5);
  await expect(viaTarChunks([h], () => ({ entry: entryOf(h), hostFile: path }))).rejects.toMatchObject({
    code: 'FILE_SIZE_MISMATCH',
  });
  const g = file('long', 2);
  await expect(viaTarChunks([g], () => ({ entry: entryOf(g), hostFile: path }))).rejects.toMatchObject({
    code: 'FILE_SIZE_MISMATCH',
  });
  await expect(
    viaTarChunks([g], () => ({ entry: entryOf(g), source: Readable.from([Buffer.from('abc')]) })),
  ).rejects.toMatchObject({ code: 'FILE_SIZE_MISMATCH' });
});

test('a host file one byte longer than its header is caught where it ends in a chunk and at a chunk end', async () => {
  // Chunks of 4096 bytes: after its 512-byte header, a 3584-byte file ends exactly at the chunk's
  // end (no room for the byte too many), a 3000-byte one leaves room.
  for (const size of [3584, 3000, 6000]) {
    const path = join(dir, `exact-${size}`);
    const h = file(`exact-${size}`, size);
    await writeFile(path, content(h));
    const got = await viaTarChunks([h], () => ({ entry: entryOf(h), hostFile: path }));
    expect(got.equals(await viaTarStream([h]))).toBe(true);
    await writeFile(path, Buffer.concat([content(h), Buffer.from('+')]));
    await expect(viaTarChunks([h], () => ({ entry: entryOf(h), hostFile: path }))).rejects.toMatchObject({
      code: 'FILE_SIZE_MISMATCH',
    });
  }
});
