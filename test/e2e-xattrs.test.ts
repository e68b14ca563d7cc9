import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildUnpackedOk, kiln, repoRoot, run, tempDir, writeContext } from './support/kiln.js';

// File capabilities (security.capability, a binary xattr) survive every path a layer takes:
// `kiln import DIR` reads them into the layer, kiln's extraction restores them in the snapshot a
// RUN step sees, overlayfs copies them up when the step touches the file, the RUN layer carries
// them, and umoci (an independent reader) restores them from kiln's OCI layout.

let work: ReturnType<typeof tempDir>;
let store: string;

beforeAll(() => {
  work = tempDir('kiln-xattrs-');
  store = join(work.path, 'store');
  const rootfs = join(work.path, 'rootfs');
  run('bash', [join(repoRoot, 'scripts', 'make-busybox-rootfs.sh'), rootfs]);
  // A copy, not a link: capabilities belong to the inode. cap_setuid's bit is 0x80, a byte that is not UTF-8 text.
  cpSync(join(rootfs, 'bin', 'busybox'), join(rootfs, 'bin', 'capped'));
  run('setcap', ['cap_net_raw,cap_setuid+ep', join(rootfs, 'bin', 'capped')]);
  mkdirSync(join(rootfs, 'data'));
  writeFileSync(join(rootfs, 'data', 'tagged'), 'x');
  run('setfattr', ['-n', 'user.kiln.note', '-v', 'hello', join(rootfs, 'data', 'tagged')]);
  const r = kiln(store, ['import', rootfs, 'capbase:1']);
  if (r.status !== 0) throw new Error(`kiln import failed: ${r.stderr}`);
});
afterAll(() => work.cleanup());

function getcap(path: string): string {
  return run('getcap', [path]).trim();
}

test('kiln import DIR keeps file capabilities and user xattrs (umoci restores them)', () => {
  const ctx = writeContext(work.path, 'plain', 'FROM capbase:1\n');
  const built = buildUnpackedOk(store, work.path, ctx, { tag: 'plain:1' });
  expect(getcap(join(built.rootfs, 'bin', 'capped'))).toMatch(/cap_setuid,cap_net_raw[=+]ep/);
  expect(
    run('getfattr', ['--only-values', '-n', 'user.kiln.note', join(built.rootfs, 'data', 'tagged')]),
  ).toBe('hello');
  // The file without capabilities has none: nothing is invented.
  expect(getcap(join(built.rootfs, 'bin', 'busybox'))).toBe('');
});

test('a RUN step that touches a capable file keeps its capability in the layer it writes', () => {
  const ctx = writeContext(
    work.path,
    'run',
    [
      'FROM capbase:1',
      // The RUN sees the capability kiln extracted, chmod copies the file up with its xattrs.
      'RUN chmod 0750 /bin/capped && echo done > /marker',
      '',
    ].join('\n'),
  );
  const built = buildUnpackedOk(store, work.path, ctx, { tag: 'run:1' });
  const manifest = JSON.parse(
    readFileSync(join(built.layout, 'blobs', 'sha256', indexManifest(built.layout)), 'utf8'),
  ) as { layers: Array<{ digest: string }> };
  const top = manifest.layers.at(-1)?.digest.slice(7) ?? '';
  // GNU tar, an independent reader, lists the PAX xattr record on the RUN layer's entry.
  const listing = run('tar', [
    '--xattrs',
    '--xattrs-include=*',
    '-tvvzf',
    join(built.layout, 'blobs', 'sha256', top),
  ]);
  expect(listing).toMatch(/ bin\/capped\n {2}x: 20 security\.capability\n/);
  expect(listing).not.toMatch(/overlay/);
  expect(getcap(join(built.rootfs, 'bin', 'capped'))).toMatch(/cap_setuid,cap_net_raw[=+]ep/);
});

function indexManifest(layout: string): string {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  return index.manifests[0]?.digest.slice(7) ?? '';
}
