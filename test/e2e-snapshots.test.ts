import { createReadStream, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Digest } from '@kiln/oci';
import { Snapshotter } from '@kiln/runner-native';
import { kiln, storeWithBusybox, tempDir } from './support/kiln.js';
import { treeListing, type ListedEntry } from './support/tree-listing.js';

// A layer's snapshot (kiln/snapshots/layers/<hex>) is what later steps of this and other builds
// run on; the blob is what everyone else gets. A RUN layer's snapshot is its adopted upper dir, a
// COPY layer's is unpacked while the blob is written (hardlinking the last build's equal files):
// both must hold exactly what a fresh unpack of the blob holds.

const tmp = tempDir('kiln-snapshots-');
const root = join(tmp.path, 'store');
const ctx = join(tmp.path, 'ctx');
const snapshots = join(root, 'kiln', 'snapshots');

const DOCKERFILE = [
  'FROM busybox',
  'RUN mkdir -p /d/sub && echo old > /d/old && echo older > /d/sub/older && echo gone > /gone.txt && echo chm > /chm.txt && echo keep > /keep.txt',
  'RUN echo hi > /new.txt && chmod 600 /new.txt && chown 1000:1000 /new.txt && chmod 700 /chm.txt && rm /gone.txt' +
    ' && rm -rf /d && mkdir /d && touch /d/new && ln -s /new.txt /sym && ln /new.txt /hard' +
    ' && mkdir -p /m/n && chmod 750 /m && mkfifo /m/fifo',
  'COPY files/ /app/',
  'RUN ls -R /app | wc -l > /after.txt && cat /app/f07.txt >> /after.txt',
  '',
].join('\n');

/** Layers of an image in the store: diffId (from the config) and blob digest. */
interface StoredLayer {
  readonly diffId: Digest;
  readonly blob: string;
}

function readBlob(digest: string): Buffer {
  return readFileSync(join(root, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

function imageLayers(tag: string): StoredLayer[] {
  const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`no image tagged ${tag} in the store`);
  const manifest = JSON.parse(readBlob(entry.digest).toString('utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const config = JSON.parse(readBlob(manifest.config.digest).toString('utf8')) as {
    rootfs: { diff_ids: Digest[] };
  };
  expect(config.rootfs.diff_ids).toHaveLength(manifest.layers.length);
  return manifest.layers.map((l, i) => ({ diffId: config.rootfs.diff_ids[i] as Digest, blob: l.digest }));
}

function snapshotDir(diffId: string): string {
  return join(snapshots, 'layers', diffId.replace(/^sha256:/, ''));
}

/** The regular files of `after`'s snapshot that are (or are not) hardlinks of `before`'s. */
function sharedFiles(before: StoredLayer, after: StoredLayer): { linked: string[]; notLinked: string[] } {
  const linked: string[] = [];
  const notLinked: string[] = [];
  for (const e of treeListing(snapshotDir(after.diffId))) {
    if (e.type !== 'file') continue;
    const ino = lstatSync(join(snapshotDir(after.diffId), e.path)).ino;
    const old = lstatSync(join(snapshotDir(before.diffId), e.path), { throwIfNoEntry: false });
    (old?.ino === ino ? linked : notLinked).push(e.path);
  }
  return { linked, notLinked };
}

let fresh = 0;
/** The blob of `layer` unpacked by a Snapshotter of its own (another root): its listing. */
async function blobListing(layer: StoredLayer): Promise<ListedEntry[]> {
  const other = new Snapshotter(join(tmp.path, `fresh-${++fresh}`));
  const gunzipped = createReadStream(join(root, 'blobs', 'sha256', layer.blob.replace(/^sha256:/, ''))).pipe(
    createGunzip(),
  );
  await other.unpack(layer.diffId, gunzipped);
  return treeListing(other.layerDir(layer.diffId));
}

/** Builds `ctx` as `tag`, failing with the build's output. */
function build(
  tag: string,
  opts: { args?: readonly string[]; env?: NodeJS.ProcessEnv; dir?: string } = {},
): void {
  const r = kiln(root, ['build', '-q', '-t', tag, ...(opts.args ?? []), opts.dir ?? ctx], opts.env);
  if (r.status !== 0) throw new Error(`kiln build failed:\n${r.stderr}`);
}

/**
 * Expects every layer's snapshot to list exactly as a fresh unpack of its blob, mtimes to the
 * nanosecond (an adopted RUN upper dir gets the whole seconds its tar holds). `topMayBeMissing`: the top layer is
 * unpacked only when a step needs it as a lower, which a RUN layer under SOURCE_DATE_EPOCH is not.
 */
async function expectSnapshotsMatchBlobs(
  tag: string,
  opts: { readonly topMayBeMissing?: boolean } = {},
): Promise<StoredLayer[]> {
  const layers = imageLayers(tag);
  for (const [i, layer] of layers.entries()) {
    if (opts.topMayBeMissing && i === layers.length - 1 && !existsSync(snapshotDir(layer.diffId))) continue;
    expect({ layer: layer.diffId, entries: treeListing(snapshotDir(layer.diffId)) }).toEqual({
      layer: layer.diffId,
      entries: await blobListing(layer),
    });
  }
  return layers;
}

beforeAll(() => {
  storeWithBusybox(root);
  mkdirSync(join(ctx, 'files', 'nested'), { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  for (let i = 1; i <= 50; i++) {
    const name = `f${String(i).padStart(2, '0')}.txt`;
    const path = i > 40 ? join(ctx, 'files', 'nested', name) : join(ctx, 'files', name);
    writeFileSync(path, `file ${i}\n`.repeat(i), { mode: i % 3 === 0 ? 0o755 : 0o644 });
  }
  // Larger than the small-file limit (1 MiB): unpacked by streaming, never hardlinked.
  writeFileSync(join(ctx, 'files', 'big.bin'), Buffer.alloc(1536 * 1024, 'x'));
}, 300_000);
afterAll(() => tmp.cleanup());

describe('layer snapshots equal their blobs', () => {
  let first: StoredLayer[];

  it('after a build with RUN (adopted upper dirs) and COPY (staged) steps', async () => {
    build('snap:one');
    first = await expectSnapshotsMatchBlobs('snap:one');
    // busybox + four steps, each with a layer.
    expect(first).toHaveLength(5);
    const run = treeListing(snapshotDir(first[2]?.diffId ?? ''));
    // The RUN layer really has the whiteout, the opaque dir, the link and the fifo compared above.
    expect(run.find((e) => e.path === 'gone.txt')).toMatchObject({ type: 'char', rdev: 0 });
    expect(run.find((e) => e.path === 'd')).toMatchObject({ type: 'dir', opaque: true });
    // Sorted, "hard" comes first: "new.txt" is the second name of its inode.
    expect(run.find((e) => e.path === 'new.txt')).toMatchObject({ type: 'file', linkOf: 'hard' });
    expect(run.find((e) => e.path === 'm/fifo')).toMatchObject({ type: 'fifo' });
    expect(run.find((e) => e.path === 'new.txt')).toMatchObject({ mode: '600', owner: '1000:1000' });
    // The opaque record saved at adoption says what the directory itself says.
    const recorded = await new Snapshotter(snapshots).opaqueDirs(first[2]?.diffId ?? ('' as Digest));
    expect(recorded).toEqual(new Set(['d']));
  });

  it('the listing comparison notices a difference (so the test above can fail)', async () => {
    const layer = first[3];
    if (!layer) throw new Error('no COPY layer');
    const listed = await blobListing(layer);
    const other = new Snapshotter(join(tmp.path, `fresh-${fresh}`));
    writeFileSync(join(other.layerDir(layer.diffId), 'app', 'f01.txt'), 'changed\n');
    expect(treeListing(other.layerDir(layer.diffId))).not.toEqual(listed);
  });

  it('after changing one context file: the new COPY snapshot links every unchanged small file', async () => {
    writeFileSync(join(ctx, 'files', 'f07.txt'), 'changed\n');
    build('snap:two');
    const second = await expectSnapshotsMatchBlobs('snap:two');
    const before = first[3];
    const after = second[3];
    if (!before || !after) throw new Error('no COPY layer');
    expect(after.diffId).not.toBe(before.diffId);
    const { linked, notLinked } = sharedFiles(before, after);
    expect(notLinked.sort()).toEqual(['app/big.bin', 'app/f07.txt']);
    expect(linked).toHaveLength(49);
    // The RUN after the COPY saw the new file (a new layer, adopted again).
    expect(readFileSync(join(snapshotDir(second[4]?.diffId ?? ''), 'after.txt'), 'utf8')).toMatch(
      /\nchanged\n$/,
    );
  });

  it('with SOURCE_DATE_EPOCH (RUN layers unpacked from their clamped blobs)', async () => {
    writeFileSync(join(ctx, 'files', 'f07.txt'), 'changed again\n');
    // --no-cache: the cache key does not cover the epoch, and the layers must be made anew.
    build('snap:epoch', { args: ['--no-cache'], env: { SOURCE_DATE_EPOCH: '1000000000' } });
    const layers = await expectSnapshotsMatchBlobs('snap:epoch', { topMayBeMissing: true });
    expect(layers).toHaveLength(5);
    // Clamped: no non-directory entry of a RUN layer is newer than the epoch.
    const run = treeListing(snapshotDir(layers[2]?.diffId ?? ''));
    const newer = run.filter((e) => e.mtimeMs !== undefined && e.mtimeMs > 1_000_000_000_000);
    expect(newer).toEqual([]);
  });
});

describe('a COPY of many files, one changed', () => {
  // 150 small files and a big one: enough for the COPY to hardlink the unchanged files from the
  // last build's layer in one helper (kiln-helper link-files) and unpack only the rest (the
  // 51-file COPY above stays below that and links while unpacking).
  const many = join(tmp.path, 'many');

  beforeAll(() => {
    mkdirSync(join(many, 'files', 'sub'), { recursive: true });
    writeFileSync(
      join(many, 'Dockerfile'),
      'FROM busybox\nCOPY files/ /app/\nRUN cat /app/sub/f007.txt > /seen.txt\n',
    );
    for (let i = 0; i < 150; i++) {
      const name = `f${String(i).padStart(3, '0')}.txt`;
      writeFileSync(join(many, 'files', i % 2 ? 'sub' : '', name), `many ${i}\n`, {
        mode: i % 5 ? 0o644 : 0o750,
      });
    }
    writeFileSync(join(many, 'files', 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 'y'));
  });

  it('links every unchanged file and unpacks the rest; snapshots equal blobs', async () => {
    build('many:one', { dir: many });
    const first = await expectSnapshotsMatchBlobs('many:one');
    writeFileSync(join(many, 'files', 'sub', 'f007.txt'), 'changed!\n');
    // A file changed just before the build starts is never linked around (its ctime could
    // hide a second change): wait past that window.
    await new Promise((resolve) => setTimeout(resolve, 300));
    build('many:two', { dir: many });
    const second = await expectSnapshotsMatchBlobs('many:two');
    const before = first[1];
    const after = second[1];
    if (!before || !after) throw new Error('no COPY layer');
    const { linked, notLinked } = sharedFiles(before, after);
    // Big files too: unpacking streams them unhashed, but the layer's digest record has every
    // context file's digest from planning (proven unchanged while the layer was written).
    expect(notLinked).toEqual(['app/sub/f007.txt']);
    expect(linked).toHaveLength(150);
    writeFileSync(join(many, 'files', 'f000.txt'), 'changed too\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    build('many:three', { dir: many });
    const third = (await expectSnapshotsMatchBlobs('many:three'))[1];
    if (!third) throw new Error('no COPY layer');
    const ino = (layer: StoredLayer, path: string): number =>
      lstatSync(join(snapshotDir(layer.diffId), path)).ino;
    expect(ino(third, 'app/big.bin')).toBe(ino(before, 'app/big.bin'));
    expect(ino(third, 'app/sub/f007.txt')).toBe(ino(after, 'app/sub/f007.txt'));
    expect(ino(third, 'app/f000.txt')).not.toBe(ino(after, 'app/f000.txt'));
    expect(readFileSync(join(snapshotDir(second[2]?.diffId ?? ''), 'seen.txt'), 'utf8')).toBe('changed!\n');
  });
});
