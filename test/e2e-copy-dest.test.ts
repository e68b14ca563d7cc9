import { chmodSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { buildUnpacked, buildUnpackedOk, storeWithBusybox, tempDir, writeContext } from './support/kiln.js';

// Where a COPY writes and what it does to the directories it writes into, as BuildKit does
// (differential QA against Docker 20.10's BuildKit found each of these).
const tmp = tempDir('kiln-copydest-');
const root = join(tmp.path, 'store');

beforeAll(() => storeWithBusybox(root));
afterAll(() => tmp.cleanup());

/** A base with merged-/usr style links, a sticky /t, a file and links to a file and to a dir. */
const BASE = [
  'FROM busybox AS base',
  'RUN mkdir -p /usr/xbin /usr/xlib /t/real && ln -s usr/xbin /xbin && ln -s /usr/xlib /xlib \\',
  ' && chmod 1777 /t && echo old > /t/isfile && ln -s isfile /t/symfile && ln -s ../t/real /t/relsym \\',
  ' && mkdir /s && echo f > /s/f && chown 1234:2345 /s /s/f',
  'FROM base',
];

const mode = (rootfs: string, p: string): number => lstatSync(join(rootfs, p)).mode & 0o7777;
const owner = (rootfs: string, p: string): string => {
  const st = lstatSync(join(rootfs, p));
  return `${st.uid}:${st.gid}`;
};

it('follows the image’s links in the destination, as on merged-/usr Debian', () => {
  const ctx = writeContext(
    tmp.path,
    'links',
    [
      ...BASE,
      'COPY a /xbin/app',
      'COPY a /xlib/sub/',
      'COPY d /t/relsym',
      'COPY a /t/symfile',
      'WORKDIR /xlib/work',
    ].join('\n'),
    { a: 'new\n', 'd/f': 'f\n' },
  );
  const { rootfs, stderr } = buildUnpackedOk(root, tmp.path, ctx, { tag: 'links:1' });
  expect(stderr).not.toContain('not a directory');
  expect(readlinkSync(join(rootfs, 'xbin'))).toBe('usr/xbin');
  expect(readFileSync(join(rootfs, 'usr/xbin/app'), 'utf8')).toBe('new\n');
  expect(readFileSync(join(rootfs, 'usr/xlib/sub/a'), 'utf8')).toBe('new\n');
  expect(lstatSync(join(rootfs, 'usr/xlib/work')).isDirectory()).toBe(true);
  // A link as the last component is written through, not replaced.
  expect(readlinkSync(join(rootfs, 't/relsym'))).toBe('../t/real');
  expect(readFileSync(join(rootfs, 't/real/f'), 'utf8')).toBe('f\n');
  expect(readlinkSync(join(rootfs, 't/symfile'))).toBe('isfile');
  expect(readFileSync(join(rootfs, 't/isfile'), 'utf8')).toBe('new\n');
});

it('copies a directory’s contents without its mode or owner onto the destination directory', () => {
  const ctx = writeContext(
    tmp.path,
    'dirs',
    [
      ...BASE,
      'COPY d /t/',
      'COPY --chown=7:8 d /t/',
      'COPY d /fresh',
      'COPY --chown=7:8 a /p/q/r/',
      'COPY --from=base /s /from/',
      'COPY --from=base --chown=3:4 /s/f /from-chowned',
    ].join('\n'),
    { a: 'a\n', 'd/f': 'f\n' },
  );
  chmodSync(join(ctx, 'd'), 0o700);
  const { rootfs } = buildUnpackedOk(root, tmp.path, ctx, { tag: 'dirs:1' });
  // An existing directory keeps its mode and owner; a created one is 0755.
  expect([mode(rootfs, 't'), owner(rootfs, 't')]).toEqual([0o1777, '0:0']);
  expect(owner(rootfs, 't/f')).toBe('7:8');
  expect(mode(rootfs, 'fresh')).toBe(0o755);
  // Directories a --chown COPY creates are that owner's.
  expect(['p', 'p/q', 'p/q/r', 'p/q/r/a'].map((p) => owner(rootfs, p))).toEqual(['7:8', '7:8', '7:8', '7:8']);
  // Another stage's files keep their owners unless --chown says otherwise.
  expect(owner(rootfs, 'from/f')).toBe('1234:2345');
  expect(owner(rootfs, 'from')).toBe('0:0');
  expect(owner(rootfs, 'from-chowned')).toBe('3:4');
});

it('refuses to copy a directory onto a file, as BuildKit', () => {
  const ctx = writeContext(tmp.path, 'onto-file', [...BASE, 'COPY d /t/isfile'].join('\n'), { 'd/f': 'f\n' });
  const r = buildUnpacked(root, tmp.path, ctx, { tag: 'onto:1' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('cannot copy into "/t/isfile": it is not a directory in the image');
});
