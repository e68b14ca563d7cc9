import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatCache, type FileStamp } from './stat-cache.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-stat-cache-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const file = (): string => join(root, 'kiln', 'stat-cache.bin');
const old: FileStamp = {
  ino: 2 ** 40 + 7,
  size: 5242,
  mtimeMs: 1_700_000_000_123.375,
  ctimeMs: 1_700_000_001_000.25,
};
const digest = (n: number): string => n.toString(16).padStart(64, '0');

it('remembers digests across builds, by path and by every field of the stamp', async () => {
  const first = await StatCache.load(root);
  first.set('/ctx/a', old, digest(1));
  first.set('/ctx/ünï "b"', { ...old, ino: 9 }, digest(2));
  await first.save();
  const next = await StatCache.load(root);
  expect(next.get('/ctx/a', old)).toBe(digest(1));
  expect(next.get('/ctx/ünï "b"', { ...old, ino: 9 })).toBe(digest(2));
  for (const changed of [{ ino: 1 }, { size: 1 }, { mtimeMs: old.mtimeMs + 0.001 }, { ctimeMs: 1 }])
    expect(next.get('/ctx/a', { ...old, ...changed })).toBeUndefined();
  expect(next.get('/ctx/other', old)).toBeUndefined();
});

it('keeps stored rows it did not touch and replaces the ones it did', async () => {
  const first = await StatCache.load(root);
  first.set('/a', old, digest(1));
  first.set('/b', old, digest(2));
  await first.save();
  const second = await StatCache.load(root);
  second.set('/b', { ...old, size: 1 }, digest(3));
  second.set('/c', old, digest(4));
  await second.save();
  const third = await StatCache.load(root);
  expect([third.get('/a', old), third.get('/b', { ...old, size: 1 }), third.get('/c', old)]).toEqual([
    digest(1),
    digest(3),
    digest(4),
  ]);
  expect(third.get('/b', old)).toBeUndefined();
});

it('finds rows whatever order they are asked for in', async () => {
  const first = await StatCache.load(root);
  const paths = ['/p/0', '/p/1', '/p/2', '/p/3', '/p/4'];
  paths.forEach((p, i) => first.set(p, { ...old, ino: i }, digest(i)));
  await first.save();
  const next = await StatCache.load(root);
  // In the stored order, then out of it, then a path it does not have, then in order again.
  for (const i of [0, 1, 2, 4, 3, 0, 0, 2, 3, 4, 1])
    expect([i, next.get(`/p/${i}`, { ...old, ino: i })]).toEqual([i, digest(i)]);
  expect(next.get('/p/5', old)).toBeUndefined();
  expect(next.get('/p/1', { ...old, ino: 2 })).toBeUndefined();
  expect(next.get('/p/2', { ...old, ino: 2 })).toBe(digest(2));
});

it('does not trust a file changed within the last two seconds (it may change again unseen)', async () => {
  const cache = await StatCache.load(root);
  cache.set('/racy', { ...old, mtimeMs: Date.now() }, digest(1));
  cache.set('/racy-ctime', { ...old, ctimeMs: Date.now() - 100 }, digest(2));
  expect(cache.get('/racy', { ...old, mtimeMs: Date.now() })).toBeUndefined();
  await cache.save();
  expect(existsSync(file())).toBe(false);
});

it('writes only when a digest was added', async () => {
  const first = await StatCache.load(root);
  first.set('/a', old, digest(1));
  await first.save();
  const written = statSync(file()).mtimeMs;
  const bytes = readFileSync(file());
  const next = await StatCache.load(root);
  expect(next.get('/a', old)).toBe(digest(1));
  await next.save();
  expect(statSync(file()).mtimeMs).toBe(written);
  expect(readFileSync(file())).toEqual(bytes);
});

it('does not remember something that is not a sha256 hex digest', async () => {
  const cache = await StatCache.load(root);
  cache.set('/a', old, 'sha256:abc');
  cache.set('/b', old, digest(1).toUpperCase().replace(/0/g, 'F'));
  expect([cache.get('/a', old), cache.get('/b', old)]).toEqual([undefined, undefined]);
});

it.each([
  ['garbage', Buffer.from('not a stat cache')],
  ['a truncated record', Buffer.concat([Buffer.from('KILNSC01'), Buffer.alloc(30)])],
  [
    'a path length past the end',
    Buffer.concat([
      Buffer.from('KILNSC01'),
      Buffer.alloc(64),
      Buffer.from([255, 255, 0, 0]),
      Buffer.alloc(4),
    ]),
  ],
])('treats %s as an empty cache, and replaces it on save', async (_, bytes) => {
  mkdirSync(join(root, 'kiln'), { recursive: true });
  writeFileSync(file(), bytes);
  const cache = await StatCache.load(root);
  expect(cache.get('/a', old)).toBeUndefined();
  cache.set('/a', old, digest(5));
  await cache.save();
  expect((await StatCache.load(root)).get('/a', old)).toBe(digest(5));
});

it('removes the JSON file of older versions when it first saves', async () => {
  mkdirSync(join(root, 'kiln'), { recursive: true });
  writeFileSync(join(root, 'kiln', 'stat-cache.json'), '{}');
  const cache = await StatCache.load(root);
  cache.set('/a', old, digest(1));
  await cache.save();
  expect(existsSync(join(root, 'kiln', 'stat-cache.json'))).toBe(false);
});
