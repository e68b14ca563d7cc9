import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestHex, sha256Digest, type Digest } from '@kiln/oci';
import { readXattrs } from './read-xattrs.js';
import { Snapshotter } from './snapshotter.js';
import { layerTar, type TestEntry } from './test/layer-tar.js';

// Snapshotter.stage: a layer unpacked before its diffId is known, committed or discarded, and
// (with `reuse`) hardlinking the files equal to an older layer's instead of writing them.

let base: string;
let root: string;
let snapshotter: Snapshotter;
/** Every test runs twice: unpacking in this thread, and on a worker thread (`stage({ thread })`). */
let useThread = false;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-stage-'));
  root = join(base, 'store');
  snapshotter = new Snapshotter(root);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const MTIME = new Date('2021-05-06T07:08:09Z');
const OTHER_MTIME = new Date('2022-01-01T00:00:00Z');
const BIG = Buffer.alloc(1024 * 1024 + 17, 'b');

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Stages `entries` (optionally reusing `reuse`), commits them as `diffId`. */
async function stageLayer(diffId: Digest, entries: readonly TestEntry[], reuse?: Digest): Promise<void> {
  const staged = await snapshotter.stage({ ...(reuse === undefined ? {} : { reuse }), thread: useThread });
  await staged.extract(layerTar(entries));
  await staged.commit(diffId);
}

/** Names under layers/ that are staging dirs (`.unpack-*`) or anything else hidden. */
async function leftovers(): Promise<string[]> {
  return (await readdir(join(root, 'layers'))).filter((n) => n.startsWith('.'));
}

function digestRecord(diffId: Digest): string {
  return join(root, 'digests', `${digestHex(diffId)}.json`);
}

it('has the worker script built, so the worker-thread runs below really use a worker', () => {
  expect(existsSync(new URL('../dist/extract-worker.js', import.meta.url))).toBe(true);
});

describe.each([
  ['in this thread', false],
  ['on a worker thread', true],
])('unpacking %s', (_where, thread) => {
  beforeAll(() => {
    useThread = thread;
  });

  describe('stage', () => {
    it('extracts into a staging dir and commits it as the layer, with a digest record', async () => {
      const id = sha256Digest('staged-1');
      const staged = await snapshotter.stage({ thread: useThread });
      await staged.extract(
        layerTar([
          { name: 'etc/', type: 'directory' },
          { name: 'etc/hosts', content: 'localhost\n', mode: 0o600, uid: 7, gid: 8, mtime: MTIME },
          { name: 'bin/tool', content: 'tool', mode: 0o755 },
          { name: 'bin/alias', type: 'link', linkname: 'bin/tool' },
          { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
          { name: 'big.bin', content: BIG },
          { name: 'tagged', content: 'tagged', pax: { 'SCHILY.xattr.user.test': 'v' } },
          { name: 'empty', content: '' },
        ]),
      );
      // Nothing is visible as a layer before the commit.
      expect(await snapshotter.has(id)).toBe(false);
      expect((await leftovers()).filter((n) => n.startsWith(`.unpack-${process.pid}-`))).toHaveLength(1);
      await staged.commit(id);
      expect(await snapshotter.has(id)).toBe(true);
      expect(await leftovers()).toEqual([]);
      const dir = snapshotter.layerDir(id);
      const hosts = await lstat(join(dir, 'etc/hosts'));
      expect([hosts.mode & 0o7777, hosts.uid, hosts.gid, hosts.mtimeMs]).toEqual([
        0o600,
        7,
        8,
        MTIME.getTime(),
      ]);
      expect(await readFile(join(dir, 'etc/hosts'), 'utf8')).toBe('localhost\n');
      expect((await lstat(join(dir, 'bin/alias'))).ino).toBe((await lstat(join(dir, 'bin/tool'))).ino);
      expect((await readFile(join(dir, 'big.bin'))).equals(BIG)).toBe(true);
      // Only small regular files without xattrs, each with the sha256 of its bytes.
      const record = JSON.parse(await readFile(digestRecord(id), 'utf8')) as unknown;
      expect(record).toEqual({
        files: { 'etc/hosts': sha256('localhost\n'), 'bin/tool': sha256('tool'), empty: sha256('') },
      });
    });

    it('discard removes what was extracted and commits nothing', async () => {
      const staged = await snapshotter.stage({ thread: useThread });
      await staged.extract(layerTar([{ name: 'a/b/c', content: 'c' }]));
      await staged.discard();
      expect(await readdir(join(root, 'layers'))).toEqual([]);
      expect(existsSync(join(root, 'digests'))).toBe(false);
    });

    it('commit of a layer that already exists keeps the existing one and leaves no staging dir', async () => {
      const id = sha256Digest('exists');
      await snapshotter.unpack(id, layerTar([{ name: 'who', content: 'first' }]));
      const before = await lstat(join(snapshotter.layerDir(id), 'who'));
      await stageLayer(id, [{ name: 'who', content: 'second' }]);
      expect(await readFile(join(snapshotter.layerDir(id), 'who'), 'utf8')).toBe('first');
      expect((await lstat(join(snapshotter.layerDir(id), 'who'))).ino).toBe(before.ino);
      expect(await leftovers()).toEqual([]);
      // The record describes the layer in place, so none is written for the dropped copy.
      expect(existsSync(digestRecord(id))).toBe(false);
    });

    it('prune removes digest records with their layers and keeps those of kept layers', async () => {
      const keep = sha256Digest('keep');
      const drop = sha256Digest('drop');
      await stageLayer(keep, [{ name: 'k', content: 'k' }]);
      await stageLayer(drop, [{ name: 'd', content: 'd' }]);
      expect(existsSync(digestRecord(drop))).toBe(true);
      expect(await snapshotter.prune(new Set([keep]))).toBe(1);
      expect(existsSync(digestRecord(drop))).toBe(false);
      expect(await snapshotter.has(drop)).toBe(false);
      expect(existsSync(digestRecord(keep))).toBe(true);
      expect(await snapshotter.has(keep)).toBe(true);
    });

    it('removeStale removes a staging dir and a record temp file left by a dead process', async () => {
      await mkdir(join(root, 'layers', '.unpack-999999999-abc'), { recursive: true });
      await mkdir(join(root, 'digests'), { recursive: true });
      await mkdir(join(root, 'digests', '.tmp-999999999-abc'));
      const live = await snapshotter.stage({ thread: useThread });
      const removed = await snapshotter.removeStale();
      expect(removed.sort()).toEqual(
        [join(root, 'digests', '.tmp-999999999-abc'), join(root, 'layers', '.unpack-999999999-abc')].sort(),
      );
      // This process's own staging dir is alive and stays.
      expect(await leftovers()).toHaveLength(1);
      await live.discard();
    });
  });

  describe('stage with reuse', () => {
    const OLD = sha256Digest('old-layer');
    const NEW = sha256Digest('new-layer');

    /** The older layer: every file here is a candidate for the newer one. */
    const older: TestEntry[] = [
      { name: 'same.txt', content: 'same', mtime: MTIME },
      { name: 'sub/deep/same.txt', content: 'deep', mode: 0o640, uid: 3, gid: 4, mtime: MTIME },
      { name: 'content.txt', content: 'aaaa', mtime: MTIME },
      { name: 'mode.txt', content: 'mode', mtime: MTIME },
      { name: 'owner.txt', content: 'owner', mtime: MTIME },
      { name: 'group.txt', content: 'group', mtime: MTIME },
      { name: 'mtime.txt', content: 'mtime', mtime: MTIME },
      { name: 'xattr-new.txt', content: 'xn', mtime: MTIME },
      { name: 'xattr-old.txt', content: 'xo', mtime: MTIME, pax: { 'SCHILY.xattr.user.test': 'old' } },
      { name: 'xattr-both.txt', content: 'xb', mtime: MTIME, pax: { 'SCHILY.xattr.user.test': 'b' } },
      { name: 'moved/here.txt', content: 'moved', mtime: MTIME },
    ];
    /** The newer layer: only same.txt and sub/deep/same.txt are equal in every respect. */
    const newer: TestEntry[] = [
      { name: 'same.txt', content: 'same', mtime: MTIME },
      { name: 'sub/deep/same.txt', content: 'deep', mode: 0o640, uid: 3, gid: 4, mtime: MTIME },
      { name: 'content.txt', content: 'bbbb', mtime: MTIME },
      { name: 'mode.txt', content: 'mode', mode: 0o600, mtime: MTIME },
      { name: 'owner.txt', content: 'owner', uid: 1000, mtime: MTIME },
      { name: 'group.txt', content: 'group', gid: 1000, mtime: MTIME },
      { name: 'mtime.txt', content: 'mtime', mtime: OTHER_MTIME },
      { name: 'xattr-new.txt', content: 'xn', mtime: MTIME, pax: { 'SCHILY.xattr.user.test': 'new' } },
      { name: 'xattr-old.txt', content: 'xo', mtime: MTIME },
      { name: 'xattr-both.txt', content: 'xb', mtime: MTIME, pax: { 'SCHILY.xattr.user.test': 'b' } },
      // Same bytes and attributes under another path: reuse is by path only.
      { name: 'elsewhere/here.txt', content: 'moved', mtime: MTIME },
    ];

    /** path → inode of every regular file below `dir`. */
    async function inodes(dir: string): Promise<Map<string, number>> {
      const out = new Map<string, number>();
      for (const name of await readdir(dir, { recursive: true })) {
        const st = await lstat(join(dir, name));
        if (st.isFile()) out.set(name, st.ino);
      }
      return out;
    }

    /** The files of `dir` that share an inode with the same path in `other`. */
    async function shared(dir: string, other: string): Promise<string[]> {
      const mine = await inodes(dir);
      const theirs = await inodes(other);
      return [...mine].filter(([path, ino]) => theirs.get(path) === ino).map(([path]) => path);
    }

    /** Checks every file of `newer` in the layer `id` has the content and attributes its entry says. */
    async function expectAsWritten(id: Digest): Promise<void> {
      const dir = snapshotter.layerDir(id);
      const xattrs = await readXattrs(dir);
      for (const e of newer) {
        const st = await lstat(join(dir, e.name));
        expect({
          name: e.name,
          content: await readFile(join(dir, e.name), 'utf8'),
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          mtime: st.mtimeMs,
          xattr: xattrs.get(e.name)?.['user.test']?.toString(),
        }).toEqual({
          name: e.name,
          content: String(e.content),
          mode: e.mode ?? 0o644,
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          mtime: (e.mtime ?? new Date(0)).getTime(),
          xattr: (e.pax as Record<string, string> | undefined)?.['SCHILY.xattr.user.test'],
        });
      }
    }

    it('hardlinks exactly the files equal in path, bytes, owner, mode, mtime and without xattrs', async () => {
      await stageLayer(OLD, older);
      await stageLayer(NEW, newer, OLD);
      expect((await shared(snapshotter.layerDir(NEW), snapshotter.layerDir(OLD))).sort()).toEqual([
        'same.txt',
        'sub/deep/same.txt',
      ]);
      await expectAsWritten(NEW);
      // The older layer is untouched by the newer one's extraction.
      const old = snapshotter.layerDir(OLD);
      expect(await readFile(join(old, 'content.txt'), 'utf8')).toBe('aaaa');
      expect((await lstat(join(old, 'mode.txt'))).mode & 0o7777).toBe(0o644);
      expect((await readXattrs(old)).get('xattr-old.txt')).toEqual({ 'user.test': Buffer.from('old') });
      // A linked file counts for the next rebuild too: the newer layer records every plain file.
      const record = JSON.parse(await readFile(digestRecord(NEW), 'utf8')) as {
        files: Record<string, string>;
      };
      expect(record.files['same.txt']).toBe(sha256('same'));
      expect(record.files['content.txt']).toBe(sha256('bbbb'));
      expect(record.files['xattr-new.txt']).toBeUndefined();
    });

    it('the inode comparison sees a link (so the test above can fail)', async () => {
      await stageLayer(OLD, older);
      await stageLayer(NEW, newer);
      expect(await shared(snapshotter.layerDir(NEW), snapshotter.layerDir(OLD))).toEqual([]);
      execFileSync('ln', [
        '-f',
        join(snapshotter.layerDir(OLD), 'mode.txt'),
        join(snapshotter.layerDir(NEW)),
      ]);
      expect(await shared(snapshotter.layerDir(NEW), snapshotter.layerDir(OLD))).toEqual(['mode.txt']);
    });

    it('writes plainly when the older layer has no digest record', async () => {
      await snapshotter.unpack(OLD, layerTar(older));
      await stageLayer(NEW, newer, OLD);
      expect(await shared(snapshotter.layerDir(NEW), snapshotter.layerDir(OLD))).toEqual([]);
      await expectAsWritten(NEW);
    });

    it('writes plainly when the older layer is not unpacked (a record without its layer)', async () => {
      await stageLayer(OLD, older);
      await rm(snapshotter.layerDir(OLD), { recursive: true });
      expect(existsSync(digestRecord(OLD))).toBe(true);
      await stageLayer(NEW, newer, OLD);
      await expectAsWritten(NEW);
      const sameFile = await lstat(join(snapshotter.layerDir(NEW), 'same.txt'));
      expect(sameFile.nlink).toBe(1);
    });

    it('writes plainly when the reused layer was never there', async () => {
      await stageLayer(NEW, newer, sha256Digest('never-unpacked'));
      await expectAsWritten(NEW);
      expect(await leftovers()).toEqual([]);
    });

    // A tar may name a path twice (the later entry wins; writeLayer never makes such a tar, but
    // stage() takes any): the record must describe what the layer holds, not the first entry, or
    // a rebuild links the wrong bytes.
    const replaced: Array<[string, TestEntry[]]> = [
      [
        'a hardlink',
        [
          { name: 'f.txt', content: 'aaaa', mtime: MTIME },
          { name: 'other.txt', content: 'bbbb', mtime: MTIME },
          { name: 'f.txt', type: 'link', linkname: 'other.txt' },
        ],
      ],
      [
        'a file with xattrs',
        [
          { name: 'f.txt', content: 'aaaa', mtime: MTIME },
          { name: 'f.txt', content: 'cccc', mtime: MTIME, pax: { 'SCHILY.xattr.user.test': 'x' } },
        ],
      ],
    ];
    it.each(replaced)('never links a file the older layer replaced by %s', async (_name, entries) => {
      await stageLayer(OLD, entries);
      await stageLayer(NEW, [{ name: 'f.txt', content: 'aaaa', mtime: MTIME }], OLD);
      const dir = snapshotter.layerDir(NEW);
      expect(await readFile(join(dir, 'f.txt'), 'utf8')).toBe('aaaa');
      expect((await readXattrs(dir)).get('f.txt')).toBeUndefined();
    });

    it('links a file the older layer wrote twice with the same bytes (the record follows the last entry)', async () => {
      await stageLayer(OLD, [
        { name: 'f.txt', content: 'zzzz', mtime: MTIME },
        { name: 'f.txt', content: 'aaaa', mtime: MTIME },
      ]);
      await stageLayer(NEW, [{ name: 'f.txt', content: 'aaaa', mtime: MTIME }], OLD);
      expect(await shared(snapshotter.layerDir(NEW), snapshotter.layerDir(OLD))).toEqual(['f.txt']);
      expect(await readFile(join(snapshotter.layerDir(NEW), 'f.txt'), 'utf8')).toBe('aaaa');
    });
  });

  describe('stage refuses hostile tars and leaves nothing behind', () => {
    let outside: string;
    beforeEach(async () => {
      outside = join(base, 'outside');
      await mkdir(outside);
    });

    const cases: Array<[string, (outside: string) => TestEntry[]]> = [
      ['a ../ escape', () => [{ name: '../evil', content: 'x' }]],
      ['an absolute path', () => [{ name: '/evil', content: 'x' }]],
      [
        'a write through a symlink parent',
        (out) => [
          { name: 'up', type: 'symlink', linkname: out },
          { name: 'up/evil', content: 'x' },
        ],
      ],
      [
        'a dir replaced by a symlink, then written through (memoized parent)',
        (out) => [
          { name: 'a/', type: 'directory' },
          { name: 'a/x', content: 'x' },
          { name: 'a', type: 'symlink', linkname: out },
          { name: 'a/evil', content: 'y' },
        ],
      ],
      [
        'a grandparent replaced by a symlink (every memo below it forgotten)',
        (out) => [
          { name: 'p/a/x', content: 'x' },
          { name: 'p', type: 'symlink', linkname: out },
          { name: 'p/a/evil', content: 'y' },
        ],
      ],
      [
        'a dir whited out, then a symlink in its place',
        (out) => [
          { name: 'a/x', content: 'x' },
          { name: '.wh.a', content: '' },
          { name: 'a', type: 'symlink', linkname: out },
          { name: 'a/evil', content: 'y' },
        ],
      ],
      [
        'a dir replaced by a relative symlink that climbs out',
        () => [
          { name: 'a/x', content: 'x' },
          { name: 'a', type: 'symlink', linkname: '../../../outside' },
          { name: 'a/evil', content: 'y' },
        ],
      ],
      [
        'a dir replaced by a hardlink to a file, then used as a parent',
        () => [
          { name: 'f', content: 'f' },
          { name: 'a/x', content: 'x' },
          { name: 'a', type: 'link', linkname: 'f' },
          { name: 'a/evil', content: 'y' },
        ],
      ],
    ];

    it.each(cases)('%s', async (_name, entries) => {
      const staged = await snapshotter.stage({ thread: useThread });
      const failed = await staged.extract(layerTar(entries(outside))).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failed).toMatchObject({ code: 'UNSAFE_PATH' });
      await staged.discard();
      expect(await readdir(join(root, 'layers'))).toEqual([]);
      expect(await readdir(outside)).toEqual([]);
      expect(existsSync(join(base, 'evil'))).toBe(false);
      expect(existsSync(join(root, 'evil'))).toBe(false);
    });

    it('a symlink to /etc replacing a dir is refused and nothing is written in /etc', async () => {
      const name = `kiln-stage-probe-${process.pid}`;
      const staged = await snapshotter.stage({ thread: useThread });
      await expect(
        staged.extract(
          layerTar([
            { name: 'a/', type: 'directory' },
            { name: 'a/x', content: 'x' },
            { name: 'a', type: 'symlink', linkname: '/etc' },
            { name: `a/${name}`, content: 'y' },
          ]),
        ),
      ).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
      await staged.discard();
      expect(existsSync(join('/etc', name))).toBe(false);
      expect(await readdir(join(root, 'layers'))).toEqual([]);
    });

    it('a dir replaced by a file and then by a dir again is a usable parent', async () => {
      const id = sha256Digest('replaced-twice');
      await stageLayer(id, [
        { name: 'a/', type: 'directory', mode: 0o700 },
        { name: 'a/old', content: 'old' },
        { name: 'a', content: 'now a file' },
        { name: 'a/', type: 'directory', mode: 0o750 },
        { name: 'a/z', content: 'z' },
      ]);
      const dir = snapshotter.layerDir(id);
      expect((await lstat(join(dir, 'a'))).mode & 0o7777).toBe(0o750);
      expect(await readdir(join(dir, 'a'))).toEqual(['z']);
      expect(await readFile(join(dir, 'a/z'), 'utf8')).toBe('z');
    });
  });
});
