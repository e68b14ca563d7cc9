import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import {
  chmod,
  copyFile,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  readdir,
  readlink,
  rm,
  symlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import { deviceNumbers, fileTypeOf } from '@kiln/oci';
import { isWhiteout } from './header-from-stats.js';
import type { LayerView } from './lookup-path.js';
import { runHelper } from './run-helper.js';

/**
 * Copies unpacked `layers` (bottom → top) into the empty directory `dest` the way overlayfs
 * merges them: a whiteout removes, an opaque directory drops what lower layers put there, a
 * non-directory replaces whatever was at its path. Owner, mode and times are kept; hardlinks
 * within a layer stay hardlinks; files are reflinked where the filesystem can. Extended
 * attributes are not copied. Symlinks are never followed (layers were extracted confined).
 */
export async function mergeLayers(layers: readonly LayerView[], dest: string): Promise<void> {
  for (const layer of layers) {
    if (layer.opaque.has('.')) await emptyDir(dest);
    await mergeDir(layer, '', dest, new Map());
    await setAttributes(dest, await lstat(layer.dir, { bigint: true }));
  }
}

async function mergeDir(
  layer: LayerView,
  dir: string,
  dest: string,
  links: Map<string, string>,
): Promise<void> {
  for (const name of (await readdir(join(layer.dir, dir))).sort()) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const src = join(layer.dir, path);
    const out = join(dest, path);
    const st = await lstat(src, { bigint: true });
    const existing = await lstat(out).catch(() => undefined);
    if (isWhiteout(st)) {
      await rm(out, { recursive: true, force: true });
      continue;
    }
    const type = fileTypeOf(st);
    if (type === undefined) continue;
    if (type === 'directory') {
      if (existing !== undefined && !existing.isDirectory()) await rm(out, { force: true });
      if (existing === undefined || !existing.isDirectory()) await mkdir(out);
      else if (layer.opaque.has(path)) await emptyDir(out);
      await mergeDir(layer, path, dest, links);
      // After the children: creating them changed the directory's mtime.
      await setAttributes(out, st);
      continue;
    }
    if (existing !== undefined) await rm(out, { recursive: true, force: true });
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        await link(join(dest, first), out);
        continue;
      }
      links.set(key, path);
    }
    if (type === 'file') await copyFile(src, out, constants.COPYFILE_FICLONE);
    else if (type === 'symlink') await symlink(await readlink(src), out);
    else {
      // Node cannot mknod; the helper can (it refuses anything outside dest).
      const { devmajor, devminor } = deviceNumbers(st.rdev);
      const letter = type === 'char-device' ? 'c' : type === 'block-device' ? 'b' : 'p';
      await runHelper(['whiteouts', '--dir', dest, '--device', `${letter}:${devmajor}:${devminor}:${path}`]);
    }
    await setAttributes(out, st);
  }
}

async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

/** chown first: it clears setuid/setgid bits. Symlinks keep mode 0777. */
async function setAttributes(path: string, st: BigIntStats): Promise<void> {
  await lchown(path, Number(st.uid), Number(st.gid));
  if (!st.isSymbolicLink()) await chmod(path, Number(st.mode & 0o7777n));
  await lutimes(path, Number(st.atimeNs) / 1e9, Number(st.mtimeNs) / 1e9);
}
