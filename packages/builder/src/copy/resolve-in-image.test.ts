import type { FileHeader } from '@kiln/oci';
import { resolveInImage } from './resolve-in-image.js';

const at = { file: 'Dockerfile', line: 1, column: 1 };

/** An image as a map of paths to link targets ('' for a directory). */
function image(entries: Record<string, string>): (path: string) => Promise<FileHeader | undefined> {
  return (path) => {
    const target = entries[path];
    if (target === undefined) return Promise.resolve(undefined);
    const base = { path, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: new Date(0) };
    return Promise.resolve(
      target === '' ? { ...base, type: 'directory' } : { ...base, type: 'symlink', linkname: target },
    );
  };
}

const mergedUsr = image({
  usr: '',
  'usr/bin': '',
  'usr/lib': '',
  bin: 'usr/bin',
  lib: '/usr/lib',
  t: '',
  't/real': '',
  't/relsym': '../t/real',
  't/up': '../../../../t/real',
  't/dangle': '/nonexist/x',
  loop: 'loop2',
  loop2: 'loop',
});

describe('resolveInImage', () => {
  it.each([
    ['bin/app', 'usr/bin/app'],
    ['lib/x/y', 'usr/lib/x/y'],
    ['bin', 'usr/bin'],
    ['t/relsym/a', 't/real/a'],
    ['t/up/a', 't/real/a'],
    ['t/dangle', 'nonexist/x'],
    ['new/dir/file', 'new/dir/file'],
    ['./usr/../bin/./x', 'usr/bin/x'],
    ['../../etc', 'etc'],
    ['nope/../bin/x', 'usr/bin/x'],
    ['', ''],
  ])('%s → %s', async (path, want) => {
    expect((await resolveInImage(path, mergedUsr, at)).path).toBe(want);
  });

  it('gives what the image has at the resolved path, read on the way', async () => {
    expect((await resolveInImage('bin', mergedUsr, at)).found).toMatchObject({
      path: 'usr/bin',
      type: 'directory',
    });
    expect((await resolveInImage('usr/bin/..', mergedUsr, at)).found).toMatchObject({ path: 'usr' });
    expect((await resolveInImage('bin/new', mergedUsr, at)).found).toBeUndefined();
  });

  it('stops a loop of links with an error', async () => {
    await expect(resolveInImage('loop/x', mergedUsr, at)).rejects.toThrow(
      /too many levels of symbolic links/,
    );
  });
});
