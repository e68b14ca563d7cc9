import { createReadStream, type BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsChange } from '@kiln/oci';
import { fileTypeOf } from '@kiln/oci';
import { headerFromStats } from './header-from-stats.js';

interface EntryRecord {
  readonly ino: bigint;
  readonly birthtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly mode: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
}

/** What a plain rootfs looked like before the step: enough to tell what the step changed. */
export interface TreeRecord {
  readonly entries: ReadonlyMap<string, EntryRecord>;
  readonly children: ReadonlyMap<string, readonly string[]>;
}

/** Records every entry below `root` (root-relative paths; "" is the root). */
export async function recordTree(root: string): Promise<TreeRecord> {
  const entries = new Map<string, EntryRecord>();
  const children = new Map<string, string[]>();
  const visit = async (dir: string): Promise<void> => {
    const names = (await readdir(join(root, dir))).sort();
    children.set(dir, names);
    for (const name of names) {
      const path = dir === '' ? name : `${dir}/${name}`;
      const st = await lstat(join(root, path), { bigint: true });
      entries.set(path, {
        ino: st.ino,
        birthtimeNs: st.birthtimeNs,
        ctimeNs: st.ctimeNs,
        mtimeNs: st.mtimeNs,
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
      });
      if (st.isDirectory()) await visit(path);
    }
  };
  await visit('');
  return { entries, children };
}

/**
 * The changes below `root` since `before`, in the order and shape `upperChanges` gives for the
 * same step on an overlay: parents before children, siblings sorted by name, a changed entry's
 * directories included, a removed entry as one delete, a directory that replaced an earlier
 * entry as an upsert plus an opaque marker (overlayfs makes such a directory opaque).
 * "The same inode" means the same number and birth time (numbers are reused at once).
 * A non-directory changed when its inode or ctime did (ctime moves on every write, chmod,
 * chown, link and rename, and cannot be set back); a directory when its inode, mode, owner or
 * mtime did, or anything below it. Known difference: writing one name of a multiply-linked
 * lower file changes every name here, where overlayfs copies up only the name written.
 */
export async function* copyChanges(root: string, before: TreeRecord): AsyncGenerator<FsChange> {
  const out: FsChange[] = [];
  await diffDir(root, '', before, false, new Map(), out);
  yield* out;
}

/** Appends the changes inside `dir` to `out`; true when there were any. */
async function diffDir(
  root: string,
  dir: string,
  before: TreeRecord,
  fresh: boolean,
  firstNames: Map<string, string>,
  out: FsChange[],
): Promise<boolean> {
  const names = (await readdir(join(root, dir))).sort();
  const present = new Set(names);
  const old = fresh ? [] : (before.children.get(dir) ?? []);
  const all = [...new Set([...names, ...old])].sort();
  let changed = false;
  for (const name of all) {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (!present.has(name)) {
      out.push({ kind: 'delete', path });
      changed = true;
      continue;
    }
    const full = join(root, path);
    const st = await lstat(full, { bigint: true });
    const type = fileTypeOf(st);
    if (type === undefined) continue;
    const was = fresh ? undefined : before.entries.get(path);
    if (type === 'directory') {
      const replaced = was !== undefined && !sameInode(was, st);
      const inner: FsChange[] = [];
      const innerChanged = await diffDir(root, path, before, fresh || replaced, firstNames, inner);
      const self =
        was === undefined ||
        replaced ||
        was.mode !== st.mode ||
        was.uid !== st.uid ||
        was.gid !== st.gid ||
        was.mtimeNs !== st.mtimeNs;
      if (!self && !innerChanged) continue;
      out.push({ kind: 'upsert', header: headerFromStats(path, st, type) });
      if (replaced) out.push({ kind: 'opaque', path });
      out.push(...inner);
      changed = true;
      continue;
    }
    if (was !== undefined && sameInode(was, st) && was.ctimeNs === st.ctimeNs) continue;
    changed = true;
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = firstNames.get(key);
      if (first !== undefined) {
        out.push({ kind: 'upsert', header: headerFromStats(path, st, 'link', first) });
        continue;
      }
      firstNames.set(key, path);
    }
    const linkname = type === 'symlink' ? await readlink(full) : undefined;
    const header = headerFromStats(path, st, type, linkname);
    out.push(
      type === 'file'
        ? { kind: 'upsert', header, open: () => createReadStream(full), sourcePath: full }
        : { kind: 'upsert', header },
    );
  }
  return changed;
}

function sameInode(was: EntryRecord, st: BigIntStats): boolean {
  return was.ino === st.ino && was.birthtimeNs === st.birthtimeNs;
}
