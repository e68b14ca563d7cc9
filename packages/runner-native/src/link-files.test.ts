import { chmodSync, chownSync, lstatSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayerFile } from '@kiln/oci';
import { linkFiles } from './link-files.js';

let from: string;
let to: string;
let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-link-files-'));
  from = join(base, 'from');
  to = join(base, 'to');
  mkdirSync(from);
  mkdirSync(to);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const MTIME = 1_700_000_000;

/** A file in `from` with these attributes; returns what linkFiles is asked to match. */
function file(path: string, content: string, opts: { mode?: number; uid?: number } = {}): LayerFile {
  const full = join(from, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, content);
  chmodSync(full, opts.mode ?? 0o644);
  if (opts.uid !== undefined) chownSync(full, opts.uid, 0);
  utimesSync(full, MTIME, MTIME);
  return { path, mode: opts.mode ?? 0o644, uid: opts.uid ?? 0, gid: 0, size: content.length, mtime: MTIME };
}

it('hardlinks files whose attributes match, making their parent directories', async () => {
  const files = [file('a/b/one', 'one'), file('a/b/two', 'two', { mode: 0o4755 }), file('top', 'top')];
  expect(await linkFiles(from, to, files)).toEqual([true, true, true]);
  for (const f of files) {
    const src = lstatSync(join(from, f.path));
    const dst = lstatSync(join(to, f.path));
    expect(dst.ino).toBe(src.ino);
    expect(dst.nlink).toBe(2);
  }
  expect(lstatSync(join(to, 'a', 'b')).isDirectory()).toBe(true);
  expect(lstatSync(join(to, 'a')).mode & 0o7777).toBe(0o755);
});

it('refuses a file whose mode, owner, size or mtime differ, or that is not a regular file', async () => {
  const same = file('d/same', 'same');
  const wrong = [
    { ...file('d/mode', 'x'), mode: 0o600 },
    { ...file('d/owner', 'x', { uid: 1000 }), uid: 0 },
    { ...file('d/size', 'x'), size: 2 },
    { ...file('d/mtime', 'x'), mtime: MTIME + 1 },
    { path: 'd/missing', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: MTIME },
  ];
  symlinkSync('same', join(from, 'd', 'symlink'));
  const symlink = { path: 'd/symlink', mode: 0o777, uid: 0, gid: 0, size: 4, mtime: MTIME };
  mkdirSync(join(from, 'd', 'dir'));
  const dir = { path: 'd/dir', mode: 0o755, uid: 0, gid: 0, size: 4096, mtime: MTIME };
  // A sub-second mtime is not what an unpacked layer has.
  const frac = file('d/frac', 'x');
  utimesSync(join(from, frac.path), MTIME + 0.5, MTIME + 0.5);
  const got = await linkFiles(from, to, [same, ...wrong, symlink, dir, frac]);
  expect(got).toEqual([true, false, false, false, false, false, false, false, false]);
  for (const f of [...wrong, symlink, dir, frac])
    expect(lstatSync(join(to, f.path), { throwIfNoEntry: false })).toBeUndefined();
});

it('never goes through a symlink or outside the directories', async () => {
  // `from/evil` points at a directory holding an equal file: following it would link that file.
  const outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'f'), 'x');
  utimesSync(join(outside, 'f'), MTIME, MTIME);
  symlinkSync(outside, join(from, 'evil'));
  // `to/trap` is a symlink to a directory elsewhere: a link made through it would land outside.
  const trapTarget = join(base, 'trap-target');
  mkdirSync(trapTarget);
  file('trap/f', 'x');
  symlinkSync(trapTarget, join(to, 'trap'));
  const attrs = { mode: 0o644, uid: 0, gid: 0, size: 1, mtime: MTIME };
  const got = await linkFiles(from, to, [
    { path: 'evil/f', ...attrs },
    { path: 'trap/f', ...attrs },
    { path: '../outside/f', ...attrs },
    { path: '/etc/passwd', ...attrs },
    { path: 'a/./f', ...attrs },
  ]);
  expect(got).toEqual([false, false, false, false, false]);
  expect(lstatSync(join(trapTarget, 'f'), { throwIfNoEntry: false })).toBeUndefined();
  expect(lstatSync(join(to, 'evil'), { throwIfNoEntry: false })).toBeUndefined();
});

it('answers nothing for no files', async () => {
  expect(await linkFiles(from, to, [])).toEqual([]);
});
