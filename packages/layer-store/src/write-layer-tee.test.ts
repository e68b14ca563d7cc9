import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { FileHeader, FsChange } from '@kiln/oci';
import { LayerStore, type Layer } from './index.js';

// writeLayer's `tee`: the uncompressed tar, byte for byte what diffId digests, handed to a
// second consumer (the builder unpacks a COPY layer while it is written).

let root: string;
let store: LayerStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-tee-'));
  store = await LayerStore.open(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const T = new Date('2024-05-01T12:00:00Z');
/** Random, so gzip cannot shrink it and the tar is several chunks long. */
const BIG = randomBytes(3 * 1024 * 1024 + 123);

function file(path: string, data: Buffer | string, extra: Partial<FileHeader> = {}): FsChange {
  const bytes = Buffer.from(data);
  return {
    kind: 'upsert',
    header: { path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: bytes.length, mtime: T, ...extra },
    // Several chunks, as a file read from disk would come.
    open: () => Readable.from(chunksOf(bytes, 64 * 1024)),
  };
}

function chunksOf(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out.length > 0 ? out : [Buffer.alloc(0)];
}

function sample(): FsChange[] {
  return [
    {
      kind: 'upsert',
      header: { path: 'etc', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: T },
    },
    file('etc/hosts', 'localhost\n'),
    file('big.bin', BIG),
    file('bin/tool', 'tool', { mode: 0o755, uid: 1000 }),
    { kind: 'delete', path: 'gone' },
    file('empty', ''),
  ];
}

/** The sample without its big file: a tar of a few KiB, made in memory (writeSmallLayer). */
function smallSample(): FsChange[] {
  return sample().filter((c) => c.kind !== 'upsert' || c.header.path !== 'big.bin');
}

async function* changes(list: readonly FsChange[]): AsyncGenerator<FsChange> {
  yield* list;
}

/** A tee that collects every byte it is given. */
function collector(): { bytes: () => Buffer; tee: (tar: Readable) => Promise<void> } {
  const chunks: Buffer[] = [];
  return {
    bytes: () => Buffer.concat(chunks),
    tee: async (stream) => {
      for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    },
  };
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** The stored blob, gunzipped. */
async function storedTar(layer: Layer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(await store.openBlob(layer.descriptor.digest), createGunzip(), async (source) => {
    for await (const chunk of source as AsyncIterable<Buffer>) chunks.push(chunk);
  });
  return Buffer.concat(chunks);
}

/** Entries of an uncompressed tar: name → content. */
async function tarEntries(bytes: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = pipeline(Readable.from([bytes]), extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    out.set(entry.header.name, Buffer.concat(chunks));
  }
  await done;
  return out;
}

/** Blobs and temp files in the store, to show a failed write left nothing. */
async function storeContents(): Promise<{ blobs: string[]; tmp: string[] }> {
  return {
    blobs: await readdir(join(root, 'blobs', 'sha256')),
    tmp: await readdir(join(root, 'kiln', 'tmp')),
  };
}

test('the tee gets exactly the tar whose sha256 is the diffId, the blob gunzipped', async () => {
  const c = collector();
  const layer = await store.writeLayer(changes(sample()), { tee: c.tee });
  const teed = c.bytes();
  expect(teed.length).toBeGreaterThan(BIG.length);
  expect(sha256(teed)).toBe(layer.diffId);
  expect(teed.equals(await storedTar(layer))).toBe(true);
  const entries = await tarEntries(teed);
  expect([...entries.keys()].sort()).toEqual([
    '.wh.gone',
    'big.bin',
    'bin/tool',
    'empty',
    'etc/',
    'etc/hosts',
  ]);
  expect(entries.get('big.bin')?.equals(BIG)).toBe(true);
  expect(entries.get('etc/hosts')?.toString()).toBe('localhost\n');
});

test('a small layer, made in memory, has the bytes the streaming path makes of it', async () => {
  const small = collector();
  const layer = await store.writeLayer(changes(smallSample()), { tee: small.tee });
  // A teeHas keeps writeLayer on its streaming path (it may make the tee a tar of its own); one
  // that has nothing leaves the tee the layer's own tar.
  const streamed = collector();
  await rm(root, { recursive: true, force: true });
  store = await LayerStore.open(root);
  const viaStream = await store.writeLayer(changes(smallSample()), {
    tee: streamed.tee,
    teeHas: async () => new Set(),
  });
  expect(layer).toEqual(viaStream);
  expect(small.bytes().equals(streamed.bytes())).toBe(true);
  expect(sha256(small.bytes())).toBe(layer.diffId);
  expect(small.bytes().equals(await storedTar(layer))).toBe(true);
  expect([...(await tarEntries(small.bytes())).keys()].sort()).toEqual([
    '.wh.gone',
    'bin/tool',
    'empty',
    'etc/',
    'etc/hosts',
  ]);
  expect(await storeContents()).toEqual({
    blobs: [layer.descriptor.digest.slice('sha256:'.length)],
    tmp: [],
  });
});

test('the comparison above can fail: a tee missing one byte has another digest', async () => {
  const c = collector();
  const layer = await store.writeLayer(changes(sample()), { tee: c.tee });
  expect(sha256(c.bytes().subarray(1))).not.toBe(layer.diffId);
});

test('a slow tee gives the same diffId and blob as no tee, and still gets every byte', async () => {
  const plain = await store.writeLayer(changes(sample()));
  await rm(root, { recursive: true, force: true });
  store = await LayerStore.open(root);
  const chunks: Buffer[] = [];
  let reads = 0;
  const slow = await store.writeLayer(changes(sample()), {
    tee: async (stream) => {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        // The writer must wait for this consumer (backpressure), not drop or buffer past it.
        await sleep(reads++ < 20 ? 20 : 1);
      }
    },
  });
  expect(reads).toBeGreaterThan(1);
  expect(slow.diffId).toBe(plain.diffId);
  expect(slow.descriptor).toEqual(plain.descriptor);
  expect(sha256(Buffer.concat(chunks))).toBe(plain.diffId);
  expect(await storeContents()).toEqual({ blobs: [slow.descriptor.digest.slice('sha256:'.length)], tmp: [] });
});

/** writeLayer's outcome, or a failure naming the hang when it has not settled after `ms`. */
async function settle(writing: Promise<Layer>, ms = 5_000): Promise<Layer> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`writeLayer did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([writing, hang]);
  } finally {
    clearTimeout(timer);
  }
}

test('a tee that fails after reading everything fails writeLayer and leaves no temp file', async () => {
  const tee = async (stream: Readable): Promise<void> => {
    for await (const _chunk of stream) {
      // read it all
    }
    throw new Error('tee failed at the end');
  };
  await expect(settle(store.writeLayer(changes(sample()), { tee }))).rejects.toThrow('tee failed at the end');
  expect((await storeContents()).tmp).toEqual([]);
});

// A tee that fails must fail writeLayer without hanging and leave no temp file. A blob may remain
// when the tar was complete before the tee failed: it is whole (checked) and unreferenced, so
// GC removes it, as any blob a failed build stored.
describe.each([
  ['streamed', sample],
  ['small, made in memory', smallSample],
])('a failing tee fails writeLayer (%s), leaves no temp file and no partial blob', (_kind, sample) => {
  const failures: Array<[string, (stream: Readable) => Promise<void>]> = [
    [
      'stops reading after the first chunk',
      async (stream) => {
        for await (const _chunk of stream) throw new Error('tee failed midway');
      },
    ],
    [
      'destroys its stream with an error',
      async (stream) => {
        stream.destroy(new Error('tee destroyed'));
        await new Promise<void>((_resolve, reject) => stream.once('error', reject));
      },
    ],
    [
      'fails after reading everything',
      async (stream) => {
        for await (const _chunk of stream) {
          // read it all
        }
        throw new Error('tee failed at the end');
      },
    ],
  ];

  it.each(failures)('a tee that %s', async (_name, tee) => {
    await expect(settle(store.writeLayer(changes(sample()), { tee }))).rejects.toThrow(
      /tee (failed|destroyed)|stopped reading/,
    );
    const { blobs, tmp } = await storeContents();
    expect(tmp).toEqual([]);
    for (const hex of blobs)
      expect(
        createHash('sha256')
          .update(await readFile(join(root, 'blobs', 'sha256', hex)))
          .digest('hex'),
      ).toBe(hex);
  });
  // A tee that rejects without ever reading: its stream is destroyed with nobody listening, which
  // must not become an uncaught 'error' event (jest would report it against another test).
  it('a tee that rejects without reading', async () => {
    const tee = (): Promise<void> => Promise.reject(new Error('tee failed at once'));
    await expect(settle(store.writeLayer(changes(sample()), { tee }))).rejects.toThrow('tee failed at once');
    expect((await storeContents()).tmp).toEqual([]);
  });
});

test('a failing change fails writeLayer with its own error, and the tee sees the stream fail', async () => {
  const short: FsChange = {
    kind: 'upsert',
    header: { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, mtime: T },
    open: () => Readable.from([Buffer.from('abc')]),
  };
  let teeError: unknown;
  const tee = async (stream: Readable): Promise<void> => {
    try {
      for await (const _chunk of stream) {
        // read until the stream fails
      }
    } catch (error) {
      teeError = error;
      throw error;
    }
  };
  await expect(store.writeLayer(changes([file('a', 'a'), short]), { tee })).rejects.toMatchObject({
    code: 'FILE_SIZE_MISMATCH',
  });
  expect(teeError).toBeDefined();
  expect(await storeContents()).toEqual({ blobs: [], tmp: [] });
});

test('a tee that unpacks the tar as it comes (tar-stream) gets every entry', async () => {
  const seen: string[] = [];
  const layer = await store.writeLayer(changes(sample()), {
    tee: async (stream) => {
      const extract = tar.extract();
      const done = pipeline(stream, extract);
      for await (const entry of extract) {
        seen.push(entry.header.name);
        entry.resume();
      }
      await done;
    },
  });
  expect(seen.sort()).toEqual(['.wh.gone', 'big.bin', 'bin/tool', 'empty', 'etc/', 'etc/hosts']);
  expect(await store.statBlob(layer.descriptor.digest)).toBe(layer.descriptor.size);
});

describe('teeHas', () => {
  test('the tee gets the tar without the files its consumer has; the layer is unchanged', async () => {
    const plain = await store.writeLayer(changes(sample()));
    const c = collector();
    let offered: readonly { path: string; mode: number; uid: number; size: number; mtime: number }[] = [];
    let reads = 0;
    const layer = await store.writeLayer(changes(sample()), {
      tee: c.tee,
      teeHas: async (files) => {
        offered = files;
        await sleep(20); // the layer is written meanwhile
        return new Set(['big.bin', 'etc/hosts']);
      },
      onRead: () => reads++,
    });
    expect(layer).toEqual(plain);
    // Once, when both tars had read everything.
    expect(reads).toBe(1);
    // Every regular file, as the tar records it: permission bits, whole seconds.
    expect(offered.map((f) => [f.path, f.mode, f.uid, f.size, f.mtime])).toEqual([
      ['big.bin', 0o644, 0, BIG.length, T.getTime() / 1000],
      ['bin/tool', 0o755, 1000, 4, T.getTime() / 1000],
      ['empty', 0o644, 0, 0, T.getTime() / 1000],
      ['etc/hosts', 0o644, 0, 10, T.getTime() / 1000],
    ]);
    const teed = await tarEntries(c.bytes());
    expect([...teed.keys()].sort()).toEqual(['.wh.gone', 'bin/tool', 'empty', 'etc/']);
    expect(teed.get('bin/tool')?.toString()).toBe('tool');
    // The entries it does get are byte for byte the layer's.
    const whole = await tarEntries(await storedTar(layer));
    for (const [name, data] of teed) expect(data.equals(whole.get(name) as Buffer)).toBe(true);
  });

  test('files with extended attributes are never offered', async () => {
    const list = [file('x', 'x', { xattrs: { 'user.a': Buffer.from('1') } }), file('y', 'y')];
    let offered: string[] = [];
    await store.writeLayer(changes(list), {
      tee: collector().tee,
      teeHas: async (files) => {
        offered = files.map((f) => f.path);
        return new Set();
      },
    });
    expect(offered).toEqual(['y']);
  });

  test('a teeHas that fails fails the layer and stores nothing', async () => {
    const before = await storeContents();
    let reads = 0;
    await expect(
      store.writeLayer(changes(sample()), {
        tee: collector().tee,
        teeHas: () => Promise.reject(new Error('linking failed')),
        onRead: () => reads++,
      }),
    ).rejects.toThrow('linking failed');
    expect(await storeContents()).toEqual(before);
    expect(reads).toBe(0);
  });
});
