import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildUnpackedOk,
  run,
  storeWithBusybox,
  tempDir,
  writeContext,
  type UnpackedBuild,
} from './support/kiln.js';

// COPY keeps the hard links among the files it copies, as BuildKit does: in the layer, the
// first name (in the layer's order) is a regular file and the others are tar hardlink entries
// naming it; a RUN step after it and an independent unpacker (umoci) see one inode. Equal bytes
// in separate files stay separate. The link structure is part of the COPY's cache key.

const tmp = tempDir('kiln-copy-hardlinks-');
const root = join(tmp.path, 'store');

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

/** The digests (hex) of the image's layers, bottom to top, from the build's OCI layout. */
function layerDigests(built: UnpackedBuild): string[] {
  const blob = (hex: string): string => readFileSync(join(built.layout, 'blobs', 'sha256', hex), 'utf8');
  const index = JSON.parse(readFileSync(join(built.layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  const manifest = JSON.parse(blob(index.manifests[0]?.digest.slice(7) ?? '')) as {
    layers: Array<{ digest: string }>;
  };
  return manifest.layers.map((l) => l.digest.slice(7));
}

/** The layer's entries below `prefix` as GNU tar (an independent reader) lists them, in tar order. */
function tarEntries(built: UnpackedBuild, hex: string, prefix: string): string[] {
  return run('tar', ['-tvzf', join(built.layout, 'blobs', 'sha256', hex)])
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      // "hrw-r--r-- 0/0  0 1970-01-01 00:00 x/dir/b link to x/a": type letter, then the name.
      const [perms = '', , , , , ...rest] = line.split(/\s+/);
      return `${perms[0] ?? '?'} ${rest.join(' ')}`;
    })
    .filter((entry) => entry.slice(2).startsWith(prefix));
}

/** `stat -c '%i %h %n'` lines by name: inode and link count. */
function statLines(text: string): Map<string, { ino: string; links: number }> {
  const out = new Map<string, { ino: string; links: number }>();
  for (const line of text.trim().split('\n')) {
    const [ino = '', links = '', name = ''] = line.split(' ');
    out.set(name, { ino, links: Number(links) });
  }
  return out;
}

/** A context with `a`, `dir/b` (a hard link of `a`) and `c` (equal bytes, another file). */
function linkedContext(name: string, dockerfile: string): string {
  const ctx = writeContext(tmp.path, name, dockerfile, {
    a: 'same bytes\n',
    'dir/keep': 'k',
    c: 'same bytes\n',
  });
  linkSync(join(ctx, 'a'), join(ctx, 'dir', 'b'));
  return ctx;
}

describe('COPY of hard-linked files', () => {
  it('from the build context writes one file and a hardlink entry; RUN and umoci see one inode', () => {
    const ctx = linkedContext(
      'context',
      ['FROM busybox', 'COPY . /x/', "RUN stat -c '%i %h %n' /x/a /x/dir/b /x/c > /out", ''].join('\n'),
    );
    const built = buildUnpackedOk(root, tmp.path, ctx, { tag: 'links:1' });
    const layers = layerDigests(built);
    const copyLayer = layers.at(-2) ?? '';
    expect(tarEntries(built, copyLayer, 'x/')).toEqual([
      'd x/',
      '- x/Dockerfile',
      '- x/a',
      '- x/c',
      'd x/dir/',
      'h x/dir/b link to x/a',
      '- x/dir/keep',
    ]);
    // The RUN step saw the pair as one inode with two names, and c as a file of its own.
    const seen = statLines(readFileSync(join(built.rootfs, 'out'), 'utf8'));
    expect(seen.get('/x/dir/b')?.ino).toBe(seen.get('/x/a')?.ino);
    expect(seen.get('/x/a')?.links).toBe(2);
    expect(seen.get('/x/c')?.ino).not.toBe(seen.get('/x/a')?.ino);
    expect(seen.get('/x/c')?.links).toBe(1);
    // umoci, unpacking the image on its own, makes the same link.
    const ino = (p: string): number => statSync(join(built.rootfs, p)).ino;
    expect(ino('x/dir/b')).toBe(ino('x/a'));
    expect(ino('x/c')).not.toBe(ino('x/a'));
    expect(readFileSync(join(built.rootfs, 'x', 'dir', 'b'), 'utf8')).toBe('same bytes\n');

    // The same context gives the same layer again, built from scratch.
    const again = buildUnpackedOk(root, tmp.path, ctx, { tag: 'links:2', args: ['--no-cache'] });
    expect(layerDigests(again).at(-2)).toBe(copyLayer);
  });

  it('from another stage (COPY --from) keeps the links the stage has', () => {
    const ctx = linkedContext(
      'stage',
      [
        'FROM busybox AS src',
        'COPY . /x/',
        'FROM busybox',
        'COPY --from=src /x/ /y/',
        "RUN stat -c '%i %h %n' /y/a /y/dir/b /y/c > /out",
        '',
      ].join('\n'),
    );
    const built = buildUnpackedOk(root, tmp.path, ctx, { tag: 'links:3' });
    expect(tarEntries(built, layerDigests(built).at(-2) ?? '', 'y/')).toEqual([
      'd y/',
      '- y/Dockerfile',
      '- y/a',
      '- y/c',
      'd y/dir/',
      'h y/dir/b link to y/a',
      '- y/dir/keep',
    ]);
    const seen = statLines(readFileSync(join(built.rootfs, 'out'), 'utf8'));
    expect(seen.get('/y/dir/b')?.ino).toBe(seen.get('/y/a')?.ino);
    expect(seen.get('/y/c')?.ino).not.toBe(seen.get('/y/a')?.ino);
  });

  it('keeps links only within one copied source, as BuildKit: `COPY a dir/ /z/` writes two files', () => {
    const ctx = linkedContext('two-sources', ['FROM busybox', 'COPY a dir/ /z/', ''].join('\n'));
    const built = buildUnpackedOk(root, tmp.path, ctx, { tag: 'links:sources' });
    expect(tarEntries(built, layerDigests(built).at(-1) ?? '', 'z/')).toEqual([
      'd z/',
      '- z/a',
      '- z/b',
      '- z/keep',
    ]);
    const ino = (p: string): number => statSync(join(built.rootfs, p)).ino;
    expect(ino('z/b')).not.toBe(ino('z/a'));
  });

  it('gives the COPY another cache key when two equal files become hard links', () => {
    const ctx = writeContext(tmp.path, 'key', 'FROM busybox\nCOPY files/ /x/\n', {
      'files/a': 'same bytes\n',
      'files/b': 'same bytes\n',
    });
    const build = (): UnpackedBuild => buildUnpackedOk(root, tmp.path, ctx, { tag: 'key:1' });
    const copyCached = (r: UnpackedBuild): boolean => {
      const id = /^#(\d+) \[[^\]]*\] COPY files\/ \/x\/$/m.exec(r.stderr)?.[1];
      expect(id).toBeDefined();
      return new RegExp(`^#${id} CACHED$`, 'm').test(r.stderr);
    };
    const separate = build();
    expect(copyCached(build())).toBe(true);
    // Same bytes, same mode: only the link between the two names is new.
    rmSync(join(ctx, 'files', 'b'));
    linkSync(join(ctx, 'files', 'a'), join(ctx, 'files', 'b'));
    const linked = build();
    expect(copyCached(linked)).toBe(false);
    expect(layerDigests(linked).at(-1)).not.toBe(layerDigests(separate).at(-1));
    expect(statSync(join(linked.rootfs, 'x', 'b')).ino).toBe(statSync(join(linked.rootfs, 'x', 'a')).ino);
    // And back: two files again hit the first build's entry.
    rmSync(join(ctx, 'files', 'b'));
    writeFileSync(join(ctx, 'files', 'b'), 'same bytes\n');
    const apart = build();
    expect(copyCached(apart)).toBe(true);
    expect(layerDigests(apart).at(-1)).toBe(layerDigests(separate).at(-1));
  });

  it('keeps them in a big context (one batch stat), also rebuilt from the last layer', () => {
    // Past 1,000 entries the context is statted by the helper; a rebuild with one file changed
    // links the unchanged files from the last build's layer and unpacks only the rest, the
    // pair's link entry included.
    const ctx = writeContext(
      tmp.path,
      'big',
      "FROM busybox\nCOPY big/ /big/\nRUN stat -c '%i %h %n' /big/d0/a /big/d9/b > /out\n",
    );
    for (let d = 0; d < 12; d++) {
      mkdirSync(join(ctx, 'big', `d${d}`), { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(ctx, 'big', `d${d}`, `f${f}`), `${d}/${f}\n`);
    }
    writeFileSync(join(ctx, 'big', 'd0', 'a'), 'linked\n');
    linkSync(join(ctx, 'big', 'd0', 'a'), join(ctx, 'big', 'd9', 'b'));
    const check = (built: UnpackedBuild): number | undefined => {
      expect(tarEntries(built, layerDigests(built).at(-2) ?? '', 'big/d9/b')).toEqual([
        'h big/d9/b link to big/d0/a',
      ]);
      const seen = statLines(readFileSync(join(built.rootfs, 'out'), 'utf8'));
      expect(seen.get('/big/d9/b')?.ino).toBe(seen.get('/big/d0/a')?.ino);
      return seen.get('/big/d0/a')?.links;
    };
    expect(check(buildUnpackedOk(root, tmp.path, ctx, { tag: 'big:1' }))).toBe(2);
    writeFileSync(join(ctx, 'big', 'd5', 'f5'), 'changed\n');
    // A file changed just before planning turns the context check, and so the linking, off (it
    // could change unseen): wait past the coarsest ctime granularity it allows for.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
    // The link count is not checked here: a file linked from the last build's layer also counts
    // that layer's names (as every linked file does).
    check(buildUnpackedOk(root, tmp.path, ctx, { tag: 'big:2' }));
  });
});
