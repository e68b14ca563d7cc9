import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestHex, sha256Digest, type FsChange } from '@kiln/oci';
import { opaqueDirs } from './opaque-dirs.js';
import { Snapshotter } from './snapshotter.js';
import type { Snapshot } from './snapshot.js';
import { busyboxEntries, layerTar } from './test/layer-tar.js';
import { mountTable, runScript } from './test/step-fixture.js';

// Snapshotter.adoptUpper: a RUN step's overlay upper dir becomes the unpacked layer itself, so
// it must already be in lower-dir form (whiteouts, opaque markers) and give the same merged view.

const BUSYBOX = sha256Digest('busybox-layer');
const LOWER = sha256Digest('lower-layer');
const MTIME = new Date('2021-05-06T07:08:09Z');

let base: string;
let root: string;
let snapshotter: Snapshotter;
let mountsBefore: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-adopt-'));
  root = join(base, 'store');
  snapshotter = new Snapshotter(root, { kind: 'overlay' });
  await snapshotter.unpack(BUSYBOX, layerTar(busyboxEntries()));
  await snapshotter.unpack(
    LOWER,
    layerTar([
      { name: 'gone.txt', content: 'gone', mtime: MTIME },
      { name: 'keep.txt', content: 'keep', mtime: MTIME },
      { name: 'chm.txt', content: 'chm', mode: 0o644, mtime: MTIME },
      { name: 'd/', type: 'directory', mode: 0o755 },
      { name: 'd/old', content: 'old' },
      { name: 'd/sub/older', content: 'older' },
    ]),
  );
  mountsBefore = await mountTable(base);
});
afterAll(async () => {
  // Every step runs in its own mount namespace: the host's mount table never changes.
  expect(await mountTable(base)).toBe(mountsBefore);
  await rm(base, { recursive: true, force: true });
});

/** Reads a snapshot's changes to the end (adoptUpper needs the walk's opaque dirs). */
async function readChanges(snapshot: Snapshot): Promise<FsChange[]> {
  const out: FsChange[] = [];
  for await (const c of snapshot.changes()) out.push(c);
  return out;
}

const STEP = [
  'echo hi > /new.txt',
  'chmod 600 /new.txt',
  'chown 1000:2000 /new.txt',
  'chmod 700 /chm.txt',
  'rm /gone.txt',
  'rm -rf /d && mkdir /d && touch /d/new',
  'ln -s /new.txt /sym',
  'ln /new.txt /hard',
  'mkdir -p /m/n && chmod 750 /m',
  // The root's attributes are not part of a layer: the adopted dir must not keep them.
  'chmod 711 /',
].join(' && ');

describe('adoptUpper', () => {
  const ADOPTED = sha256Digest('adopted-layer');

  it('makes the upper dir the layer, in lower-dir form, and the merged view stays right', async () => {
    const snapshot = await snapshotter.prepare([BUSYBOX, LOWER]);
    if (snapshot.kind !== 'overlay') throw new Error('expected an overlay snapshot');
    const upper = snapshot.upperDir;
    try {
      const r = await runScript(snapshot, STEP);
      expect([r.exitCode, r.stderr]).toEqual([0, '']);
      const changes = await readChanges(snapshot);
      // The changeset saw the same operations (a sanity check of the step itself).
      expect(changes).toContainEqual({ kind: 'delete', path: 'gone.txt' });
      expect(changes).toContainEqual({ kind: 'opaque', path: 'd' });
      expect(await snapshotter.adoptUpper(snapshot, ADOPTED)).toBe(true);
      expect(existsSync(upper)).toBe(false);
    } finally {
      await snapshot.release();
    }
    expect(await readdir(join(root, 'active'))).toEqual([]);
    expect(await snapshotter.has(ADOPTED)).toBe(true);

    const dir = snapshotter.layerDir(ADOPTED);
    const top = await lstat(dir);
    expect([top.uid, top.gid, top.mode & 0o7777]).toEqual([0, 0, 0o755]);
    const gone = await lstat(join(dir, 'gone.txt'));
    expect([gone.isCharacterDevice(), gone.rdev]).toEqual([true, 0]);
    const opaque = await opaqueDirs(dir);
    expect(opaque).toEqual(new Set(['d']));
    const record = JSON.parse(
      await readFile(join(root, 'opaque', `${digestHex(ADOPTED)}.json`), 'utf8'),
    ) as unknown;
    expect(record).toEqual({ opaque: [...opaque] });
    // Another process reads the record, not the walk, and gets the same answer.
    expect(await new Snapshotter(root).opaqueDirs(ADOPTED)).toEqual(opaque);
    expect(await readdir(join(dir, 'd'))).toEqual(['new']);
    const file = await lstat(join(dir, 'new.txt'));
    expect([file.mode & 0o7777, file.uid, file.gid]).toEqual([0o600, 1000, 2000]);
    expect(await readFile(join(dir, 'new.txt'), 'utf8')).toBe('hi\n');
    expect((await lstat(join(dir, 'hard'))).ino).toBe(file.ino);
    expect(await readlink(join(dir, 'sym'))).toBe('/new.txt');
    expect((await lstat(join(dir, 'chm.txt'))).mode & 0o7777).toBe(0o700);
    expect((await lstat(join(dir, 'm'))).mode & 0o7777).toBe(0o750);
    // Untouched lower files are not copied up.
    expect(existsSync(join(dir, 'keep.txt'))).toBe(false);

    const next = await snapshotter.prepare([BUSYBOX, LOWER, ADOPTED]);
    try {
      const view = await runScript(
        next,
        [
          'cat /new.txt /keep.txt; echo',
          'ls -A /d',
          'test -e /gone.txt && echo present || echo absent',
          'test -e /d/sub && echo sub || echo no-sub',
          'stat -c "%a %u:%g" /new.txt /chm.txt',
          'readlink /sym',
          'stat -c %i /new.txt /hard | uniq | wc -l',
          'stat -c %a /',
        ].join('; '),
      );
      expect(view.stderr).toBe('');
      expect(view.stdout).toBe(
        [
          'hi',
          'keep',
          'new',
          'absent',
          'no-sub',
          '600 1000:2000',
          '700 0:0',
          '/new.txt',
          '1',
          '755',
          '',
        ].join('\n'),
      );
      // A step on the adopted layer starts from a clean upper dir.
      expect(await readChanges(next)).toEqual([]);
    } finally {
      await next.release();
    }
  });

  it('returns false for a layer that is already there, and leaves the upper dir alone', async () => {
    expect(await snapshotter.has(ADOPTED)).toBe(true);
    const before = await readdir(snapshotter.layerDir(ADOPTED));
    const snapshot = await snapshotter.prepare([BUSYBOX]);
    if (snapshot.kind !== 'overlay') throw new Error('expected an overlay snapshot');
    try {
      expect((await runScript(snapshot, 'echo other > /other.txt')).exitCode).toBe(0);
      await readChanges(snapshot);
      expect(await snapshotter.adoptUpper(snapshot, ADOPTED)).toBe(false);
      expect(await readdir(snapshot.upperDir)).toEqual(['other.txt']);
      expect(await readdir(snapshotter.layerDir(ADOPTED))).toEqual(before);
    } finally {
      await snapshot.release();
    }
    expect(await readdir(join(root, 'active'))).toEqual([]);
  });

  it('returns false for a persistent snapshot, which keeps its upper dir', async () => {
    const dir = join(base, 'container');
    const id = sha256Digest('persistent-layer');
    const snapshot = await snapshotter.openPersistent([BUSYBOX], dir);
    try {
      expect((await runScript(snapshot, 'echo p > /p.txt')).exitCode).toBe(0);
      await readChanges(snapshot);
      expect(await snapshotter.adoptUpper(snapshot, id)).toBe(false);
      expect(await snapshotter.has(id)).toBe(false);
      expect(await readFile(join(dir, 'upper', 'p.txt'), 'utf8')).toBe('p\n');
    } finally {
      await snapshot.release();
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('returns false for a copy snapshot', async () => {
    const copies = new Snapshotter(root, { kind: 'copy' });
    const id = sha256Digest('copy-layer');
    const snapshot = await copies.prepare([BUSYBOX]);
    try {
      expect((await runScript(snapshot, 'echo c > /c.txt')).exitCode).toBe(0);
      await readChanges(snapshot);
      expect(await copies.adoptUpper(snapshot, id)).toBe(false);
      expect(await copies.has(id)).toBe(false);
    } finally {
      await snapshot.release();
    }
  });

  it('returns false for an overlay snapshot of another snapshotter root', async () => {
    const other = new Snapshotter(join(base, 'other'), { kind: 'overlay' });
    await other.unpack(BUSYBOX, layerTar(busyboxEntries()));
    const id = sha256Digest('foreign-layer');
    const snapshot = await other.prepare([BUSYBOX]);
    try {
      expect((await runScript(snapshot, 'echo f > /f.txt')).exitCode).toBe(0);
      await readChanges(snapshot);
      expect(await snapshotter.adoptUpper(snapshot, id)).toBe(false);
      expect(await snapshotter.has(id)).toBe(false);
    } finally {
      await snapshot.release();
    }
  });
});
