import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, ok, run, tempDir } from './support/kiln.js';

// `kiln import` under SOURCE_DATE_EPOCH, as `kiln build`: the image is created then and no file
// is later, so one root filesystem gives one digest in any store at any time.
const tmp = tempDir('kiln-import-epoch-');
afterAll(() => tmp.cleanup());

const epoch = 1_700_000_000;
// tar prints file times in the local zone.
process.env.TZ = 'UTC';

function rootfs(): string {
  const dir = join(tmp.path, 'rootfs');
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'new.conf'), 'written now\n');
  writeFileSync(join(dir, 'etc', 'old.conf'), 'written long ago\n');
  utimesSync(join(dir, 'etc', 'old.conf'), 1000, 1000);
  return dir;
}

/** `kiln inspect`'s config of a name in a store. */
function config(root: string, name: string): { created: string; history: { created: string }[] } {
  return (JSON.parse(ok(kiln(root, ['inspect', name]))) as { config: never }).config;
}

it('gives the same digest in two stores, created at the epoch, with later file times clamped', () => {
  const dir = rootfs();
  const env = { SOURCE_DATE_EPOCH: String(epoch) };
  const [a, b] = ['a', 'b'].map((s) => join(tmp.path, `store-${s}`));
  const digestA = ok(kiln(a as string, ['import', dir, 'base:1'], env));
  const digestB = ok(kiln(b as string, ['import', dir, 'base:1'], env));
  expect(digestA).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(digestB).toBe(digestA);
  const created = new Date(epoch * 1000).toISOString();
  expect(config(a as string, 'base:1')).toMatchObject({ created, history: [{ created }] });

  // The layer's file times, as an independent tool reads them (umoci unpacks the image).
  const layout = join(tmp.path, 'layout');
  ok(kiln(a as string, ['save', 'base:1', '-o', join(tmp.path, 'base.tar')]));
  mkdirSync(layout);
  run('tar', ['-xf', join(tmp.path, 'base.tar'), '-C', layout]);
  const listing = run('tar', ['-tvzf', join(layout, 'blobs', 'sha256', layerHex(layout)), '--full-time']);
  expect(listing).toMatch(/2023-11-14 22:13:20 etc\/new\.conf/);
  expect(listing).toMatch(/1970-01-01 00:16:40 etc\/old\.conf/);

  // Without it, created is the time of the import, as docker's.
  const c = join(tmp.path, 'store-c');
  ok(kiln(c, ['import', dir, 'base:1']));
  expect(Date.parse(config(c, 'base:1').created)).toBeGreaterThan(Date.now() - 600_000);
});

/** The hex digest of the only layer of the saved image in `layout` (docker-archive manifest.json). */
function layerHex(layout: string): string {
  const manifest = JSON.parse(run('cat', [join(layout, 'manifest.json')])) as { Layers: string[] }[];
  const layer = manifest[0]?.Layers[0] ?? '';
  return layer.replace(/^.*\//, '').replace(/\.tar(\.gz)?$/, '');
}
