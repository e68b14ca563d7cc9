import type { FileHeader } from '@kiln/oci';
import { contentDigest } from './content-digest.js';
import { linkHardlinks, scopeHardlinks } from './link-hardlinks.js';
import type { CopyEntry } from './plan-copy.js';

// Which of a COPY's files become hard links, and to which: groups form only among the entries
// the COPY writes, the leader is the first path in the layer's order whatever the plan's order,
// and the grouping shows in the content digest (the cache key).

function file(path: string, inode?: string, extra: Partial<FileHeader> = {}): CopyEntry {
  const header: FileHeader = {
    path,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 4,
    mtime: new Date(0),
    ...extra,
  };
  return { header, source: `/ctx/${path}`, ...(inode === undefined ? {} : { inode }) };
}

function dir(path: string): CopyEntry {
  return { header: { path, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: new Date(0) } };
}

/** Each entry as `path` (a file), `path -> target` (a link) or `path/` (a directory). */
function shape(entries: readonly CopyEntry[]): string[] {
  return entries.map(({ header: h, source }) =>
    h.type === 'link'
      ? `${h.path} -> ${h.linkname ?? ''}${source === undefined ? '' : ' (with a source!)'}`
      : h.type === 'directory'
        ? `${h.path}/`
        : h.path,
  );
}

it('returns the entries themselves when no inode occurs twice', () => {
  const entries = [dir('x'), file('x/a', '1:10'), file('x/b', '1:11'), file('x/c')];
  expect(linkHardlinks(entries)).toBe(entries);
});

it('links every other member of a group to the member first in the layer order', () => {
  // Plan order puts x/z first; the layer sorts "x/dir" (x\0dir) before "x/z" and "x/dir/b"
  // after "x/dir": the leader is x/dir/b. "x-y" sorts after "x/..." (a directory's children
  // come right after it).
  const entries = [
    file('x/z', '1:10'),
    file('x-y', '1:10'),
    dir('x/dir'),
    file('x/dir/b', '1:10'),
    file('x/c', '1:20'),
    file('x/d', '1:20'),
    file('x/e'),
  ];
  expect(shape(linkHardlinks(entries))).toEqual([
    'x/z -> x/dir/b',
    'x-y -> x/dir/b',
    'x/dir/',
    'x/dir/b',
    'x/c',
    'x/d -> x/c',
    'x/e',
  ]);
  const linked = linkHardlinks(entries)[0];
  expect(linked?.header).toMatchObject({ type: 'link', size: 0, mode: 0o644, uid: 0, gid: 0 });
  expect(linked).not.toHaveProperty('stamp');
});

it('keeps --chmod and --chown as planned on every member (one inode, one set of attributes)', () => {
  const entries = [
    file('a', '1:10', { mode: 0o755, uid: 1000, gid: 1000 }),
    file('b', '1:10', { mode: 0o755, uid: 1000, gid: 1000 }),
  ];
  expect(linkHardlinks(entries)[1]?.header).toEqual({
    path: 'b',
    type: 'link',
    mode: 0o755,
    uid: 1000,
    gid: 1000,
    size: 0,
    mtime: new Date(0),
    linkname: 'a',
  });
});

it('leaves a file whose other names are not copied a plain file', () => {
  expect(shape(linkHardlinks([file('a', '1:10'), file('b', '1:11')]))).toEqual(['a', 'b']);
});

it('tells devices apart: the same inode number on another device is another file', () => {
  expect(shape(linkHardlinks([file('a', '1:10'), file('b', '2:10')]))).toEqual(['a', 'b']);
});

it('counts only the entry a path ends up with', () => {
  // "a" is written again later by a heredoc: the group is "b" and "c" only.
  const heredoc: CopyEntry = {
    header: { path: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 2, mtime: new Date(0) },
    content: Buffer.from('hi'),
  };
  expect(shape(linkHardlinks([file('a', '1:10'), file('c', '1:10'), file('b', '1:10'), heredoc]))).toEqual([
    'a',
    'c -> b',
    'b',
    'a',
  ]);
  // The same path twice (two sources copied onto one name) is one member, not a self-link.
  expect(shape(linkHardlinks([file('a', '1:10'), file('a', '1:10')]))).toEqual(['a', 'a']);
});

it('gives a hard-linked pair another content digest than two equal files', async () => {
  // The bytes come from memory here: each file's source is replaced by the same content.
  const withContent = (entries: readonly CopyEntry[]): CopyEntry[] =>
    entries.map((e) => (e.header.type === 'file' ? { header: e.header, content: Buffer.from('same') } : e));
  const separate = linkHardlinks([file('a', '1:10'), file('b', '1:11')]);
  const linked = linkHardlinks([file('a', '1:10'), file('b', '1:10')]);
  expect(await contentDigest(withContent(linked))).not.toBe(await contentDigest(withContent(separate)));
});

it('groups only within one scope (one copied source): the same inode from two sources stays two files', () => {
  const first = [file('x/a', '1:10'), file('x/b', '1:10')];
  const second = [file('x/c', '1:10')];
  const entries = [...scopeHardlinks(first, 0), ...scopeHardlinks(second, 2)];
  expect(shape(linkHardlinks(entries))).toEqual(['x/a', 'x/b -> x/a', 'x/c']);
  const plain = [file('x/d')];
  expect(scopeHardlinks(plain, 5)).toBe(plain);
});
