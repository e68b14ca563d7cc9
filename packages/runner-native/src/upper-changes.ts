import { createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { FsChange } from '@kiln/oci';
import { fileTypeOf } from '@kiln/oci';
import { headerFromStats, isWhiteout } from './header-from-stats.js';
import { readTreeAttrs, type TreeAttrs } from './read-tree-attrs.js';

/**
 * The overlay upper dir `upper` as a changeset, parents before children, siblings sorted by name:
 * a whiteout (char device 0/0) is a delete; an opaque directory is an upsert of the directory
 * followed by an opaque marker; everything else is an upsert. A second name of an inode becomes a
 * hardlink to the first name seen in that order. Sockets are skipped. Regular files get `open()`,
 * read lazily, so nothing is buffered. `onAttrs` is given the walk's findings (opaque dirs, xattrs). Entries carry their extended attributes (one helper walk
 * for the whole tree, which also finds the opaque directories; overlayfs's own
 * `trusted.overlay.*` names are left out). An empty upper dir yields nothing and spawns nothing.
 */
export async function* upperChanges(
  upper: string,
  onAttrs?: (facts: TreeAttrs) => void,
): AsyncGenerator<FsChange> {
  const top = readdirSync(upper);
  // A step that changed nothing (`RUN true`, a cache-only step) is common, and the helper walk
  // would cost a process spawn (milliseconds for a large Node process) to learn nothing: the
  // root's own attributes and opaque flag are never part of a changeset.
  if (top.length === 0) return;
  const facts = await readTreeAttrs(upper);
  onAttrs?.(facts);
  yield* walk(upper, '', facts, new Map(), top);
}

async function* walk(
  root: string,
  dir: string,
  facts: TreeAttrs,
  firstNames: Map<string, string>,
  listed?: string[],
): AsyncGenerator<FsChange> {
  // Synchronous calls on purpose, as in layerChangesFromDirectory: one thread-pool round trip per
  // lstat dominates upper dirs of many small files, and the pool is busy compressing meanwhile.
  const names = (listed ?? readdirSync(join(root, dir))).sort();
  for (const name of names) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const full = join(root, path);
    const st = lstatSync(full, { bigint: true });
    if (isWhiteout(st)) {
      yield { kind: 'delete', path };
      continue;
    }
    const type = fileTypeOf(st);
    if (type === undefined) continue;
    if (type === 'directory') {
      yield { kind: 'upsert', header: headerFromStats(path, st, type, undefined, facts.xattrs.get(path)) };
      if (facts.opaque.has(path)) yield { kind: 'opaque', path };
      yield* walk(root, path, facts, firstNames);
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
    const linkname = type === 'symlink' ? readlinkSync(full) : undefined;
    const header = headerFromStats(path, st, type, linkname, facts.xattrs.get(path));
    yield type === 'file'
      ? // 256 KiB reads: each is a thread-pool round trip, queued behind the layer's compression.
        {
          kind: 'upsert',
          header,
          open: () => createReadStream(full, { highWaterMark: 256 * 1024 }),
          sourcePath: full,
        }
      : { kind: 'upsert', header };
  }
}
