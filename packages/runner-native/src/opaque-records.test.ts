import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestHex, sha256Digest } from '@kiln/oci';
import { Snapshotter } from './snapshotter.js';
import { layerTar } from './test/layer-tar.js';

// A layer's opaque directories are found by a helper walk once and kept beside the unpacked
// layers, so later processes (every WORKDIR/COPY looks up paths through them) skip the walk.

let base: string;
let root: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-opaque-rec-'));
  root = join(base, 'store');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const asRoot = process.getuid?.() === 0 ? it : it.skip;
const layerWithOpaque = (name: string) =>
  layerTar([
    { name: `${name}/`, type: 'directory' },
    { name: `${name}/.wh..wh..opq`, content: '' },
    { name: `${name}/kept`, content: 'k' },
  ]);

asRoot('records the walk once and later snapshotters read the record instead of walking', async () => {
  const id = sha256Digest('opaque-layer');
  await new Snapshotter(root).unpack(id, layerWithOpaque('var'));
  const record = join(root, 'opaque', `${digestHex(id)}.json`);
  expect(existsSync(record)).toBe(false);

  expect(await new Snapshotter(root).opaqueDirs(id)).toEqual(new Set(['var']));
  expect(JSON.parse(await readFile(record, 'utf8'))).toEqual({ opaque: ['var'] });

  // What a new process believes comes from the record (proved by changing it), not a new walk.
  await writeFile(record, JSON.stringify({ opaque: ['from-record'] }));
  expect(await new Snapshotter(root).opaqueDirs(id)).toEqual(new Set(['from-record']));

  // A record that is not whole (an empty file, junk) is walked again and rewritten.
  for (const junk of ['', '{"opaque":[1]}', 'not json']) {
    await writeFile(record, junk);
    expect(await new Snapshotter(root).opaqueDirs(id)).toEqual(new Set(['var']));
    expect(JSON.parse(await readFile(record, 'utf8'))).toEqual({ opaque: ['var'] });
  }
  expect((await readdir(join(root, 'opaque'))).filter((n) => n.startsWith('.'))).toEqual([]);
});

asRoot(
  'prune drops the records of the layers it removes; removeStale drops dead writers’ temp files',
  async () => {
    const gone = sha256Digest('gone');
    const kept = sha256Digest('kept');
    const snapshotter = new Snapshotter(root);
    await snapshotter.unpack(gone, layerWithOpaque('a'));
    await snapshotter.unpack(kept, layerWithOpaque('b'));
    await snapshotter.opaqueDirs(gone);
    await snapshotter.opaqueDirs(kept);
    expect((await readdir(join(root, 'opaque'))).sort()).toEqual(
      [`${digestHex(gone)}.json`, `${digestHex(kept)}.json`].sort(),
    );

    expect(await snapshotter.prune(new Set([kept]))).toBe(1);
    expect(await readdir(join(root, 'opaque'))).toEqual([`${digestHex(kept)}.json`]);
    expect(await snapshotter.opaqueDirs(kept)).toEqual(new Set(['b']));

    // A temp record of a process that died before its rename; the pid is one that has exited.
    const dead = spawnSync('true').pid;
    await mkdir(join(root, 'opaque'), { recursive: true });
    await writeFile(join(root, 'opaque', `.tmp-${dead}-abc`), '{"opaque":[');
    await writeFile(join(root, 'opaque', `.tmp-${process.pid}-mine`), '{');
    const removed = await snapshotter.removeStale();
    expect(removed).toEqual([join(root, 'opaque', `.tmp-${dead}-abc`)]);
    expect((await readdir(join(root, 'opaque'))).sort()).toEqual(
      [`.tmp-${process.pid}-mine`, `${digestHex(kept)}.json`].sort(),
    );
  },
);
