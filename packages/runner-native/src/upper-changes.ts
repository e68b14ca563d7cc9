import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsChange } from '@kiln/oci';
import { fileTypeOf } from '@kiln/oci';
import { headerFromStats, isWhiteout } from './header-from-stats.js';
import { opaqueDirs } from './opaque-dirs.js';

/**
 * The overlay upper dir `upper` as a changeset, parents before children, siblings sorted by name:
 * a whiteout (char device 0/0) is a delete; an opaque directory is an upsert of the directory
 * followed by an opaque marker; everything else is an upsert. A second name of an inode becomes a
 * hardlink to the first name seen in that order. Sockets are skipped. Regular files get `open()`,
 * read lazily, so nothing is buffered.
 */
export async function* upperChanges(upper: string): AsyncGenerator<FsChange> {
  const opaque = await opaqueDirs(upper);
  yield* walk(upper, '', opaque, new Map());
}

async function* walk(
  root: string,
  dir: string,
  opaque: ReadonlySet<string>,
  firstNames: Map<string, string>,
): AsyncGenerator<FsChange> {
  const names = (await readdir(join(root, dir))).sort();
  for (const name of names) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const full = join(root, path);
    const st = await lstat(full, { bigint: true });
    if (isWhiteout(st)) {
      yield { kind: 'delete', path };
      continue;
    }
    const type = fileTypeOf(st);
    if (type === undefined) continue;
    if (type === 'directory') {
      yield { kind: 'upsert', header: headerFromStats(path, st, type) };
      if (opaque.has(path)) yield { kind: 'opaque', path };
      yield* walk(root, path, opaque, firstNames);
      continue;
    }
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = firstNames.get(key);
      if (first !== undefined) {
        yield { kind: 'upsert', header: headerFromStats(path, st, 'link', first) };
        continue;
      }
      firstNames.set(key, path);
    }
    const linkname = type === 'symlink' ? await readlink(full) : undefined;
    const header = headerFromStats(path, st, type, linkname);
    yield type === 'file'
      ? { kind: 'upsert', header, open: () => createReadStream(full), sourcePath: full }
      : { kind: 'upsert', header };
  }
}
