import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { digestHex, hostPlatform, type ImageConfig } from '@kiln/oci';
import { LayerStore, type Layer } from './index.js';

const run = promisify(execFile);
let work: string;
let store: LayerStore;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-io-'));
  store = await LayerStore.open(join(work, 'store'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function hasTool(name: string): boolean {
  const found = ['/usr/bin', '/usr/local/bin', '/bin'].some((d) => existsSync(join(d, name)));
  if (!found) console.warn(`skipping the ${name} check: ${name} is not installed`);
  return found;
}

async function makeRootfs(): Promise<string> {
  const dir = join(work, 'rootfs');
  await mkdir(join(dir, 'usr', 'bin'), { recursive: true });
  await mkdir(join(dir, 'etc', 'deep', 'er'), { recursive: true });
  await writeFile(join(dir, 'usr', 'bin', 'hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  await writeFile(join(dir, 'etc', 'deep', 'er', 'conf'), 'x=1\n', { mode: 0o600 });
  await link(join(dir, 'usr', 'bin', 'hello'), join(dir, 'usr', 'bin', 'hi'));
  await symlink('usr/bin', join(dir, 'bin'));
  await utimes(join(dir, 'etc', 'deep', 'er', 'conf'), new Date(1e9 * 1000), new Date(1e9 * 1000));
  return dir;
}

async function layerEntries(layer: Layer): Promise<Map<string, tar.Header>> {
  const out = new Map<string, tar.Header>();
  const extract = tar.extract();
  const done = pipeline(await store.openBlob(layer.descriptor.digest), createGunzip(), extract);
  for await (const entry of extract) {
    entry.resume();
    out.set(entry.header.name, entry.header);
  }
  await done;
  return out;
}

async function imageOf(layers: Layer[]): Promise<Awaited<ReturnType<LayerStore['writeImage']>>> {
  const { os, architecture } = hostPlatform();
  const config: ImageConfig = {
    architecture,
    os,
    config: { Cmd: ['/usr/bin/hello'] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: layers.map(() => ({ created_by: 'test' })),
  };
  return store.writeImage(config, layers);
}

test('importRootfs walks a directory: nested dirs, symlink, hardlink, modes, mtimes', async () => {
  const layer = await store.importRootfs(await makeRootfs());
  const entries = await layerEntries(layer);
  expect([...entries.keys()]).toEqual([
    'bin',
    'etc/',
    'etc/deep/',
    'etc/deep/er/',
    'etc/deep/er/conf',
    'usr/',
    'usr/bin/',
    'usr/bin/hello',
    'usr/bin/hi',
  ]);
  expect(entries.get('bin')).toMatchObject({ type: 'symlink', linkname: 'usr/bin' });
  expect(entries.get('usr/bin/hello')).toMatchObject({ type: 'file', mode: 0o755 });
  expect(entries.get('usr/bin/hi')).toMatchObject({ type: 'link', linkname: 'usr/bin/hello' });
  expect(entries.get('etc/deep/er/conf')).toMatchObject({ mode: 0o600, mtime: new Date(1e9 * 1000) });
  // The same tree imports to the same layer.
  expect(await store.importRootfs(join(work, 'rootfs'))).toEqual(layer);
});

test('importRootfs re-reads tar and tar.gz files and matches the directory import', async () => {
  const dir = await makeRootfs();
  const fromDir = await store.importRootfs(dir);
  await run('tar', ['-C', dir, '-cf', join(work, 'rootfs.tar'), '.']);
  await run('tar', ['-C', dir, '-czf', join(work, 'rootfs.tar.gz'), '.']);
  expect((await store.importRootfs(join(work, 'rootfs.tar'))).diffId).toBe(fromDir.diffId);
  expect((await store.importRootfs(join(work, 'rootfs.tar.gz'))).diffId).toBe(fromDir.diffId);
  expect(await readdirSafe(join(work, 'store', 'kiln', 'tmp'))).toEqual([]);
});

test('importRootfs rejects tar entries that escape the root', async () => {
  for (const name of ['../evil', '/etc/passwd', 'a/../../evil']) {
    const pack = tar.pack();
    pack.entry({ name, size: 1, mode: 0o644, mtime: new Date(0) }, 'x');
    pack.finalize();
    const file = join(work, 'hostile.tar');
    await pipeline(pack, (await import('node:fs')).createWriteStream(file));
    await expect(store.importRootfs(file)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
  }
  expect(existsSync(join(work, 'evil'))).toBe(false);
  expect(await readdirSafe(join(work, 'store', 'kiln', 'tmp'))).toEqual([]);
});

test('writeImage/readImage round-trip, and the store itself is readable by skopeo', async () => {
  const layer = await store.importRootfs(await makeRootfs());
  const image = await imageOf([layer]);
  expect(image.config.rootfs.diff_ids).toEqual([layer.diffId]);
  expect(await store.readImage(image.manifestDescriptor.digest)).toEqual(image);
  await store.tag('test/app:1', image.manifestDescriptor);
  if (!hasTool('skopeo')) return;
  const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${join(work, 'store')}:test/app:1`]);
  expect(JSON.parse(stdout)).toEqual(image.manifest);
});

test('exportOciLayout as a directory is unpacked by umoci and inspected by skopeo', async () => {
  const image = await imageOf([await store.importRootfs(await makeRootfs())]);
  const dest = join(work, 'layout');
  await store.exportOciLayout(image, 'v1', dest, { tar: false });
  const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: unknown[] };
  expect(index.manifests).toEqual([
    { ...image.manifestDescriptor, annotations: { 'org.opencontainers.image.ref.name': 'v1' } },
  ]);
  if (hasTool('skopeo')) {
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${dest}:v1`]);
    expect(JSON.parse(stdout)).toEqual(image.manifest);
  }
  if (hasTool('umoci')) {
    const bundle = join(work, 'bundle');
    await run('umoci', ['unpack', '--image', `${dest}:v1`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    expect(await readFile(join(rootfs, 'usr', 'bin', 'hello'), 'utf8')).toBe('#!/bin/sh\necho hello\n');
    expect(await readlink(join(rootfs, 'bin'))).toBe('usr/bin');
    expect((await stat(join(rootfs, 'usr', 'bin', 'hi'))).ino).toBe(
      (await stat(join(rootfs, 'usr', 'bin', 'hello'))).ino,
    );
    expect((await lstat(join(rootfs, 'etc', 'deep', 'er', 'conf'))).mode & 0o777).toBe(0o600);
  }
});

test('exportOciLayout as a tar is deterministic and readable by skopeo and umoci', async () => {
  const image = await imageOf([await store.importRootfs(await makeRootfs())]);
  const a = join(work, 'a.tar');
  const b = join(work, 'b.tar');
  await store.exportOciLayout(image, 'v1', a, { tar: true });
  await store.exportOciLayout(image, 'v1', b, { tar: true });
  expect((await readFile(a)).equals(await readFile(b))).toBe(true);
  if (hasTool('skopeo')) {
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci-archive:${a}:v1`]);
    expect(JSON.parse(stdout)).toEqual(image.manifest);
  }
  if (hasTool('umoci')) {
    const unpacked = join(work, 'unpacked');
    await mkdir(unpacked);
    await run('tar', ['-C', unpacked, '-xf', a]);
    await run('umoci', ['unpack', '--image', `${unpacked}:v1`, join(work, 'bundle')]);
    expect(existsSync(join(work, 'bundle', 'rootfs', 'usr', 'bin', 'hello'))).toBe(true);
  }
});

test('verify reports deleted and corrupted blobs', async () => {
  const layer = await store.importRootfs(await makeRootfs());
  const image = await imageOf([layer]);
  await store.tag('app:1', image.manifestDescriptor);
  expect(await store.verify()).toEqual({ ok: true, problems: [] });
  const blobs = join(work, 'store', 'blobs', 'sha256');
  const layerFile = join(blobs, digestHex(layer.descriptor.digest));
  const bytes = await readFile(layerFile);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 5) ^ 1, bytes.length - 5);
  await writeFile(layerFile, bytes);
  await rm(join(blobs, digestHex(image.manifest.config.digest)));
  const report = await store.verify();
  expect(report.ok).toBe(false);
  expect(report.problems.join('\n')).toContain(
    `blobs/sha256/${digestHex(layer.descriptor.digest)}: content hashes to`,
  );
  expect(report.problems.join('\n')).toContain(`blob ${image.manifest.config.digest} is missing`);
  await expect(store.readImage(image.manifestDescriptor.digest)).rejects.toMatchObject({
    code: 'BLOB_NOT_FOUND',
  });
});

async function readdirSafe(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return readdir(dir);
}
