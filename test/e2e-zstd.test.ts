import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, run, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';

// `--output type=oci,compression=zstd`: the store keeps gzip layers, the export converts them once
// (remembered by diffID and algorithm) into zstd frames with OCI's zstd media type. The zstd CLI
// and skopeo, independent readers, check the result; Docker archives refuse zstd.

let work: ReturnType<typeof tempDir>;
let store: string;
let ctx: string;
beforeAll(() => {
  work = tempDir('kiln-zstd-');
  store = join(work.path, 'store');
  storeWithBusybox(store);
  // Over 1 MiB of tar, so the layer spans several zstd frames.
  ctx = writeContext(work.path, 'ctx', 'FROM busybox:latest\nRUN seq 1 400000 > /numbers && echo z > /z\n');
});
afterAll(() => work.cleanup());

interface Manifest {
  readonly config: { readonly digest: string };
  readonly layers: ReadonlyArray<{
    readonly mediaType: string;
    readonly digest: string;
    readonly size: number;
  }>;
}

function build(dest: string, compression: string): { status: number | null; stderr: string } {
  return kiln(store, [
    'build',
    '-q',
    '-t',
    'z:1',
    '--output',
    `type=oci,dest=${dest},tar=false,compression=${compression}`,
    ctx,
  ]);
}

function readLayout(dir: string): { manifest: Manifest; diffIds: string[] } {
  const raw = run('skopeo', ['inspect', '--raw', `oci:${dir}:1`]);
  const manifest = JSON.parse(raw) as Manifest;
  const config = JSON.parse(
    readFileSync(join(dir, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'),
  ) as {
    rootfs: { diff_ids: string[] };
  };
  return { manifest, diffIds: config.rootfs.diff_ids };
}

test('an OCI output with zstd layers: every layer decompresses to its diffID', () => {
  const dest = join(work.path, 'zstd-layout');
  const r = build(dest, 'zstd');
  if (r.status !== 0) throw new Error(r.stderr);
  const { manifest, diffIds } = readLayout(dest);
  expect(manifest.layers.map((l) => l.mediaType)).toEqual(
    diffIds.map(() => 'application/vnd.oci.image.layer.v1.tar+zstd'),
  );
  for (const [i, layer] of manifest.layers.entries()) {
    const file = join(dest, 'blobs', 'sha256', layer.digest.slice(7));
    const tar = execFileSync('zstd', ['-dc', file], { maxBuffer: 1 << 30 });
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(diffIds[i]);
  }
  const top = join(dest, 'blobs', 'sha256', manifest.layers.at(-1)?.digest.slice(7) ?? '');
  // Several frames: the magic number appears more than once.
  const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
  const bytes = readFileSync(top);
  expect(bytes.indexOf(magic, 1)).toBeGreaterThan(0);
  expect(run('skopeo', ['inspect', `oci:${dest}:1`])).toMatch(/"Layers"/);
  // skopeo (Go's zstd reader, frames concatenated) decompresses every layer to its diffID.
  // (umoci 0.4.7 has no zstd support, and skopeo refuses zstd in docker archives, as kiln does.)
  const plain = join(work.path, 'decompressed');
  run('skopeo', ['copy', '-q', '--dest-decompress', `oci:${dest}:1`, `dir:${plain}`]);
  for (const diffId of diffIds) {
    const tar = readFileSync(join(plain, diffId.slice(7)));
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(diffId);
  }

  // The conversion is remembered: the same output again gives the same layer blobs.
  const again = join(work.path, 'zstd-again');
  expect(build(again, 'zstd').status).toBe(0);
  expect(readLayout(again).manifest.layers).toEqual(manifest.layers);
});

test('uncompressed layers, and refusals', () => {
  const dest = join(work.path, 'plain-layout');
  expect(build(dest, 'uncompressed').status).toBe(0);
  const { manifest, diffIds } = readLayout(dest);
  expect(manifest.layers.map((l) => l.digest)).toEqual(diffIds);
  expect(manifest.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar')).toBe(true);

  const docker = kiln(store, [
    'build',
    '-q',
    '--output',
    `type=docker,dest=${join(work.path, 'd.tar')},compression=zstd`,
    ctx,
  ]);
  expect(docker.status).not.toBe(0);
  expect(docker.stderr).toMatch(/type=docker cannot hold zstd layers/);
  const bad = build(join(work.path, 'bad'), 'lz4');
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toMatch(/compression=lz4: expected gzip, zstd or uncompressed/);
});
