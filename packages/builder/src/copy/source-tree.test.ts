import { execFileSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadContextFilter } from '../context/context-filter.js';
import { contextTree, type SourceEntry, type SourceTree } from './source-tree.js';

// A walk in one batch (the helper's stat-paths from 1,000 entries on) must give exactly what
// entry() and list() give one path at a time: .dockerignore with exceptions, symlinks never
// followed, parents that escape the context. The fixture is big enough to take the batch path.

let base: string;
let ctx: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-source-tree-'));
  ctx = join(base, 'ctx');
  for (let d = 0; d < 12; d++) {
    mkdirSync(join(ctx, 'files', `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(ctx, 'files', `d${d}`, `f${f}`), `${d}/${f}`);
  }
  mkdirSync(join(ctx, 'logs', 'sub'), { recursive: true });
  writeFileSync(join(ctx, 'logs', 'a.txt'), 'a');
  writeFileSync(join(ctx, 'logs', 'keep.txt'), 'kept');
  writeFileSync(join(ctx, 'logs', 'sub', 'x'), 'x');
  writeFileSync(join(ctx, 'secret.env'), 'no');
  writeFileSync(join(ctx, 'files', 'd3', 'ünï "quoted"\nname'), 'odd');
  symlinkSync('d1/f1', join(ctx, 'files', 'link'));
  linkSync(join(ctx, 'files', 'd5', 'f5'), join(ctx, 'files', 'd6', 'hard'));
  symlinkSync('../..', join(ctx, 'files', 'up')); // a parent that leaves the context
  symlinkSync('/', join(ctx, 'root'));
  execFileSync('mkfifo', [join(ctx, 'files', 'pipe')]);
  writeFileSync(join(ctx, '.dockerignore'), 'secret*\nlogs\n!logs/keep.txt\nfiles/d11\n');
  writeFileSync(join(base, 'outside'), 'outside');
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function tree(): Promise<SourceTree> {
  return contextTree(ctx, await loadContextFilter(ctx, join(ctx, 'Dockerfile')));
}

/** The reference: what entry() and list() give, one path at a time, in walk order. */
async function oneByOne(t: SourceTree, dir: string, keep?: (rel: string) => boolean): Promise<SourceEntry[]> {
  const out: SourceEntry[] = [];
  const visit = async (at: string, rel: string): Promise<void> => {
    for (const name of await t.list(at)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (keep && !keep(r)) continue;
      const e = await t.entry(at === '' ? name : `${at}/${name}`);
      if (!e) continue;
      out.push(e);
      if (e.header.type === 'directory') await visit(e.header.path, r);
    }
  };
  await visit(dir, '');
  return out;
}

/** What a COPY uses of an entry (stamps come as fs.Stats one way and as plain objects the other). */
function plain(entries: readonly SourceEntry[]): unknown[] {
  return entries.map(({ header, hostPath, stamp, inode }) => ({
    header: { ...header, mtime: header.mtime.getTime() },
    hostPath,
    inode,
    stamp: stamp && { ino: stamp.ino, size: stamp.size, mtimeMs: stamp.mtimeMs, ctimeMs: stamp.ctimeMs },
  }));
}

async function walked(t: SourceTree, dir: string, keep?: (rel: string) => boolean): Promise<SourceEntry[]> {
  if (!t.walk) throw new Error('the context tree should walk in one batch');
  return [...(await t.walk(dir, keep))];
}

it('walks the whole context as entry() and list() see it, in one batch', async () => {
  const t = await tree();
  const all = await walked(t, '');
  expect(all.length).toBeGreaterThan(1000);
  expect(plain(all)).toEqual(plain(await oneByOne(t, '')));
  const paths = all.map((e) => e.header.path);
  // .dockerignore: excluded, re-included by an exception, kept as the exception's parent.
  expect(paths).toEqual(expect.arrayContaining(['logs', 'logs/keep.txt', 'files/link', 'files/up', 'root']));
  expect(paths.filter((p) => /secret|logs\/a\.txt|logs\/sub|files\/d11/.test(p))).toEqual([]);
  // Symlinks are entries of their own, never followed; a fifo is listed with its type.
  expect(paths.some((p) => p.startsWith('files/up/') || p.startsWith('root/'))).toBe(false);
  const byPath = new Map(all.map((e) => [e.header.path, e]));
  expect(byPath.get('files/link')?.header).toMatchObject({ type: 'symlink', linkname: 'd1/f1', size: 0 });
  expect(byPath.get('files/pipe')?.header.type).toBe('fifo');
  expect(byPath.get('files/d3/ünï "quoted"\nname')?.header.size).toBe(3);
  // Hard links carry the same inode (dev:ino); a file with one name carries none.
  const st = lstatSync(join(ctx, 'files', 'd5', 'f5'));
  expect(byPath.get('files/d5/f5')?.inode).toBe(`${st.dev}:${st.ino}`);
  expect(byPath.get('files/d6/hard')?.inode).toBe(`${st.dev}:${st.ino}`);
  expect(byPath.get('files/d5/f4')?.inode).toBeUndefined();
});

it('gives each file the stamp lstat gives it, and the mtime fs.Stats gives it', async () => {
  const t = await tree();
  const files = (await walked(t, 'files')).filter((e) => e.header.type === 'file');
  expect(files.length).toBeGreaterThan(1000);
  for (const e of files.slice(0, 50)) {
    const st = lstatSync(e.hostPath);
    expect(e.hostPath).toBe(join(ctx, e.header.path));
    expect(e.stamp).toMatchObject({ ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
    expect(e.header).toMatchObject({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    expect(e.header.mtime.getTime()).toBe(st.mtime.getTime());
  }
});

it('leaves out what `keep` refuses, with everything below it', async () => {
  const t = await tree();
  const keep = (rel: string): boolean => rel !== 'd2' && !rel.endsWith('/f7');
  const some = await walked(t, 'files', keep);
  expect(plain(some)).toEqual(plain(await oneByOne(t, 'files', keep)));
  expect(some.some((e) => e.header.path.startsWith('files/d2/') || e.header.path.endsWith('/f7'))).toBe(
    false,
  );
  expect(some.some((e) => e.header.path === 'files/d4/f8')).toBe(true);
});

it('finds nothing through a parent that leaves the context, by path or by walk', async () => {
  const t = await tree();
  await expect(t.entry('files/up/outside')).resolves.toBeUndefined();
  await expect(t.entry('root/etc')).resolves.toBeUndefined();
  await expect(t.entry('../outside')).resolves.toBeUndefined();
  await expect(walked(t, 'files/up')).resolves.toEqual([]);
  // A clean spelling of an inside path still works.
  await expect(t.entry('files/./d1//f1')).resolves.toMatchObject({ header: { path: 'files/d1/f1' } });
});
