import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { buildUnpackedOk, kiln, storeWithBusybox, tempDir } from './support/kiln.js';

// A context past the size where kiln stats it in one helper process (1,000 entries): what a
// COPY of it gives, and what a rebuild reuses or explains, must be what a small context gives.

const tmp = tempDir('kiln-big-context-');
const root = join(tmp.path, 'store');
const ctx = join(tmp.path, 'ctx');

beforeAll(() => {
  storeWithBusybox(root);
  for (let d = 0; d < 15; d++) {
    mkdirSync(join(ctx, 'files', `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(ctx, 'files', `d${d}`, `f${f}`), `${d}/${f}\n`);
    writeFileSync(join(ctx, 'files', `d${d}`, 'scratch.tmp'), 'tmp');
  }
  mkdirSync(join(ctx, 'files', 'logs'));
  writeFileSync(join(ctx, 'files', 'logs', 'a.log'), 'a');
  writeFileSync(join(ctx, 'files', 'logs', 'keep.log'), 'kept');
  symlinkSync('d1/f1', join(ctx, 'files', 'link'));
  writeFileSync(join(ctx, '.dockerignore'), 'files/logs\n!files/logs/keep.log\n**/*.tmp\n');
  writeFileSync(
    join(ctx, 'Dockerfile'),
    'FROM busybox\nCOPY --exclude=d3 --chmod=640 files /data\nRUN cat /data/d7/f7 > /seen\n',
  );
});
afterAll(() => tmp.cleanup());

it('copies what .dockerignore, --exclude and --chmod leave, as for a small context', () => {
  const { rootfs } = buildUnpackedOk(root, tmp.path, ctx);
  const data = join(rootfs, 'data');
  expect(readFileSync(join(data, 'd14', 'f99'), 'utf8')).toBe('14/99\n');
  expect(lstatSync(join(data, 'd0', 'f0')).mode & 0o777).toBe(0o640);
  expect(existsSync(join(data, 'd3'))).toBe(false);
  expect(existsSync(join(data, 'd0', 'scratch.tmp'))).toBe(false);
  expect(readFileSync(join(data, 'logs', 'keep.log'), 'utf8')).toBe('kept');
  expect(existsSync(join(data, 'logs', 'a.log'))).toBe(false);
  expect(readlinkSync(join(data, 'link'))).toBe('d1/f1');
  expect(readFileSync(join(rootfs, 'seen'), 'utf8')).toBe('7/7\n');
});

it('reuses every step when nothing changed, and names the one file that did', () => {
  const again = kiln(root, ['build', '--progress', 'plain', ctx]);
  expect(again.status).toBe(0);
  expect(again.stderr).not.toContain('cache miss');
  expect(again.stderr.match(/^#\d+ CACHED$/gm)).toHaveLength(2);
  writeFileSync(join(ctx, 'files', 'd7', 'f7'), 'changed\n');
  const changed = buildUnpackedOk(root, tmp.path, ctx);
  expect(changed.stderr).toMatch(/^#\d+ cache miss: data\/d7\/f7 changed$/m);
  expect(readFileSync(join(changed.rootfs, 'seen'), 'utf8')).toBe('changed\n');
});

it('sees a change to a file that .dockerignore re-includes, and ignores one it excludes', () => {
  writeFileSync(join(ctx, 'files', 'logs', 'a.log'), 'ignored change');
  writeFileSync(join(ctx, 'files', 'd5', 'scratch.tmp'), 'ignored change');
  const ignored = kiln(root, ['build', '--progress', 'plain', ctx]);
  expect(ignored.stderr).not.toContain('cache miss');
  writeFileSync(join(ctx, 'files', 'logs', 'keep.log'), 'kept, changed');
  const seen = kiln(root, ['build', '--progress', 'plain', ctx]);
  expect(seen.status).toBe(0);
  expect(seen.stderr).toMatch(/^#\d+ cache miss: data\/logs\/keep\.log changed$/m);
});
