import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatCache } from '../cache/stat-cache.js';
import { contentDigests, fnv1a } from './content-digest.js';
import { planCopy, resolveSource, type CopyEntry } from './plan-copy.js';
import { contextTree } from './source-tree.js';

let base: string;
let ctx: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-content-digest-'));
  ctx = join(base, 'ctx');
  mkdirSync(join(ctx, 'src', 'sub'), { recursive: true });
  writeFileSync(join(ctx, 'src', 'a.txt'), 'alpha');
  writeFileSync(join(ctx, 'src', 'sub', 'b "quoted"\tü.txt'), 'beta');
  symlinkSync('a.txt', join(ctx, 'src', 'link'));
  // Old enough for the stat cache to trust (it refuses files changed in the last two seconds).
  for (const f of ['a.txt', 'sub/b "quoted"\tü.txt'])
    utimesSync(join(ctx, 'src', f), 1_700_000_000, 1_700_000_000);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function plan(): Promise<CopyEntry[]> {
  const tree = contextTree(ctx, { excludes: () => false, hasExceptions: false, id: 'none' });
  const src = await resolveSource(tree, 'src');
  if (!src) throw new Error('src missing');
  return planCopy(tree, src, 'app', { uid: 1000, gid: 1000 });
}

/** The digest as every earlier version computed it, so existing cache keys stay valid. */
function reference(entries: readonly CopyEntry[]): { digest: string; files: Record<string, string> } {
  const all = createHash('sha256');
  const files: Record<string, string> = {};
  for (const { header: h, source } of entries) {
    const meta = JSON.stringify([h.path, h.type, h.mode, h.uid, h.gid, h.linkname ?? '', h.size]);
    const data = source ? createHash('sha256').update(readFileSync(source)).digest('hex') : '';
    all.update(meta).update(data).update('\n');
    files[h.path] = data.slice(0, 16) + fnv1a(meta);
  }
  return { digest: all.digest('hex'), files };
}

it('fingerprints metadata with FNV-1a (the published 32-bit test vectors)', () => {
  expect(['', 'a', 'foobar'].map(fnv1a)).toEqual(['811c9dc5', 'e40c292c', 'bf9cf968']);
});

it('digests paths, types, modes, owners, link targets and bytes as before', async () => {
  const entries = await plan();
  const got = await contentDigests(entries, await StatCache.load(base));
  expect({ digest: got.digest, files: { ...got.files } }).toEqual(reference(entries));
  // The directory `app` itself is parentDirs' (planCopy lists a directory's contents only).
  expect(Object.keys(got.files)).toEqual(['app/a.txt', 'app/link', 'app/sub', 'app/sub/b "quoted"\tü.txt']);
});

it('changes with the bytes of one file (naming only that file), not with its mtime', async () => {
  const stats = await StatCache.load(base);
  const before = await contentDigests(await plan(), stats);
  utimesSync(join(ctx, 'src', 'a.txt'), 1_700_000_500, 1_700_000_500);
  const touched = await contentDigests(await plan(), stats);
  expect(touched.digest).toBe(before.digest);
  writeFileSync(join(ctx, 'src', 'a.txt'), 'ALPHA');
  const changed = await contentDigests(await plan(), stats);
  expect(changed.digest).not.toBe(before.digest);
  const differing = Object.keys(before.files).filter((p) => before.files[p] !== changed.files[p]);
  expect(differing).toEqual(['app/a.txt']);
});

it('takes a remembered digest for the stamp the file had when planned, without reading it', async () => {
  const planned = await plan();
  const file = planned.find((e) => e.header.path === 'app/a.txt');
  if (!file?.source || !file.stamp) throw new Error('a.txt should be planned with its stamp');
  expect(file.stamp).toMatchObject({ mtimeMs: 1_700_000_000_000 });
  // The file's ctime is now, too recent for the cache to remember: give it an older stamp that
  // lstat would not give, and a digest the bytes could not have. Seeing that digest proves
  // neither a read nor a second stat happened.
  const stamp = { ...file.stamp, ctimeMs: 1_700_000_000_000 };
  const stats = await StatCache.load(base);
  stats.set(file.source, stamp, 'f'.repeat(64));
  const entries = planned.map((e) => (e === file ? { ...e, stamp } : e));
  // The remembered (impossible) digest gives another result than reading the bytes does.
  const fresh = await contentDigests(planned);
  const remembered = await contentDigests(entries, stats);
  expect(remembered.digest).not.toBe(fresh.digest);
  expect(Object.keys(fresh.files).filter((p) => fresh.files[p] !== remembered.files[p])).toEqual([
    'app/a.txt',
  ]);
  // Once the file changes, its new stamp misses and its bytes are read again.
  writeFileSync(join(ctx, 'src', 'a.txt'), 'changed');
  const replanned = await plan();
  expect((await contentDigests(replanned, stats)).digest).toBe((await contentDigests(replanned)).digest);
});
