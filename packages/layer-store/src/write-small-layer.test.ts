import { Readable } from 'node:stream';
import type { FileHeader, FsChange } from '@kiln/oci';
import { collectLayerEntries } from './collect-layer-entries.js';
import { readAhead } from './read-ahead.js';
import { tarChunks } from './tar-chunks.js';
import { tarBytesAtMost } from './write-small-layer.js';

// tarBytesAtMost decides which layers are made in memory: it must never be below the real tar,
// whatever PAX headers the entries need (long names and link targets, PAX records, xattrs).

const T = new Date('2024-05-01T12:00:00Z');

function upsert(path: string, extra: Partial<FileHeader> = {}, content = ''): FsChange {
  const bytes = Buffer.from(content);
  return {
    kind: 'upsert',
    header: { path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: bytes.length, mtime: T, ...extra },
    ...(extra.type === undefined || extra.type === 'file' ? { open: () => Readable.from([bytes]) } : {}),
  };
}

async function realTarBytes(changes: readonly FsChange[]): Promise<{ real: number; bound?: number }> {
  const entries = await collectLayerEntries(
    (async function* () {
      yield* changes;
    })(),
  );
  let real = 0;
  for await (const chunk of tarChunks(
    readAhead(entries, { maxFileBytes: 1 << 20, windowBytes: 1 << 24, parallel: 4 }),
    65536,
  ))
    real += chunk.length;
  return { real, bound: tarBytesAtMost(entries, Number.MAX_SAFE_INTEGER) };
}

test.each([
  ['plain files', [upsert('a', {}, 'x'), upsert('b/c', {}, 'y'.repeat(1000)), upsert('e')]],
  [
    'a directory, a symlink, a whiteout',
    [
      upsert('d', { type: 'directory', mode: 0o755 }),
      upsert('d/l', { type: 'symlink', linkname: 'target' }),
      { kind: 'delete', path: 'gone' } as FsChange,
    ],
  ],
  [
    'names and link targets past ustar',
    [
      upsert(`${'d'.repeat(150)}/${'f'.repeat(150)}`, {}, 'long'),
      upsert('ln', { type: 'symlink', linkname: 't'.repeat(300) }),
      upsert('ünïcode/ñame', {}, 'u'),
    ],
  ],
  [
    'extended attributes, large and many',
    [
      upsert(
        'x',
        { xattrs: { 'user.big': Buffer.alloc(3000, 1), 'security.capability': Buffer.alloc(20, 2) } },
        'c',
      ),
      upsert('y', {
        xattrs: Object.fromEntries(
          Array.from({ length: 40 }, (_, i) => [`user.k${i}`, Buffer.from(`v${i}`)]),
        ),
      }),
    ],
  ],
])('the bound is at least the tar (%s)', async (_name, changes) => {
  const { real, bound } = await realTarBytes(changes);
  expect(real).toBeGreaterThan(1024);
  expect(bound).toBeGreaterThanOrEqual(real);
});

test('past the limit there is no bound (the layer is streamed)', async () => {
  const entries = await collectLayerEntries(
    (async function* () {
      yield upsert('a', {}, 'x'.repeat(70_000));
    })(),
  );
  expect(tarBytesAtMost(entries, 64 * 1024)).toBeUndefined();
  expect(tarBytesAtMost(entries, 1 << 20)).toBeGreaterThan(70_000);
});
