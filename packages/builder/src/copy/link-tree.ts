import { chmod, copyFile, link, lchown, mkdir, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { planCopy } from './plan-copy.js';
import type { SourceEntry, SourceTree } from './source-tree.js';

/**
 * Makes at `to` (created here) the tree below the directory `dir` of `tree` — another stage's or
 * image's files, for `RUN --mount=type=bind,from=…`: directories with their mode, owner and
 * mtime, regular files as hard links to the layer files behind them (copies where the store
 * spans filesystems), symlinks made again; fifos and devices are left out. Nothing behind the
 * links may be written: the step must get the tree through a read-only bind, or through an
 * overlay whose upper layer takes the writes (a `rw` bind). The caller removes `to`.
 */
export async function linkTree(tree: SourceTree, dir: SourceEntry, to: string): Promise<void> {
  const entries = await planCopy(tree, dir, '', { uid: 0, gid: 0, keepOwners: true });
  const dirs = [{ path: to, header: dir.header }];
  await mkdir(to);
  for (const { header: h, source } of entries) {
    const path = join(to, h.path);
    if (h.type === 'directory') {
      await mkdir(path);
      dirs.push({ path, header: h });
    } else if (h.type === 'file' && source !== undefined) {
      await link(source, path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV') throw err;
        return copyFile(source, path);
      });
    } else if (h.type === 'symlink') {
      await symlink(h.linkname ?? '', path);
      await lchown(path, h.uid, h.gid);
    }
  }
  // Deepest first: making an entry in a directory changes its mtime.
  for (const { path, header: h } of dirs.reverse()) {
    await chmod(path, h.mode);
    await lchown(path, h.uid, h.gid);
    await utimes(path, h.mtime, h.mtime);
  }
}
