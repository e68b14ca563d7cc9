import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LayerStore } from './index.js';

let work: string;
let store: LayerStore;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-gc-'));
  store = await LayerStore.open(join(work, 'store'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const key = (n: number): string => String(n).repeat(64);
const DAY = 86_400_000;

/** Three cache records, each holding one 1000-byte blob, last used 3, 2 and 1 days ago. */
async function threeRecords(): Promise<string[]> {
  const digests: string[] = [];
  for (const n of [1, 2, 3]) {
    const { digest } = await store.putBlob(Readable.from([Buffer.alloc(1000, n)]));
    digests.push(digest);
    await store.putCacheRecord(key(n), { layer: digest });
    const when = new Date(Date.now() - (4 - n) * DAY);
    await utimes(join(work, 'store/kiln/cache', `${key(n)}.json`), when, when);
  }
  return digests;
}

test('keepBytes evicts least-recently-used cache records until the blobs fit', async () => {
  const digests = await threeRecords();
  const report = await store.collectGarbage({ dropCache: false, keepBytes: 2000 });
  expect([report.removedCacheRecords, report.removedBlobs, report.freedBytes]).toEqual([1, 1, 1000]);
  expect(await store.getCacheRecord(key(1))).toBeUndefined();
  expect(await store.statBlob(digests[0] as never)).toBeUndefined();
  expect(await store.statBlob(digests[2] as never)).toBe(1000);
});

test('a cache hit (touchCacheRecord) protects a record from LRU eviction', async () => {
  await threeRecords();
  const before = (await stat(join(work, 'store/kiln/cache', `${key(1)}.json`))).mtimeMs;
  await store.touchCacheRecord(key(1));
  expect((await stat(join(work, 'store/kiln/cache', `${key(1)}.json`))).mtimeMs).toBeGreaterThan(before);
  await store.touchCacheRecord(key(9)); // missing: ignored
  await store.collectGarbage({ dropCache: false, keepBytes: 1000 });
  expect(await store.getCacheRecord(key(1))).toBeDefined();
  expect(await store.getCacheRecord(key(2))).toBeUndefined();
  expect(await store.getCacheRecord(key(3))).toBeUndefined();
});

test('keepSince drops records unused since then; blobs shared with a kept record stay', async () => {
  const digests = await threeRecords();
  await store.putCacheRecord(key(4), { layer: digests[0] });
  const report = await store.collectGarbage({ dropCache: false, keepSince: Date.now() - 1.5 * DAY });
  expect(report.removedCacheRecords).toBe(2);
  expect(report.removedBlobs).toBe(1);
  expect(await store.statBlob(digests[0] as never)).toBe(1000);
  expect(await store.statBlob(digests[1] as never)).toBeUndefined();
});

test('diskUsage splits blobs into image, cache-only and unreferenced', async () => {
  await threeRecords();
  await store.putBlob(Readable.from([Buffer.alloc(10, 7)]));
  const usage = await store.diskUsage();
  expect(usage.cacheBlobs).toEqual({ count: 3, bytes: 3000 });
  expect(usage.unreferencedBlobs).toEqual({ count: 1, bytes: 10 });
  expect(usage.imageBlobs).toEqual({ count: 0, bytes: 0 });
  expect(usage.cacheRecords.count).toBe(3);
});
