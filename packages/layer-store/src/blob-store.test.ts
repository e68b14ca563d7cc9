import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestHex, MediaType, sha256Digest } from '@kiln/oci';
import { LayerStore, LayerStoreError } from './index.js';
import { readJson } from './read-json.js';
import { storePaths } from './store-paths.js';

let root: string;
let store: LayerStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-blobs-'));
  store = await LayerStore.open(root);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

test('open creates an OCI layout with kiln records', async () => {
  expect(JSON.parse(await readFile(join(root, 'oci-layout'), 'utf8'))).toEqual({
    imageLayoutVersion: '1.0.0',
  });
  expect(JSON.parse(await readFile(join(root, 'index.json'), 'utf8'))).toEqual({
    schemaVersion: 2,
    mediaType: MediaType.ImageIndex,
    manifests: [],
  });
  expect(await readFile(join(root, 'kiln', 'version'), 'utf8')).toBe('1');
  expect((await readdir(join(root, 'kiln'))).sort()).toEqual(['cache', 'tmp', 'version']);
});

test('open removes temp files of dead processes but keeps live ones', async () => {
  const tmp = join(root, 'kiln', 'tmp');
  // pid 2^22+1 is above Linux's pid_max, so no process has it.
  await writeFile(join(tmp, '4194305-00aa.tmp'), 'partial');
  await writeFile(join(tmp, `${process.pid}-00bb.tmp`), 'in progress');
  const old = join(tmp, 'leftover');
  await writeFile(old, 'x');
  await utimes(old, new Date(0), new Date(0));
  await LayerStore.open(root);
  expect(await readdir(tmp)).toEqual([`${process.pid}-00bb.tmp`]);
});

test('putBlob stores by digest and is idempotent', async () => {
  const data = Buffer.from('hello kiln');
  const first = await store.putBlob(Readable.from([data]));
  expect(first).toEqual({ digest: sha256Digest(data), size: data.length });
  const second = await store.putBlob(Readable.from([data]), first.digest);
  expect(second).toEqual(first);
  expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([digestHex(first.digest)]);
  expect(await store.statBlob(first.digest)).toBe(data.length);
  expect(await drain(await store.openBlob(first.digest))).toEqual(data);
  expect(await readdir(join(root, 'kiln', 'tmp'))).toEqual([]);
});

test('putBlob with a wrong expected digest rejects and leaves nothing', async () => {
  const wrong = sha256Digest('something else');
  await expect(store.putBlob(Readable.from([Buffer.from('content')]), wrong)).rejects.toMatchObject({
    code: 'BLOB_DIGEST_MISMATCH',
  });
  expect(await readdir(join(root, 'blobs', 'sha256'))).toEqual([]);
  expect(await readdir(join(root, 'kiln', 'tmp'))).toEqual([]);
});

test('putBlob of a failing stream rejects and leaves nothing', async () => {
  const failing = new Readable({
    read() {
      this.destroy(new Error('source broke'));
    },
  });
  await expect(store.putBlob(failing)).rejects.toThrow('source broke');
  expect(await readdir(join(root, 'kiln', 'tmp'))).toEqual([]);
});

test('openBlob errors before end when a byte on disk was flipped', async () => {
  const data = Buffer.alloc(256 * 1024, 7);
  const { digest } = await store.putBlob(Readable.from([data]));
  const file = join(root, 'blobs', 'sha256', digestHex(digest));
  const bytes = await readFile(file);
  bytes.writeUInt8(bytes.readUInt8(1000) ^ 0xff, 1000);
  await writeFile(file, bytes);
  const stream = await store.openBlob(digest);
  let ended = false;
  stream.on('end', () => (ended = true));
  const err = await drain(stream).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LayerStoreError);
  expect(err).toMatchObject({ code: 'BLOB_DIGEST_MISMATCH' });
  expect(ended).toBe(false);
});

test('openBlob fails in a pipeline too, and reports missing blobs', async () => {
  const { digest } = await store.putBlob(Readable.from([Buffer.from('abc')]));
  await writeFile(join(root, 'blobs', 'sha256', digestHex(digest)), 'abd');
  await expect(
    pipeline(await store.openBlob(digest), async (s: AsyncIterable<Buffer>) => drain(Readable.from(s))),
  ).rejects.toMatchObject({
    code: 'BLOB_DIGEST_MISMATCH',
  });
  await expect(store.openBlob(sha256Digest('absent'))).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
  await expect(store.openBlob(digest, 99)).rejects.toMatchObject({ code: 'BLOB_SIZE_MISMATCH' });
});

test('putJson writes canonical JSON that readJson reads back', async () => {
  const d = await store.putJson({ b: 1, a: [1, { d: 2, c: 3 }] }, MediaType.ImageConfig);
  expect(d.mediaType).toBe(MediaType.ImageConfig);
  expect(await readFile(join(root, 'blobs', 'sha256', digestHex(d.digest)), 'utf8')).toBe(
    '{"a":[1,{"c":3,"d":2}],"b":1}',
  );
  expect(await store.readJson(d.digest)).toEqual({ a: [1, { c: 3, d: 2 }], b: 1 });
});

test('readJson enforces its size cap and rejects non-JSON', async () => {
  const big = await store.putJson({ data: 'x'.repeat(5 * 1024 * 1024) }, 'application/json');
  await expect(store.readJson(big.digest)).rejects.toMatchObject({ code: 'DOCUMENT_TOO_LARGE' });
  const small = await store.putJson({ a: 'x'.repeat(100) }, 'application/json');
  await expect(store.readJson(small.digest, 50)).rejects.toMatchObject({ code: 'DOCUMENT_TOO_LARGE' });
  const text = await store.putBlob(Readable.from([Buffer.from('not json')]));
  await expect(store.readJson(text.digest)).rejects.toMatchObject({ code: 'INVALID_DOCUMENT' });
});

test('readJson verifies what it reads: a flipped byte, a missing blob, another size', async () => {
  const d = await store.putJson({ name: 'doc', list: [1, 2, 3] }, 'application/json');
  const file = join(root, 'blobs', 'sha256', digestHex(d.digest));
  const good = await readFile(file);
  await writeFile(file, Buffer.from(good.toString('utf8').replace('doc', 'dog')));
  await expect(store.readJson(d.digest)).rejects.toMatchObject({ code: 'BLOB_DIGEST_MISMATCH' });
  await writeFile(file, good);
  expect(await readJson(storePaths(root), d.digest, 1024, good.length)).toEqual({
    name: 'doc',
    list: [1, 2, 3],
  });
  await expect(readJson(storePaths(root), d.digest, 1024, good.length + 1)).rejects.toMatchObject({
    code: 'BLOB_SIZE_MISMATCH',
  });
  await expect(store.readJson(sha256Digest('absent'))).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
});

test('readDocument returns the stored bytes exactly, verified and capped', async () => {
  // Not canonical JSON, not even JSON: a document is pushed byte for byte as stored.
  const bytes = Buffer.from('{ "b": 1,\n  "a": 2 }\n');
  const d = await store.putBlob(Readable.from([bytes]));
  expect((await store.readDocument(d.digest)).equals(bytes)).toBe(true);
  await expect(store.readDocument(d.digest, bytes.length - 1)).rejects.toMatchObject({
    code: 'DOCUMENT_TOO_LARGE',
  });
  const file = join(root, 'blobs', 'sha256', digestHex(d.digest));
  await writeFile(file, Buffer.from(bytes.toString('utf8').replace('"b"', '"c"')));
  await expect(store.readDocument(d.digest)).rejects.toMatchObject({ code: 'BLOB_DIGEST_MISMATCH' });
  await expect(store.readDocument(sha256Digest('absent'))).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
});

test('cache records round-trip and reject bad keys', async () => {
  const key = 'a'.repeat(64);
  expect(await store.getCacheRecord(key)).toBeUndefined();
  await store.putCacheRecord(key, { layer: 'sha256:' + '0'.repeat(64), n: 1 });
  expect(await store.getCacheRecord(key)).toEqual({ layer: 'sha256:' + '0'.repeat(64), n: 1 });
  expect(await readdir(join(root, 'kiln', 'cache'))).toEqual([`${key}.json`]);
  await expect(store.putCacheRecord('../evil', {})).rejects.toMatchObject({ code: 'INVALID_CACHE_KEY' });
  await expect(store.getCacheRecord('A'.repeat(64))).rejects.toMatchObject({ code: 'INVALID_CACHE_KEY' });
  expect((await readdir(join(root, 'kiln', 'tmp'))).length).toBe(0);
});
