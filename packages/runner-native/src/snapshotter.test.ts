import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from '@kiln/oci';
import { Snapshotter } from './snapshotter.js';
import { opaqueDirs } from './opaque-dirs.js';
import { layerTar } from './test/layer-tar.js';

let base: string;
let snapshotter: Snapshotter;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-snap-'));
  snapshotter = new Snapshotter(join(base, 'store'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const MTIME = new Date('2021-05-06T07:08:09Z');

describe('unpack', () => {
  it('writes owner, mode, mtime, symlinks, hardlinks, whiteouts and opaque dirs', async () => {
    const id = sha256Digest('layer-1');
    await snapshotter.unpack(
      id,
      layerTar([
        { name: './', type: 'directory', mode: 0o755 },
        { name: './usr/bin/tool', content: 'x', mode: 0o4755, uid: 1000, gid: 1001, mtime: MTIME },
        { name: 'usr/bin/alias', type: 'link', linkname: './usr/bin/tool' },
        { name: 'usr/lib', type: 'symlink', linkname: '/somewhere/else' },
        { name: 'var/', type: 'directory', mode: 0o700, mtime: MTIME },
        { name: 'var/.wh..wh..opq', content: '' },
        { name: 'etc/.wh.motd', content: '' },
      ]),
    );
    const dir = snapshotter.layerDir(id);
    const tool = await lstat(join(dir, 'usr/bin/tool'));
    expect(tool.mode & 0o7777).toBe(0o4755);
    expect([tool.uid, tool.gid, tool.nlink]).toEqual([1000, 1001, 2]);
    expect(tool.mtime.getTime()).toBe(MTIME.getTime());
    expect((await lstat(join(dir, 'usr/bin/alias'))).ino).toBe(tool.ino);
    expect(await readlink(join(dir, 'usr/lib'))).toBe('/somewhere/else');
    const varDir = await lstat(join(dir, 'var'));
    expect([varDir.mode & 0o7777, varDir.mtime.getTime()]).toEqual([0o700, MTIME.getTime()]);
    expect(await readdir(join(dir, 'var'))).toEqual([]);
    const motd = await lstat(join(dir, 'etc/motd'));
    expect([motd.isCharacterDevice(), motd.rdev]).toEqual([true, 0]);
    expect(await opaqueDirs(dir)).toEqual(new Set(['var']));
    expect(await snapshotter.has(id)).toBe(true);
  });

  it('is safe when two unpackers race on the same layer (one loses the rename)', async () => {
    const id = sha256Digest('layer-race');
    const other = new Snapshotter(join(base, 'store'));
    const entries = [{ name: 'a.txt', content: 'a' }];
    await Promise.all([snapshotter.unpack(id, layerTar(entries)), other.unpack(id, layerTar(entries))]);
    expect(await readFile(join(snapshotter.layerDir(id), 'a.txt'), 'utf8')).toBe('a');
    expect((await readdir(join(base, 'store/layers'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  const hostile: Array<[string, Parameters<typeof layerTar>[0]]> = [
    ['a ../ escape', [{ name: '../evil', content: 'x' }]],
    ['a nested ../ escape', [{ name: 'a/../../evil', content: 'x' }]],
    ['an absolute path', [{ name: '/evil', content: 'x' }]],
    [
      'a write through a symlink parent',
      [
        { name: 'up', type: 'symlink', linkname: '../../..' },
        { name: 'up/evil', content: 'x' },
      ],
    ],
    [
      'a write through an absolute symlink parent',
      [
        { name: 'out', type: 'symlink', linkname: '/tmp' },
        { name: 'out/evil', content: 'x' },
      ],
    ],
    ['a hardlink escape', [{ name: 'evil', type: 'link', linkname: '../../../etc/passwd' }]],
  ];
  it.each(hostile)('rejects %s and leaves nothing behind', async (_name, entries) => {
    const id = sha256Digest(`hostile-${_name}`);
    await expect(snapshotter.unpack(id, layerTar(entries))).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(await snapshotter.has(id)).toBe(false);
    expect(await readdir(join(base, 'store/layers'))).toEqual([]);
    expect(existsSync(join(base, 'evil'))).toBe(false);
    expect(existsSync(join(base, 'store/evil'))).toBe(false);
    expect(existsSync('/tmp/evil')).toBe(false);
  });
});

describe('stat', () => {
  it('looks a path up through the layers as overlayfs would', async () => {
    const bottom = sha256Digest('bottom');
    const top = sha256Digest('top');
    await snapshotter.unpack(
      bottom,
      layerTar([
        { name: 'usr/lib/libc.so', content: 'c' },
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'opt/old/file', content: 'o' },
        { name: 'gone.txt', content: 'g' },
        { name: 'dir/kept', content: 'k' },
      ]),
    );
    await snapshotter.unpack(
      top,
      layerTar([
        { name: '.wh.gone.txt', content: '' },
        { name: 'opt/.wh..wh..opq', content: '' },
        { name: 'opt/new', type: 'directory', mode: 0o750 },
        { name: 'dir/added', content: 'a' },
      ]),
    );
    const layers = [bottom, top];
    expect(await snapshotter.stat(layers, '/gone.txt')).toBeUndefined();
    expect(await snapshotter.stat([bottom], 'gone.txt')).toMatchObject({ type: 'file', size: 1 });
    expect(await snapshotter.stat(layers, 'opt/old/file')).toBeUndefined();
    expect(await snapshotter.stat(layers, 'opt/new')).toMatchObject({ type: 'directory', mode: 0o750 });
    expect(await snapshotter.stat(layers, 'dir/kept')).toMatchObject({ type: 'file' });
    expect(await snapshotter.stat(layers, 'dir/added')).toMatchObject({ type: 'file' });
    expect(await snapshotter.stat(layers, '/lib')).toMatchObject({ type: 'symlink', linkname: 'usr/lib' });
    expect(await snapshotter.stat(layers, '/lib/libc.so')).toMatchObject({
      path: 'usr/lib/libc.so',
      type: 'file',
    });
    expect(await snapshotter.stat(layers, '/nope')).toBeUndefined();
  });
});
