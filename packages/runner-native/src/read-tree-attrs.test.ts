import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opaqueDirs } from './opaque-dirs.js';
import { parseTreeAttrs, readTreeAttrs } from './read-tree-attrs.js';
import { readXattrs } from './read-xattrs.js';

// One helper walk must report what the two separate walks (opaque-dirs, xattrs) report; those are
// checked against getfattr/getcap in xattrs.test.ts and snapshotter.test.ts.

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-tree-attrs-'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const setfattr = (name: string, value: string, path: string): void => {
  execFileSync('setfattr', ['-n', name, '-v', value, path]);
};
const asRoot = process.getuid?.() === 0 ? it : it.skip;

asRoot('reports opaque directories and extended attributes in one walk, as the two walks do', async () => {
  const dir = join(base, 'upper');
  mkdirSync(join(dir, 'a', 'deep', 'er'), { recursive: true });
  mkdirSync(join(dir, 'not-opaque'));
  copyFileSync('/bin/busybox', join(dir, 'a', 'ping'));
  execFileSync('setcap', ['cap_net_raw+ep', join(dir, 'a', 'ping')]);
  writeFileSync(join(dir, 'a', 'deep', 'file'), 'x');
  setfattr('trusted.overlay.opaque', 'y', dir);
  setfattr('trusted.overlay.opaque', 'y', join(dir, 'a'));
  setfattr('trusted.overlay.opaque', 'y', join(dir, 'a', 'deep', 'er'));
  setfattr('trusted.overlay.opaque', 'n', join(dir, 'not-opaque'));
  setfattr('user.role', 'tools', join(dir, 'a'));
  setfattr('user.note', `0x${Buffer.from('bin\0ary').toString('hex')}`, join(dir, 'a', 'deep', 'file'));
  setfattr('trusted.overlay.origin', '0x00', join(dir, 'a', 'deep', 'file'));
  // A symlink to an opaque directory is an entry of its own: never followed.
  symlinkSync('a', join(dir, 'link'));

  const attrs = await readTreeAttrs(dir);
  expect([...attrs.opaque].sort()).toEqual(['.', 'a', 'a/deep/er']);
  expect([...attrs.xattrs.keys()].sort()).toEqual(['a', 'a/deep/file', 'a/ping']);
  expect(attrs.xattrs.get('a')).toEqual({ 'user.role': Buffer.from('tools') });
  expect(attrs.xattrs.get('a/deep/file')).toEqual({ 'user.note': Buffer.from('bin\0ary') });
  expect(Object.keys(attrs.xattrs.get('a/ping') ?? {})).toEqual(['security.capability']);
  expect(attrs).toEqual({ opaque: await opaqueDirs(dir), xattrs: await readXattrs(dir) });
});

it('rejects truncated records and unknown tags', () => {
  expect(parseTreeAttrs(Buffer.from('o\0a/b\0x\0a\0user.k\x003\0v\0w'))).toEqual({
    opaque: new Set(['a/b']),
    xattrs: new Map([['a', { 'user.k': Buffer.from('v\0w') }]]),
  });
  expect(() => parseTreeAttrs(Buffer.from('o\0a/b'))).toThrow(/truncated/);
  expect(() => parseTreeAttrs(Buffer.from('x\0a\0user.k\x009\0v'))).toThrow(/bad xattr value length for a/);
  expect(() => parseTreeAttrs(Buffer.from('z\0a\0'))).toThrow(/unknown tree-attrs record "z"/);
});
