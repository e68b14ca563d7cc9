import {
  linkSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStatPaths, statPaths } from './stat-paths.js';

// The helper's answers must be what Node's lstatSync says of the same paths: the builder mixes
// both (stamps in the stat cache are compared across builds).

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-stat-paths-'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

it('reports what lstatSync reports, for files, directories and symlinks (never followed)', async () => {
  mkdirSync(join(base, 'dir', 'sub'), { recursive: true });
  writeFileSync(join(base, 'dir', 'file'), 'hello');
  writeFileSync(join(base, 'dir', 'sub', 'ünïcode name'), Buffer.alloc(70_000, 1));
  // A fractional-millisecond mtime: the helper's timespec must come out as Node's mtimeMs.
  utimesSync(join(base, 'dir', 'file'), 1_700_000_000.123456, 1_700_000_001.987654);
  symlinkSync('../dir/sub/ünïcode name', join(base, 'dir', 'link'));
  symlinkSync('/x'.repeat(7), join(base, 'abs')); // a target whose length is not a multiple of 8
  linkSync(join(base, 'dir', 'file'), join(base, 'dir', 'hard')); // nlink 2
  const paths = ['dir', 'dir/file', 'dir/hard', 'dir/sub', 'dir/sub/ünïcode name', 'dir/link', 'abs'];
  const got = await statPaths(base, paths);
  expect(got).toHaveLength(paths.length);
  paths.forEach((p, i) => {
    const st = lstatSync(join(base, p));
    const want = {
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      ino: st.ino,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      dev: st.dev,
      nlink: st.nlink,
      ...(st.isSymbolicLink() ? { linkname: readlinkSync(join(base, p)) } : {}),
    };
    expect({ path: p, ...(got[i] as object) }).toEqual({ path: p, ...want });
  });
});

it('gives the errno of paths that cannot be statted, and refuses paths that could leave the dir', async () => {
  writeFileSync(join(base, 'file'), 'x');
  const got = await statPaths(base, [
    'missing',
    'file/below',
    '../etc/passwd',
    'a/../file',
    '/etc/passwd',
    'file',
  ]);
  expect(got.slice(0, 5)).toEqual([2 /* ENOENT */, 20 /* ENOTDIR */, 22, 22, 22 /* EINVAL */]);
  expect(got[5]).toMatchObject({ size: 1 });
});

it('asks nothing of the helper for no paths', async () => {
  await expect(statPaths(join(base, 'does-not-exist'), [])).resolves.toEqual([]);
});

it('fails with HELPER_FAILED when the directory cannot be opened', async () => {
  await expect(statPaths(join(base, 'does-not-exist'), ['x'])).rejects.toMatchObject({
    code: 'HELPER_FAILED',
  });
});

it('rejects output that does not hold one record per path', () => {
  expect(() => parseStatPaths(Buffer.alloc(104), 2)).toThrow(/1 of 2 records missing/);
  expect(() => parseStatPaths(Buffer.alloc(112), 1)).toThrow(/8 bytes after 1 records/);
  const link = new Float64Array(13);
  link[1] = 0o120777;
  link[12] = 100;
  expect(() => parseStatPaths(Buffer.from(link.buffer), 1)).toThrow(/truncated link target/);
});
