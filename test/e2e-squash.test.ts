import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln, run, storeWithBusybox, tempDir } from './support/kiln.js';

// `kiln build --squash`: the final stage's layers above its base become one layer that
// reproduces exactly the rootfs of the unsquashed build, read back by umoci and GNU tar.

const tmp = tempDir('kiln-squash-');
const root = join(tmp.path, 'store');

// A base with content of its own (two layers: busybox + this RUN) for the squashed range to
// modify, delete, replace and hardlink.
const BASE = `FROM busybox
RUN mkdir -p /opt/base/keep /opt/base/replace-dir/sub /opt/base/gone-dir/sub /opt/base/dir-to-file \\
 && echo keep > /opt/base/keep/file && echo old > /opt/base/replace-dir/old \\
 && echo deep > /opt/base/replace-dir/sub/deep && echo bye > /opt/base/gone-dir/sub/f \\
 && echo bye > /opt/base/gone-file && echo orig > /opt/base/modify && echo file > /opt/base/file-to-dir \\
 && echo x > /opt/base/dir-to-file/x && echo meta > /opt/base/meta && echo first > /opt/base/recreated
`;

// Four layers (RUN, COPY, RUN, RUN): adds, modifies, deletes own and base files, replaces own
// and base directories, changes types and metadata, and makes hardlinks within and across layers.
const DOCKERFILE = `FROM sqbase:1
RUN mkdir -p /app/conf /app/olddir /app/tmpdir && echo v1 > /app/conf/a && echo old > /app/olddir/f \\
 && echo scratch > /app/created-and-deleted && echo t > /app/tmpdir/t \\
 && echo hl > /app/hl1 && ln /app/hl1 /app/hl2 && chown 1234:5678 /app/hl1 && chmod 604 /app/hl1 \\
 && rm /opt/base/gone-file /opt/base/recreated
COPY --chmod=640 copied.txt /app/copied.txt
RUN echo v2 > /app/conf/a \\
 && rm /app/created-and-deleted && rm -rf /app/tmpdir \\
 && rm -rf /app/olddir && mkdir /app/olddir && echo new > /app/olddir/g \\
 && rm -rf /opt/base/replace-dir && mkdir /opt/base/replace-dir && echo new > /opt/base/replace-dir/new \\
 && rm -rf /opt/base/gone-dir && echo modified >> /opt/base/modify \\
 && rm /opt/base/file-to-dir && mkdir /opt/base/file-to-dir && echo in > /opt/base/file-to-dir/in \\
 && rm -rf /opt/base/dir-to-file && ln -s ../../app/conf/a /opt/base/dir-to-file \\
 && chmod 600 /opt/base/meta && chown 1000:1000 /opt/base/meta && echo again > /opt/base/recreated \\
 && ln /app/conf/a /app/conf/a-link && ln /opt/base/keep/file /app/base-link \\
 && ln /app/copied.txt /app/copied-link && rm /bin/vi
ENV X=1
RUN touch /app/last && mkfifo /app/fifo
`;

interface Layout {
  readonly layers: string[];
  readonly history: { empty_layer?: boolean; comment?: string; created_by?: string }[];
  readonly rootfs: string;
  readonly dir: string;
}

/** Reads the manifest and config of the only image of an OCI layout dir. */
function readBlob(layout: string, digest: string): string {
  return readFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), 'utf8');
}

/** Builds the Dockerfile into an OCI layout (`tag` as its ref) and unpacks it with umoci. */
function buildLayout(tag: string, extra: readonly string[]): Layout {
  const dir = join(tmp.path, `layout-${tag}`);
  const r = kiln(root, [
    'build',
    '-q',
    ...extra,
    '-t',
    `sq:${tag}`,
    '--output',
    `type=oci,dest=${dir},tar=false`,
    join(tmp.path, 'ctx'),
  ]);
  if (r.status !== 0) throw new Error(`build ${tag} failed:\n${r.stderr}`);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(readBlob(dir, index.manifests[0]?.digest ?? '')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const config = JSON.parse(readBlob(dir, manifest.config.digest)) as { history: Layout['history'] };
  const unpacked = join(tmp.path, `bundle-${tag}`);
  run('umoci', ['unpack', '--image', `${dir}:${tag}`, unpacked]);
  return {
    layers: manifest.layers.map((l) => l.digest),
    history: config.history,
    rootfs: join(unpacked, 'rootfs'),
    dir,
  };
}

/**
 * Every entry of a tree: type, mode, owner, and contents or link target; and for each regular
 * file with several names, the sorted names sharing its inode.
 */
function describeTree(top: string): Map<string, string> {
  const out = new Map<string, string>();
  const inodes = new Map<number, string[]>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(top, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(top, path);
      const st = lstatSync(full);
      const owner = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
      if (st.isDirectory()) {
        out.set(path, `dir ${owner}`);
        walk(path);
      } else if (st.isSymbolicLink()) out.set(path, `symlink ${owner} -> ${readlinkSync(full)}`);
      else if (st.isFile()) {
        const hash = createHash('sha256').update(readFileSync(full)).digest('hex');
        out.set(path, `file ${owner} ${st.size} ${hash}`);
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), path]);
      } else if (st.isFIFO()) out.set(path, `fifo ${owner}`);
      else out.set(path, `other ${owner} rdev=${st.rdev}`);
    }
  };
  walk('');
  for (const names of inodes.values()) for (const n of names) out.set(`${n} (links)`, names.join(' '));
  return out;
}

let base: Layout;
let plain: Layout;
let squashed: Layout;

beforeAll(() => {
  storeWithBusybox(root);
  const baseCtx = join(tmp.path, 'base-ctx');
  mkdirSync(baseCtx);
  writeFileSync(join(baseCtx, 'Dockerfile'), BASE);
  const b = kiln(root, [
    'build',
    '-q',
    '-t',
    'sqbase:1',
    '--output',
    `type=oci,dest=${join(tmp.path, 'base')},tar=false`,
    baseCtx,
  ]);
  if (b.status !== 0) throw new Error(`base build failed:\n${b.stderr}`);
  const ctx = join(tmp.path, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(ctx, 'copied.txt'), 'copied from the context\n');
  plain = buildLayout('plain', []);
  squashed = buildLayout('squashed', ['--squash']);
  const baseIndex = JSON.parse(readFileSync(join(tmp.path, 'base', 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const baseManifest = JSON.parse(readBlob(join(tmp.path, 'base'), baseIndex.manifests[0]?.digest ?? '')) as {
    layers: { digest: string }[];
  };
  base = { layers: baseManifest.layers.map((l) => l.digest), history: [], rootfs: '', dir: '' };
}, 300_000);
afterAll(() => tmp.cleanup());

describe('kiln build --squash', () => {
  it('keeps the base layers as they are and adds exactly one layer', () => {
    expect(base.layers).toHaveLength(2);
    expect(plain.layers).toHaveLength(base.layers.length + 4);
    expect(squashed.layers).toEqual([...base.layers, expect.stringMatching(/^sha256:/)]);
    expect(plain.layers.slice(0, 2)).toEqual(base.layers);
  });

  it("keeps the stage's history entries as empty layers and adds one entry for the squashed layer", () => {
    const entries = squashed.history;
    expect(entries).toHaveLength(plain.history.length + 1);
    const carrying = entries.filter((h) => h.empty_layer !== true);
    expect(carrying).toHaveLength(squashed.layers.length);
    expect(entries.at(-1)).toMatchObject({ comment: expect.stringContaining('--squash') });
    expect(entries.at(-1)?.empty_layer).toBeUndefined();
    const ownSteps = entries.slice(-6, -1).map((h) => [h.created_by?.split(' ')[0], h.empty_layer]);
    expect(ownSteps).toEqual([
      ['RUN', true],
      ['COPY', true],
      ['RUN', true],
      ['ENV', true],
      ['RUN', true],
    ]);
  });

  it('unpacks (umoci) to exactly the rootfs of the unsquashed image, entry by entry', () => {
    const want = describeTree(plain.rootfs);
    const got = describeTree(squashed.rootfs);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [path, entry] of want) expect({ path, entry: got.get(path) }).toEqual({ path, entry });
    // The cases the Dockerfile sets up are really there (the comparison is not vacuous).
    expect(got.get('app/conf/a (links)')).toBe('app/conf/a app/conf/a-link');
    expect(got.get('app/base-link (links)')).toBe('app/base-link opt/base/keep/file');
    expect(got.get('app/hl1 (links)')).toBe('app/hl1 app/hl2');
    expect(got.get('app/hl1')).toMatch(/^file 1234:5678 604 /);
    expect(got.get('opt/base/meta')).toMatch(/^file 1000:1000 600 /);
    expect(got.get('opt/base/dir-to-file')).toBe('symlink 0:0 777 -> ../../app/conf/a');
    expect(got.get('app/fifo')).toMatch(/^fifo /);
    expect([...got.keys()].filter((p) => p.startsWith('opt/base/replace-dir'))).toEqual([
      'opt/base/replace-dir',
      'opt/base/replace-dir/new',
    ]);
    expect([...got.keys()].filter((p) => p.startsWith('app/olddir'))).toEqual(['app/olddir', 'app/olddir/g']);
    for (const gone of ['opt/base/gone-file', 'opt/base/gone-dir', 'bin/vi', 'app/created-and-deleted'])
      expect(got.has(gone)).toBe(false);
    expect(got.has('bin/sh')).toBe(true);
  });

  it('writes whiteouts only for base content, and nothing for what the range created and deleted', () => {
    const top = squashed.layers.at(-1) ?? '';
    const listing = run('tar', ['tzf', join(squashed.dir, 'blobs', 'sha256', top.slice('sha256:'.length))])
      .split('\n')
      .filter((l) => l !== '');
    for (const transient of ['created-and-deleted', 'tmpdir', 'app/olddir/f'])
      expect(listing.filter((l) => l.includes(transient))).toEqual([]);
    expect(listing).toEqual(
      expect.arrayContaining([
        'opt/base/.wh.gone-file',
        'opt/base/.wh.gone-dir',
        'bin/.wh.vi',
        'opt/base/replace-dir/.wh..wh..opq',
        'opt/base/replace-dir/new',
        'opt/base/recreated',
        'app/conf/a',
      ]),
    );
    // Not in the base: a plain directory replaces it, no opaque marker needed.
    expect(listing).not.toContain('app/olddir/.wh..wh..opq');
    // A file turned into a directory: the directory entry replaces it; nothing to whiteout.
    expect(listing.filter((l) => l.includes('file-to-dir'))).toEqual([
      'opt/base/file-to-dir/',
      'opt/base/file-to-dir/in',
    ]);
    // Base files the range never touched are not repeated.
    expect(listing.filter((l) => l.startsWith('bin/') && l !== 'bin/' && l !== 'bin/.wh.vi')).toEqual([]);
    expect(listing).not.toContain('opt/base/.wh.recreated');
    // Copied up by the hardlink to it (with its directory), as the RUN's own layer has it.
    expect(listing.filter((l) => l.startsWith('opt/base/keep/'))).toEqual([
      'opt/base/keep/',
      'opt/base/keep/file',
    ]);
  });
});
