import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, run, storeWithBusybox, tempDir } from './support/kiln.js';

// `kiln save` / `kiln load` checked by independent readers: podman (load), skopeo (docker-archive and
// oci-archive transports) and oci-image-tool (the OCI layout inside, and the store itself).

let work: ReturnType<typeof tempDir>;
let store: string;

beforeAll(() => {
  work = tempDir('kiln-archive-');
  store = join(work.path, 'store');
  storeWithBusybox(store);
});
afterAll(() => work.cleanup());

function hasTool(name: string): boolean {
  const found = existsSync(`/usr/bin/${name}`);
  if (!found) console.warn(`skipping the ${name} check: ${name} is not installed`);
  return found;
}

function ok(args: readonly string[], root = store): string {
  const r = kiln(root, args);
  if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function skopeoInspect(ref: string, raw = false): Record<string, unknown> {
  return JSON.parse(run('skopeo', ['inspect', ...(raw ? ['--raw'] : []), ref])) as Record<string, unknown>;
}

test('kiln save writes a docker archive skopeo reads, and an OCI layout oci-image-tool validates', () => {
  const file = join(work.path, 'busybox-docker.tar');
  ok(['save', 'busybox:latest', '-o', file]);
  const listing = run('tar', ['tf', file]).split('\n');
  expect(listing).toEqual(expect.arrayContaining(['manifest.json', 'index.json', 'oci-layout']));
  const manifest = JSON.parse(
    execFileSync('tar', ['xOf', file, 'manifest.json'], { encoding: 'utf8' }),
  ) as Array<{
    RepoTags: string[];
    Layers: string[];
  }>;
  expect(manifest).toHaveLength(1);
  expect(manifest[0]?.RepoTags).toEqual(['busybox:latest']);
  if (hasTool('skopeo')) {
    const info = skopeoInspect(`docker-archive:${file}`);
    expect(info.Os).toBe('linux');
    expect(info.Layers).toHaveLength(1);
  }
  if (hasTool('oci-image-tool')) {
    const dir = join(work.path, 'docker-layout');
    mkdirSync(dir);
    run('tar', ['xf', file, '-C', dir]);
    expect(
      run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=busybox:latest', dir]),
    ).toMatch(/Validation succeeded/);
    // The store is an OCI image layout too.
    expect(
      run('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=busybox:latest', store]),
    ).toMatch(/Validation succeeded/);
  }
});

test('kiln save --format oci writes an OCI archive; --media-types docker writes v2s2 manifests', () => {
  if (!hasTool('skopeo')) return;
  const oci = join(work.path, 'busybox-oci.tar');
  ok(['save', 'busybox', '-o', oci, '--format', 'oci']);
  expect(run('tar', ['tf', oci])).not.toMatch(/manifest\.json/);
  expect(skopeoInspect(`oci-archive:${oci}`).Os).toBe('linux');
  const v2 = join(work.path, 'busybox-v2s2.tar');
  ok(['save', 'busybox', '-o', v2, '--media-types', 'docker']);
  const raw = skopeoInspect(`oci-archive:${v2}`, true) as {
    mediaType?: string;
    layers: Array<{ mediaType: string }>;
  };
  expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
  expect(raw.layers.map((l) => l.mediaType)).toEqual(['application/vnd.docker.image.rootfs.diff.tar.gzip']);
  expect(skopeoInspect(`docker-archive:${v2}`).Layers).toHaveLength(1);
});

test('kiln load reads its own archives and skopeo-written docker archives, verifying every blob', () => {
  const saved = join(work.path, 'roundtrip.tar');
  ok(['save', 'busybox:latest', '-o', saved]);
  const other = join(work.path, 'other-store');
  expect(ok(['load', '-i', saved], other)).toBe('Loaded image: busybox:latest\n');
  expect(ok(['store', 'verify'], other)).toMatch(/ok/);
  expect(ok(['inspect', 'busybox:latest'], other)).toBe(ok(['inspect', 'busybox:latest']));
  if (hasTool('skopeo')) {
    const layout = join(work.path, 'layout');
    ok(['save', 'busybox', '-o', join(work.path, 'layout.tar'), '--format', 'oci']);
    mkdirSync(layout);
    run('tar', ['xf', join(work.path, 'layout.tar'), '-C', layout]);
    const legacy = join(work.path, 'skopeo.tar');
    run('skopeo', [
      'copy',
      '-q',
      `oci:${layout}:busybox:latest`,
      `docker-archive:${legacy}:copied/by-skopeo:v1`,
    ]);
    expect(ok(['load', '-i', legacy], other)).toBe('Loaded image: docker.io/copied/by-skopeo:v1\n');
    expect(ok(['images'], other)).toMatch(/copied\/by-skopeo\s+v1/);
    expect(ok(['store', 'verify'], other)).toMatch(/ok/);
    // A gzipped archive loads too.
    run('gzip', ['-k', legacy]);
    expect(ok(['load', '-i', `${legacy}.gz`], other)).toBe('Loaded image: docker.io/copied/by-skopeo:v1\n');
  }
});

test('kiln load refuses a tampered layer and tags nothing', () => {
  const saved = join(work.path, 'tamper.tar');
  ok(['save', 'busybox:latest', '-o', saved]);
  const manifest = JSON.parse(
    execFileSync('tar', ['xOf', saved, 'manifest.json'], { encoding: 'utf8' }),
  ) as Array<{
    Layers: string[];
  }>;
  const layer = manifest[0]?.Layers[0] ?? '';
  // Flip one byte in the middle of the layer's content inside the tar.
  const bytes = readFileSync(saved);
  const at = bytes.indexOf(Buffer.from(layer.padEnd(100, '\0').slice(0, 100))) + 512 + 1000;
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  const bad = join(work.path, 'tampered.tar');
  writeFileSync(bad, bytes);
  const fresh = join(work.path, 'tamper-store');
  const r = kiln(fresh, ['load', '-i', bad]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/BLOB_DIGEST_MISMATCH|does not match|expected/);
  expect(ok(['images'], fresh)).not.toMatch(/busybox/);
});

test('kiln du reports sizes by kind', () => {
  const out = JSON.parse(ok(['du', '--json'])) as Record<string, { count: number; bytes: number }>;
  expect(out.imageBlobs?.count).toBeGreaterThanOrEqual(3);
  expect(out.imageBlobs?.bytes).toBeGreaterThan(1000);
  for (const kind of [
    'cacheBlobs',
    'unreferencedBlobs',
    'cacheRecords',
    'temp',
    'unpackedLayers',
    'snapshotTemp',
  ])
    expect(out[kind]).toEqual(
      expect.objectContaining({ count: expect.any(Number), bytes: expect.any(Number) }),
    );
  expect(ok(['du'])).toMatch(/image blobs\s+\d+\s+\d+/);
});

test('podman loads the docker archive kiln saves: same diffIDs, same files', () => {
  if (!hasTool('podman')) return;
  const file = join(work.path, 'for-podman.tar');
  ok(['save', 'busybox:latest', '-o', file]);
  // Root and run root of its own, vfs (no overlay mounts to clean up), no cgroups or systemd needed.
  const podman = (args: readonly string[]): string =>
    run('podman', [
      '--root',
      join(work.path, 'podman-root'),
      '--runroot',
      join(work.path, 'podman-run'),
      '--storage-driver',
      'vfs',
      '--cgroup-manager',
      'cgroupfs',
      '--runtime',
      'runc',
      '--events-backend',
      'file',
      ...args,
    ]);
  expect(podman(['load', '-i', file])).toMatch(/Loaded image: localhost\/busybox:latest/);
  const inspected = JSON.parse(ok(['inspect', 'busybox:latest'])) as {
    config: { rootfs: { diff_ids: string[] } };
  };
  expect(
    JSON.parse(
      podman(['image', 'inspect', 'localhost/busybox:latest', '--format', '{{json .RootFS.Layers}}']),
    ),
  ).toEqual(inspected.config.rootfs.diff_ids);
  const rootfs = podman(['image', 'mount', 'localhost/busybox:latest']).trim();
  try {
    expect(readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
  } finally {
    podman(['image', 'unmount', 'localhost/busybox:latest']);
  }
});
