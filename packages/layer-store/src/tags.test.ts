import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { MediaType, REF_NAME_ANNOTATION, type Descriptor } from '@kiln/oci';
import { LayerStore } from './index.js';

const run = promisify(execFile);
const workspace = resolve(process.cwd());
const dist = join(workspace, 'packages', 'layer-store', 'dist', 'index.js');

let root: string;
let store: LayerStore;
let manifest: Descriptor;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-tags-'));
  store = await LayerStore.open(root);
  manifest = await store.putJson({ schemaVersion: 2, layers: [] }, MediaType.ImageManifest);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

test('tag, resolve, replace and list', async () => {
  await store.tag('app:1', manifest);
  await store.tag('app', manifest);
  expect(await store.resolveTag('app:1')).toEqual({
    ...manifest,
    annotations: { [REF_NAME_ANNOTATION]: 'app:1' },
  });
  expect(await store.resolveTag('app:latest')).toBeDefined();
  expect(await store.resolveTag('other:1')).toBeUndefined();
  const other = await store.putJson({ schemaVersion: 2, layers: [], n: 2 }, MediaType.ImageManifest);
  await store.tag('app:1', other);
  const tags = await store.listTags();
  expect(tags.map((t) => [t.name, t.descriptor.digest])).toEqual([
    ['app:1', other.digest],
    ['app:latest', manifest.digest],
  ]);
  const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as { manifests: unknown[] };
  expect(index.manifests).toHaveLength(2);
  expect(existsSync(join(root, 'kiln', 'lock'))).toBe(false);
});

test('tag rejects bad names and unknown manifests', async () => {
  await expect(store.tag('Bad Name', manifest)).rejects.toMatchObject({ code: 'INVALID_TAG' });
  const absent = { ...manifest, digest: `sha256:${'1'.repeat(64)}` } as Descriptor;
  await expect(store.tag('app:1', absent)).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
});

test('concurrent tags from one process lose no entry', async () => {
  await Promise.all(Array.from({ length: 40 }, (_, i) => store.tag(`app:t${i}`, manifest)));
  expect((await store.listTags()).length).toBe(40);
  expect(await readdir(join(root, 'kiln', 'tmp'))).toEqual([]);
});

test('a lock left by a dead process is taken over', async () => {
  const { writeFile } = await import('node:fs/promises');
  const { hostname } = await import('node:os');
  await writeFile(join(root, 'kiln', 'lock'), `4194305\n${hostname()}\ndeadbeef\n`);
  await store.tag('app:1', manifest);
  expect(await store.resolveTag('app:1')).toBeDefined();
});

test('concurrent tags from several processes lose no entry', async () => {
  await run('npx', ['tsc', '-b', 'packages/layer-store'], { cwd: workspace });
  if (!existsSync(dist)) {
    console.warn(`skipping the multi-process part: ${dist} was not built`);
    return;
  }
  const script = `
    const { LayerStore } = await import(${JSON.stringify(pathToFileURL(dist).href)});
    const [root, prefix, digest, size] = process.argv.slice(1);
    const store = await LayerStore.open(root);
    const d = { mediaType: ${JSON.stringify(MediaType.ImageManifest)}, digest, size: Number(size) };
    await Promise.all(Array.from({ length: 15 }, (_, i) => store.tag('app:' + prefix + i, d)));
  `;
  const children = Array.from({ length: 4 }, (_, p) =>
    run(process.execPath, [
      '--input-type=module',
      '-e',
      script,
      root,
      `p${p}-`,
      manifest.digest,
      String(manifest.size),
    ]),
  );
  await Promise.all([
    ...children,
    ...Array.from({ length: 15 }, (_, i) => store.tag(`app:main${i}`, manifest)),
  ]);
  const names = (await store.listTags()).map((t) => t.name);
  expect(names).toHaveLength(75);
  expect(new Set(names).size).toBe(75);
  // The stand-in manifest is not a full image, so verify() reports only that.
  for (const problem of (await store.verify()).problems) {
    expect(problem).toMatch(/^manifest sha256:[0-9a-f]{64}: invalid manifest config descriptor$/);
  }
  expect(existsSync(join(root, 'kiln', 'lock'))).toBe(false);
});
