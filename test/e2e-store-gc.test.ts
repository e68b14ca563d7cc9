import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';

// Garbage collection roots beyond tags: images and unpacked layers of kept containers, and the
// store's hard cap (`kiln store set max-size`), enforced by `kiln prune` and after every build.

let work: ReturnType<typeof tempDir>;
beforeAll(() => {
  work = tempDir('kiln-gc-');
});
afterAll(() => work.cleanup());

function ok(root: string, args: readonly string[]): string {
  const r = kiln(root, args);
  if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function freshStore(name: string): string {
  const root = join(work.path, name);
  storeWithBusybox(root);
  return root;
}

/** Builds a one-RUN image on busybox; returns its manifest digest. */
function buildRun(root: string, name: string, script: string, tag?: string): string {
  const ctx = writeContext(work.path, `${name}-ctx`, `FROM busybox:latest\nRUN ${script}\n`);
  return ok(root, ['build', '-q', ...(tag ? ['-t', tag] : []), ctx]).trim();
}

const blobFile = (root: string, digest: string): string => join(root, 'blobs', 'sha256', digest.slice(7));

function manifestOf(
  root: string,
  digest: string,
): { config: { digest: string }; layers: Array<{ digest: string }> } {
  return JSON.parse(readFileSync(blobFile(root, digest), 'utf8')) as {
    config: { digest: string };
    layers: Array<{ digest: string }>;
  };
}

function diffIdsOf(root: string, manifest: string): string[] {
  const config = JSON.parse(
    readFileSync(blobFile(root, manifestOf(root, manifest).config.digest), 'utf8'),
  ) as {
    rootfs: { diff_ids: string[] };
  };
  return config.rootfs.diff_ids;
}

const unpacked = (root: string, diffId: string): boolean =>
  existsSync(join(root, 'kiln', 'snapshots', 'layers', diffId.slice(7)));

test('a kept container pins its image and unpacked layers after its tag moved on', () => {
  const root = freshStore('pins');
  const old = buildRun(root, 'pin-one', 'echo one > /one', 'app:1');
  const oldDiffIds = diffIdsOf(root, old);
  ok(root, ['run', '--name', 'keep', 'app:1', 'sh', '-c', 'echo c > /c']);
  // A second container whose image also loses its tag, removed before pruning: the control case.
  const other = buildRun(root, 'pin-two', 'echo two > /two', 'other:1');
  ok(root, ['run', '--name', 'gone', 'other:1', 'true']);
  buildRun(root, 'pin-three', 'echo three > /three', 'app:1');
  buildRun(root, 'pin-four', 'echo four > /four', 'other:1');
  ok(root, ['rm', 'gone']);

  ok(root, ['prune', '--all']);
  expect(existsSync(blobFile(root, old))).toBe(true);
  for (const l of manifestOf(root, old).layers) expect(existsSync(blobFile(root, l.digest))).toBe(true);
  for (const d of oldDiffIds) expect(unpacked(root, d)).toBe(true);
  expect(existsSync(blobFile(root, other))).toBe(false);
  // du counts the pinned image as an image, not as what prune would remove.
  const du = JSON.parse(ok(root, ['du', '--json'])) as { unreferencedBlobs: { count: number } };
  expect(du.unreferencedBlobs.count).toBe(0);
  expect(unpacked(root, diffIdsOf(root, old).at(-1) ?? '')).toBe(true);
  expect(ok(root, ['store', 'verify'])).toMatch(/ok/);

  // The container is still usable: its changes commit onto the pinned image.
  ok(root, ['commit', 'keep', 'saved:1']);
  expect(ok(root, ['run', '--rm', 'saved:1', 'cat', '/one', '/c'])).toBe('one\nc\n');
  expect(ok(root, ['store', 'verify'])).toMatch(/ok/);
});

test('max-size: builds and prune evict least-recently-used cache, never tagged images', () => {
  const root = freshStore('cap');
  expect(ok(root, ['store', 'get'])).toBe('max-size\tnone\n');
  const base = (JSON.parse(ok(root, ['du', '--json'])) as { imageBlobs: { bytes: number } }).imageBlobs.bytes;
  const cap = base + 450 * 1024;
  expect(ok(root, ['store', 'set', 'max-size', String(cap)])).toBe(`max-size\t${cap}\n`);
  const random = (file: string): string => `head -c 300000 /dev/urandom > /${file}`;

  // Under the cap: the cache-only image stays.
  const first = buildRun(root, 'cap-a', random('a'));
  const firstLayer = manifestOf(root, first).layers.at(-1)?.digest ?? '';
  expect(existsSync(blobFile(root, firstLayer))).toBe(true);

  // Over the cap after a tagged build: the older cache goes, the image just tagged stays.
  const second = buildRun(root, 'cap-b', random('b'), 'b:1');
  expect(existsSync(blobFile(root, firstLayer))).toBe(false);
  for (const l of manifestOf(root, second).layers) expect(existsSync(blobFile(root, l.digest))).toBe(true);
  expect(ok(root, ['store', 'verify'])).toMatch(/ok/);

  // Tagged images are never evicted, even when they alone exceed the cap.
  ok(root, ['store', 'set', 'max-size', '1']);
  buildRun(root, 'cap-c', random('c'), 'c:1');
  expect(ok(root, ['images'])).toMatch(/c\s+1/);
  expect(ok(root, ['run', '--rm', 'c:1', 'wc', '-c', '/c'])).toMatch(/300000/);

  // `kiln prune` enforces the setting too.
  ok(root, ['store', 'set', 'max-size', 'none']);
  const fourth = buildRun(root, 'cap-d', random('d'));
  const fourthLayer = manifestOf(root, fourth).layers.at(-1)?.digest ?? '';
  expect(existsSync(blobFile(root, fourthLayer))).toBe(true);
  ok(root, ['store', 'set', 'max-size', String(cap)]);
  ok(root, ['prune']);
  expect(existsSync(blobFile(root, fourthLayer))).toBe(false);
  expect(ok(root, ['store', 'verify'])).toMatch(/ok/);

  const bad = kiln(root, ['store', 'set', 'max-size', 'lots']);
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toMatch(/invalid size "lots"/);
});
