import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { MediaType, type FileHeader, type FsChange } from '@kiln/oci';
import { LayerStore, type Layer } from './index.js';

let root: string;
let store: LayerStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-layer-'));
  store = await LayerStore.open(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

interface ReadEntry {
  readonly header: tar.Header;
  readonly content: string;
}

/** Reads a stored layer back through openBlob → gunzip → tar-stream extract; returns entries and the tar's sha256. */
async function readLayer(layer: Layer): Promise<{ entries: ReadEntry[]; diffId: string }> {
  const entries: ReadEntry[] = [];
  const hash = createHash('sha256');
  const extract = tar.extract();
  const done = pipeline(
    await store.openBlob(layer.descriptor.digest),
    createGunzip(),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    },
    extract,
  );
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    entries.push({ header: entry.header, content: Buffer.concat(chunks).toString() });
  }
  await done;
  return { entries, diffId: `sha256:${hash.digest('hex')}` };
}

const T = new Date('2024-05-01T12:00:00Z');

function header(path: string, type: FileHeader['type'], extra: Partial<FileHeader> = {}): FileHeader {
  return {
    path,
    type,
    mode: type === 'directory' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: T,
    ...extra,
  };
}

function file(path: string, text: string, extra: Partial<FileHeader> = {}): FsChange {
  const size = Buffer.byteLength(text);
  return {
    kind: 'upsert',
    header: header(path, 'file', { size, ...extra }),
    open: () => Readable.from([Buffer.from(text)]),
  };
}

async function* changes(list: readonly FsChange[]): AsyncGenerator<FsChange> {
  yield* list;
}

function sample(): FsChange[] {
  return [
    file('usr/bin/tool', 'binary', { mode: 0o755, uid: 1000, gid: 1000 }),
    { kind: 'upsert', header: header('usr', 'directory') },
    { kind: 'upsert', header: header('usr/bin', 'directory') },
    { kind: 'delete', path: 'etc/old.conf' },
    { kind: 'opaque', path: 'var/cache' },
    { kind: 'delete', path: 'gone' },
    file('a-b', 'dash'),
    { kind: 'upsert', header: header('usr/lib', 'symlink', { linkname: '/lib' }) },
    file('secret', '', { mode: 0 }),
    { kind: 'upsert', header: header('dev/null', 'char-device', { devmajor: 1, devminor: 3, mode: 0o666 }) },
  ];
}

test('writeLayer produces a sorted tar with whiteouts, opaque markers and explicit headers', async () => {
  const layer = await store.writeLayer(changes(sample()));
  expect(layer.descriptor.mediaType).toBe(MediaType.LayerTarGzip);
  expect(await store.statBlob(layer.descriptor.digest)).toBe(layer.descriptor.size);
  const { entries, diffId } = await readLayer(layer);
  expect(diffId).toBe(layer.diffId);
  expect(entries.map((e) => e.header.name)).toEqual(
    [
      'a-b',
      'dev/null',
      'etc/.wh.old.conf',
      '.wh.gone',
      'secret',
      'usr/',
      'usr/bin/',
      'usr/bin/tool',
      'usr/lib',
      'var/cache/.wh..wh..opq',
    ].sort((a, b) =>
      Buffer.compare(Buffer.from(a.replace(/\//g, '\0')), Buffer.from(b.replace(/\//g, '\0'))),
    ),
  );
  const byName = new Map(entries.map((e) => [e.header.name, e]));
  const whiteout = byName.get('etc/.wh.old.conf')?.header;
  expect(whiteout).toMatchObject({ type: 'file', size: 0, uid: 0, gid: 0, mode: 0o644, mtime: new Date(0) });
  expect(byName.get('var/cache/.wh..wh..opq')?.header).toMatchObject({ type: 'file', size: 0 });
  expect(byName.get('usr/bin/tool')).toMatchObject({
    content: 'binary',
    header: { mode: 0o755, uid: 1000, gid: 1000, uname: '', gname: '', mtime: T },
  });
  expect(byName.get('secret')?.header.mode).toBe(0);
  expect(byName.get('usr/lib')?.header).toMatchObject({ type: 'symlink', linkname: '/lib' });
  expect(byName.get('dev/null')?.header).toMatchObject({
    type: 'character-device',
    devmajor: 1,
    devminor: 3,
  });
});

test('a directory sorts right before its children', async () => {
  const layer = await store.writeLayer(
    changes([
      file('a/b', 'x'),
      file('a-b', 'y'),
      { kind: 'upsert', header: header('a', 'directory') },
      file('a0', 'z'),
    ]),
  );
  const { entries } = await readLayer(layer);
  expect(entries.map((e) => e.header.name)).toEqual(['a/', 'a/b', 'a-b', 'a0']);
});

test('the same changes give a byte-identical blob, whatever their order', async () => {
  const a = await store.writeLayer(changes(sample()));
  const b = await store.writeLayer(changes([...sample()].reverse()));
  expect(b).toEqual(a);
  const c = await store.writeLayer(changes(sample()), { sourceDateEpoch: 1000 });
  expect(c.diffId).not.toBe(a.diffId);
  expect(await readdir(join(root, 'kiln', 'tmp'))).toEqual([]);
});

test('sourceDateEpoch clamps later mtimes and dates whiteouts', async () => {
  const early = new Date(500 * 1000);
  const layer = await store.writeLayer(
    changes([file('new', 'n'), file('old', 'o', { mtime: early }), { kind: 'delete', path: 'x' }]),
    { sourceDateEpoch: 1000 },
  );
  const { entries } = await readLayer(layer);
  const mtimes = Object.fromEntries(entries.map((e) => [e.header.name, e.header.mtime?.getTime()]));
  expect(mtimes).toEqual({ new: 1_000_000, old: 500_000, '.wh.x': 1_000_000 });
});

test('long names, long link targets and xattrs go through PAX headers', async () => {
  const longName = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
  const layer = await store.writeLayer(
    changes([
      file(longName, 'long', { xattrs: { 'user.b': Buffer.from('2'), 'user.a': Buffer.from('1') } }),
      { kind: 'upsert', header: header('ln', 'symlink', { linkname: 't'.repeat(150) }) },
      file('ünïcode', 'u'),
    ]),
  );
  const { entries } = await readLayer(layer);
  const byName = new Map(entries.map((e) => [e.header.name, e.header]));
  expect(byName.get(longName)?.pax).toMatchObject({ 'SCHILY.xattr.user.a': '1', 'SCHILY.xattr.user.b': '2' });
  expect(byName.get('ln')?.linkname).toBe('t'.repeat(150));
  expect(byName.has('ünïcode')).toBe(true);
});

test('hardlinks point at the member that sorts first, which carries the content', async () => {
  const layer = await store.writeLayer(
    changes([
      file('z/original', 'shared'),
      { kind: 'upsert', header: header('a/link', 'link', { linkname: 'z/original' }) },
      { kind: 'upsert', header: header('m/link2', 'link', { linkname: 'a/link' }) },
    ]),
  );
  const { entries } = await readLayer(layer);
  expect(entries.map((e) => [e.header.name, e.header.type, e.header.linkname ?? null, e.content])).toEqual([
    ['a/link', 'file', null, 'shared'],
    ['m/link2', 'link', 'a/link', ''],
    ['z/original', 'link', 'a/link', ''],
  ]);
});

test('a file yielding a different number of bytes than its size fails clearly and leaves nothing', async () => {
  const short: FsChange = {
    kind: 'upsert',
    header: header('f', 'file', { size: 10 }),
    open: () => Readable.from([Buffer.from('abc')]),
  };
  await expect(store.writeLayer(changes([short]))).rejects.toMatchObject({ code: 'FILE_SIZE_MISMATCH' });
  const long: FsChange = { ...short, open: () => Readable.from([Buffer.alloc(11)]) };
  await expect(store.writeLayer(changes([long]))).rejects.toMatchObject({ code: 'FILE_SIZE_MISMATCH' });
  expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([]);
  expect(await readdir(join(root, 'kiln', 'tmp'))).toEqual([]);
});

test('unsafe and contradictory changes are rejected', async () => {
  const cases: [FsChange[], string][] = [
    [[file('../etc/passwd', 'x')], 'UNSAFE_PATH'],
    [[file('/etc/passwd', 'x')], 'UNSAFE_PATH'],
    [[{ kind: 'delete', path: 'a/../../b' }], 'UNSAFE_PATH'],
    [[{ kind: 'upsert', header: header('l', 'link', { linkname: '../x' }) }], 'UNSAFE_PATH'],
    [
      [{ kind: 'upsert', header: header('s', 'symlink', { linkname: '/etc' }) }, file('s/passwd', 'x')],
      'UNSAFE_PATH',
    ],
    [[file('a', 'x'), file('./a', 'y')], 'DUPLICATE_PATH'],
    [[file('.wh.sneaky', 'x')], 'INVALID_CHANGE'],
    [[{ kind: 'upsert', header: header('l', 'link', { linkname: 'missing' }) }], 'INVALID_CHANGE'],
    [[{ kind: 'upsert', header: header('f', 'file', { size: 3 }) }], 'INVALID_CHANGE'],
  ];
  for (const [list, code] of cases) {
    await expect(store.writeLayer(changes(list))).rejects.toMatchObject({ code });
  }
});

test('memory stays flat for a large streamed file', async () => {
  const size = 256 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 1);
  let emitted = 0;
  const big: FsChange = {
    kind: 'upsert',
    header: header('big', 'file', { size }),
    open: () =>
      new Readable({
        read() {
          if (emitted >= size) return void this.push(null);
          emitted += chunk.length;
          this.push(chunk);
        },
      }),
  };
  const before = process.memoryUsage().rss;
  const layer = await store.writeLayer(changes([big]));
  const growth = process.memoryUsage().rss - before;
  expect(emitted).toBe(size);
  expect(growth).toBeLessThan(size / 2);
  expect(layer.descriptor.size).toBeLessThan(size);
});
