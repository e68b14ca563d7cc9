import { tarSortKey } from '@kiln/layer-store';
import type { CopyEntry } from './plan-copy.js';

/**
 * Keeps the hard links among the files one COPY writes, as BuildKit does: entries whose source
 * files share an inode (`CopyEntry.inode`, set only where nlink > 1) form a group when there
 * are two or more of them; the member first in the layer's sort order (tarSortKey) stays a
 * regular file and every other member becomes a `link` entry naming it, with no content of its
 * own. A file whose other names the COPY does not copy stays a plain file. Only the entry a path
 * ends up with counts (a later entry for the same path replaces an earlier one when the layer is
 * written). Pure: returns `entries` itself when there is no group, else a new array in the same
 * order. The groups thus reach the COPY's content digest (a link entry's type and target are
 * part of it) and the layer writer, which puts each link after its target (orderHardlinks).
 */
export function linkHardlinks(entries: readonly CopyEntry[]): readonly CopyEntry[] {
  const byInode = new Map<string, number[]>();
  for (let i = 0; i < entries.length; i++) {
    const { inode, header } = entries[i] as CopyEntry;
    if (inode === undefined || header.type !== 'file') continue;
    const members = byInode.get(inode);
    if (members) members.push(i);
    else byInode.set(inode, [i]);
  }
  // Most COPYs have no hard links at all: nothing below runs for them.
  const groups = [...byInode.values()].filter((members) => members.length > 1);
  if (groups.length === 0) return entries;
  const lastAt = new Map<string, number>();
  entries.forEach((e, i) => lastAt.set(e.header.path, i));
  const out = entries.slice();
  for (const group of groups) {
    const members = group
      .filter((i) => lastAt.get((entries[i] as CopyEntry).header.path) === i)
      .map((i) => ({ i, key: tarSortKey((entries[i] as CopyEntry).header.path) }))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    const [leader, ...others] = members;
    if (leader === undefined) continue;
    const linkname = (entries[leader.i] as CopyEntry).header.path;
    for (const { i } of others) {
      const { header } = entries[i] as CopyEntry;
      out[i] = { header: { ...header, type: 'link', size: 0, linkname } };
    }
  }
  return out;
}

/**
 * `entries` with their `inode` keys scoped to one copy of one matched source: BuildKit keeps
 * hard links only among the files of one such copy (`COPY . /x/` keeps the context's links,
 * `COPY a b /x/` with `a` and `b` linked writes two files), so kiln groups them the same way.
 * Returns `entries` itself when none has an inode.
 */
export function scopeHardlinks(entries: readonly CopyEntry[], scope: number): readonly CopyEntry[] {
  if (!entries.some((e) => e.inode !== undefined)) return entries;
  return entries.map((e) => (e.inode === undefined ? e : { ...e, inode: `${scope}/${e.inode}` }));
}
