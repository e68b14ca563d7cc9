import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Digest } from '@kiln/oci';
import type { RunnerErrorCode } from './runner-error.js';
import { Snapshotter } from './snapshotter.js';
import { layerTar, type TestEntry } from './test/layer-tar.js';

/*
 * Hostile layer fixtures for Snapshotter.unpack (extract-layer.ts + confined-dir.ts). Every case
 * runs next to a sentinel directory `outside/` holding one file; after the case the sentinel must
 * be byte-for-byte and stat-for-stat unchanged, nothing new may appear beside the store, and the
 * unpack must either fail with the named RunnerError (leaving no layer dir behind) or succeed with
 * the documented safe outcome checked by `safe`.
 */

let base: string;
let outside: string;
let snapshotter: Snapshotter;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiln-hostile-'));
  outside = join(base, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'secret', { mode: 0o600 });
  snapshotter = new Snapshotter(join(base, 'store'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** What a case must end in: a RunnerError code, or success plus a check of the layer dir. */
type Outcome = { readonly code: RunnerErrorCode } | { readonly safe: (layer: string) => Promise<void> };

interface Case {
  readonly name: string;
  /** The tar, given the sentinel directory's absolute path. */
  readonly tar: (outside: string) => Readable;
  readonly outcome: Outcome;
}

const entries =
  (make: (outside: string) => TestEntry[]) =>
  (o: string): Readable =>
    layerTar(make(o));

const cases: Case[] = [
  {
    name: '../ at the start',
    tar: entries(() => [{ name: '../outside/evil', content: 'x' }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: '../ in the middle',
    tar: entries(() => [{ name: 'a/b/../../../outside/evil', content: 'x' }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: './../ prefix',
    tar: entries(() => [{ name: './../evil', content: 'x' }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'an absolute path into the sentinel',
    tar: entries((o) => [{ name: `${o}/evil`, content: 'x' }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a write through a relative symlinked parent',
    tar: entries(() => [
      { name: 'up', type: 'symlink', linkname: '../../../outside' },
      { name: 'up/evil', content: 'x' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a write through an absolute symlinked parent',
    tar: entries((o) => [
      { name: 'out', type: 'symlink', linkname: o },
      { name: 'out/evil', content: 'x' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'the "/." symlink trick',
    tar: entries((o) => [
      { name: 'root', type: 'symlink', linkname: '/.' },
      { name: `root${o}/evil`, content: 'x' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'the "./../" symlink trick',
    tar: entries(() => [
      { name: 'dot', type: 'symlink', linkname: './../' },
      { name: 'dot/evil', content: 'x' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a symlink chain that ends outside',
    tar: entries((o) => [
      { name: 'c', type: 'symlink', linkname: o },
      { name: 'b', type: 'symlink', linkname: 'c' },
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'a/evil', content: 'x' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a directory replaced by a symlink, then written through',
    tar: entries((o) => [
      { name: 'd/', type: 'directory' },
      { name: 'd/inner', content: 'x' },
      { name: 'd', type: 'symlink', linkname: o },
      { name: 'd/evil', content: 'x' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a symlink replaced by a directory later in the tar',
    tar: entries((o) => [
      { name: 'd', type: 'symlink', linkname: o },
      { name: 'd/', type: 'directory' },
      { name: 'd/file', content: 'inside' },
    ]),
    outcome: {
      safe: async (layer) => {
        expect((await lstat(join(layer, 'd'))).isDirectory()).toBe(true);
        expect(await readFile(join(layer, 'd/file'), 'utf8')).toBe('inside');
      },
    },
  },
  {
    name: 'a file written over a symlink that points outside',
    tar: entries((o) => [
      { name: 'f', type: 'symlink', linkname: `${o}/secret` },
      { name: 'f', content: 'replaced' },
    ]),
    outcome: {
      safe: async (layer) => expect(await readFile(join(layer, 'f'), 'utf8')).toBe('replaced'),
    },
  },
  {
    name: 'a deferred directory mtime whose parent becomes a symlink',
    tar: entries((o) => [
      { name: 'x/', type: 'directory' },
      { name: 'x/secret/', type: 'directory', mtime: new Date('2001-01-01T00:00:00Z') },
      { name: 'x', type: 'symlink', linkname: o },
    ]),
    outcome: { safe: async (layer) => expect(await readlink(join(layer, 'x'))).toBe(outside) },
  },
  {
    name: 'a deferred whiteout whose parent becomes a symlink',
    tar: entries((o) => [
      { name: 'x/', type: 'directory' },
      { name: 'x/.wh.secret', content: '' },
      { name: 'x', type: 'symlink', linkname: o },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a deferred device node whose parent becomes a symlink',
    tar: entries((o) => [
      { name: 'x/', type: 'directory' },
      { name: 'x/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'x', type: 'symlink', linkname: o },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a hardlink to ../ outside',
    tar: entries(() => [{ name: 'h', type: 'link', linkname: '../outside/secret' }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a hardlink to an absolute path',
    tar: entries((o) => [{ name: 'h', type: 'link', linkname: `${o}/secret` }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a hardlink through a symlinked parent',
    tar: entries((o) => [
      { name: 's', type: 'symlink', linkname: o },
      { name: 'h', type: 'link', linkname: 's/secret' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    // link(2) never follows the symlink, so the result is a second name for the symlink itself.
    name: 'a hardlink to a symlink that points outside',
    tar: entries((o) => [
      { name: 's', type: 'symlink', linkname: `${o}/secret` },
      { name: 'h', type: 'link', linkname: 's' },
    ]),
    outcome: {
      safe: async (layer) => {
        expect((await lstat(join(layer, 'h'))).isSymbolicLink()).toBe(true);
        expect((await lstat(join(layer, 'h'))).ino).toBe((await lstat(join(layer, 's'))).ino);
      },
    },
  },
  {
    name: 'a hardlink to a directory',
    tar: entries(() => [
      { name: 'd/', type: 'directory' },
      { name: 'h', type: 'link', linkname: 'd' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    // As root (unpack requires it) device nodes are kept, like every OCI runtime does; the helper
    // creates them with every parent opened O_NOFOLLOW, so they can only land inside the layer.
    name: 'device nodes',
    tar: entries(() => [
      { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 },
      { name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1, mode: 0o640 },
    ]),
    outcome: {
      safe: async (layer) => {
        expect((await lstat(join(layer, 'dev/sda'))).isBlockDevice()).toBe(true);
        expect((await lstat(join(layer, 'dev/mem'))).isCharacterDevice()).toBe(true);
      },
    },
  },
  {
    name: 'a file, then a directory of the same name',
    tar: entries(() => [
      { name: 'same', content: 'file' },
      { name: 'same/', type: 'directory' },
      { name: 'same/child', content: 'c' },
    ]),
    outcome: {
      safe: async (layer) => expect(await readFile(join(layer, 'same/child'), 'utf8')).toBe('c'),
    },
  },
  {
    name: 'a file used as a parent directory',
    tar: entries(() => [
      { name: 'f', content: 'file' },
      { name: 'f/child', content: 'c' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a ".wh..." whiteout (of "..")',
    tar: entries(() => [{ name: 'a/.wh...', content: '' }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a ".wh.." whiteout (of ".")',
    tar: entries(() => [{ name: '.wh..', content: '' }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a bare ".wh." whiteout',
    tar: entries(() => [{ name: 'a/.wh.', content: '' }]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a whiteout reached through a symlinked parent',
    tar: entries((o) => [
      { name: 's', type: 'symlink', linkname: o },
      { name: 's/.wh.secret', content: '' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'an opaque marker in a symlinked directory',
    tar: entries((o) => [
      { name: 's', type: 'symlink', linkname: o },
      { name: 's/.wh..wh..opq', content: '' },
    ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    // Whiting out a symlink removes the link, never what it points at.
    name: 'a whiteout of a symlink that points outside',
    tar: entries((o) => [
      { name: 'link', type: 'symlink', linkname: o },
      { name: '.wh.link', content: '' },
    ]),
    outcome: {
      safe: async (layer) => expect((await lstat(join(layer, 'link'))).isCharacterDevice()).toBe(true),
    },
  },
  {
    name: 'a PAX header larger than the parser allows',
    tar: () => rawTar([paxEntry('x', { comment: 'A'.repeat(5 * 1024 * 1024) }), fileEntry('ok', 'x')]),
    outcome: { code: 'UNPACK_FAILED' },
  },
  {
    name: 'a PAX path that escapes',
    tar: () => rawTar([paxEntry('x', { path: '../outside/evil' }), fileEntry('harmless', 'x')]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a PAX global header whose path escapes',
    tar: () =>
      rawTar([
        paxEntry('g', { path: '../outside/evil' }),
        paxEntry('x', { comment: 'the global path applies to this entry' }),
        fileEntry('harmless', 'x'),
      ]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a GNU long name that escapes',
    tar: () =>
      rawTar([rawEntry('././@LongLink', 'L', Buffer.from('../outside/evil\0')), fileEntry('a', 'x')]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a PAX linkpath that escapes',
    tar: () =>
      rawTar([paxEntry('x', { linkpath: '../outside/secret' }), rawEntry('h', '1', Buffer.alloc(0), 'ok')]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a PAX size that lies',
    tar: () => rawTar([paxEntry('x', { size: '-1' }), fileEntry('a', 'x')]),
    outcome: { code: 'UNPACK_FAILED' },
  },
  {
    name: 'a name with a NUL byte (PAX path)',
    tar: () => rawTar([paxEntry('x', { path: 'a\0/../../outside/evil' }), fileEntry('a', 'x')]),
    outcome: { code: 'UNSAFE_PATH' },
  },
  {
    name: 'a name with newlines',
    tar: entries(() => [{ name: 'dir/line\none\n..\n', content: 'nl' }]),
    outcome: {
      safe: async (layer) => expect(await readFile(join(layer, 'dir/line\none\n..\n'), 'utf8')).toBe('nl'),
    },
  },
  {
    name: 'a path longer than PATH_MAX',
    tar: entries(() => [{ name: `${'d123456789/'.repeat(400)}f`, content: 'x' }]),
    outcome: { code: 'UNPACK_FAILED' },
  },
  {
    name: 'a path component longer than NAME_MAX',
    tar: entries(() => [{ name: `a/${'n'.repeat(300)}`, content: 'x' }]),
    outcome: { code: 'UNPACK_FAILED' },
  },
  {
    // The root entry carries the root's attributes only when it is a directory; else it is skipped.
    name: 'a root entry that claims to be a symlink',
    tar: entries((o) => [
      { name: './', type: 'symlink', linkname: o },
      { name: 'inside', content: 'x' },
    ]),
    outcome: {
      safe: async (layer) => {
        expect((await lstat(layer)).isDirectory()).toBe(true);
        expect(await readFile(join(layer, 'inside'), 'utf8')).toBe('x');
      },
    },
  },
  {
    name: 'a truncated archive',
    tar: () => Readable.from([rawEntry('big', '0', Buffer.alloc(4096, 1)).subarray(0, 1024)]),
    outcome: { code: 'UNPACK_FAILED' },
  },
];

it('has at least 20 hostile fixtures', () => {
  expect(cases.length).toBeGreaterThanOrEqual(20);
});

it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
  const before = await describeTree(outside);
  const id = sha256Digest(`hostile-${c.name}`);
  const unpacking = snapshotter.unpack(id, c.tar(outside));
  if ('code' in c.outcome) {
    await expect(unpacking).rejects.toMatchObject({ name: 'RunnerError', code: c.outcome.code });
    expect(await snapshotter.has(id)).toBe(false);
    expect(await readdir(join(base, 'store/layers'))).toEqual([]);
  } else {
    await unpacking;
    await c.outcome.safe(snapshotter.layerDir(id));
  }
  expect(await describeTree(outside)).toEqual(before);
  expect((await readdir(base)).sort()).toEqual(['outside', 'store']);
  expect(existsSync('/tmp/evil')).toBe(false);
});

/** Every entry under `dir` with the stat fields an escape could change, plus file contents. */
async function describeTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await lstat(path);
    const content = st.isFile() ? await readFile(path, 'utf8') : '';
    out.push(`${name} ${st.mode} ${st.uid}:${st.gid} n${st.nlink} ${st.size} ${st.mtimeMs} ${content}`);
    if (st.isDirectory()) out.push(...(await describeTree(path)).map((e) => `${name}/${e}`));
  }
  return out;
}

/** A tar built by hand, for headers tar-stream's packer will not write (global PAX, GNU long names, lies). */
function rawTar(blocks: readonly Buffer[]): Readable {
  return Readable.from([Buffer.concat([...blocks, Buffer.alloc(1024)])]);
}

/** One ustar header of type `flag` followed by `body`, padded to 512 bytes. */
function rawEntry(name: string, flag: string, body: Buffer, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('14000000000\0', 136);
  h.fill(' ', 148, 156);
  h.write(flag, 156);
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([h, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

function fileEntry(name: string, content: string): Buffer {
  return rawEntry(name, '0', Buffer.from(content));
}

/** A PAX extended ('x') or global ('g') header carrying `records`. */
function paxEntry(flag: 'x' | 'g', records: Record<string, string>): Buffer {
  const body = Object.entries(records).map(([key, value]) => {
    const text = ` ${key}=${value}\n`;
    const size = Buffer.byteLength(text);
    let len = size + String(size).length;
    while (len !== size + String(len).length) len = size + String(len).length;
    return Buffer.from(`${len}${text}`);
  });
  return rawEntry('PaxHeader', flag, Buffer.concat(body));
}
