import type { BigIntStats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileHeader } from '@kiln/oci';
import { fileTypeOf } from '@kiln/oci';
import { headerFromStats, isWhiteout } from './header-from-stats.js';

/** One unpacked layer as a lookup sees it: its dir and its opaque directories. */
export interface LayerView {
  readonly dir: string;
  readonly opaque: ReadonlySet<string>;
}

const MAX_SYMLINK_HOPS = 40;

/**
 * Looks up a root-relative path in the merged view of `layers` (bottom → top) the way overlayfs
 * would: whiteouts hide, a non-directory hides everything below it, an opaque directory stops the
 * descent into lower layers. Symlinks in parent components are followed inside the root (an
 * absolute target restarts at the root, ".." never climbs above it); the last component is never
 * followed. The header's `path` is the resolved path. Undefined when nothing is there.
 */
export async function lookupPath(
  layers: readonly LayerView[],
  path: string,
): Promise<FileHeader | undefined> {
  return (await locatePath(layers, path))?.header;
}

/** An entry of the merged view and the host path of the layer file that provides it. */
export interface LocatedEntry {
  readonly header: FileHeader;
  readonly hostPath: string;
  /**
   * `dev:ino` of a regular file that has other names (nlink > 1), so that a COPY can tell which
   * of the files it copies are hard links of one another; undefined otherwise.
   */
  readonly inode?: string;
}

/** Like {@link lookupPath}, and also says which layer's file it is (for reading its content). */
export async function locatePath(
  layers: readonly LayerView[],
  path: string,
): Promise<LocatedEntry | undefined> {
  let pending = components(path);
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const [name = '', ...rest] = pending;
    pending = rest;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const hit = await lookupExact(layers, [...resolved, name]);
    if (hit === undefined) return undefined;
    if (pending.length === 0) return hit;
    if (hit.header.type === 'symlink') {
      if (++hops > MAX_SYMLINK_HOPS) return undefined;
      const target = hit.header.linkname ?? '';
      if (target.startsWith('/')) resolved.length = 0;
      pending = [...components(target), ...pending];
      continue;
    }
    if (hit.header.type !== 'directory') return undefined;
    resolved.push(name);
  }
  return lookupExact(layers, resolved);
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** The entry at `parts` (whose parents are directories in the merged view), topmost layer first. */
async function lookupExact(
  layers: readonly LayerView[],
  parts: readonly string[],
): Promise<LocatedEntry | undefined> {
  const path = parts.join('/');
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer === undefined) continue;
    let opaqueAbove = false;
    let found: BigIntStats | undefined;
    let absent = false;
    for (let j = 0; j <= parts.length; j++) {
      const prefix = parts.slice(0, j).join('/');
      const st = await lstatOrUndefined(join(layer.dir, prefix));
      if (st === undefined) {
        absent = true;
        break;
      }
      if (isWhiteout(st)) return undefined;
      if (j === parts.length) {
        found = st;
        break;
      }
      if (!st.isDirectory()) return undefined;
      if (j > 0 && layer.opaque.has(prefix)) opaqueAbove = true;
    }
    if (found !== undefined) {
      const type = fileTypeOf(found);
      if (type === undefined) return undefined;
      const linkname = type === 'symlink' ? await readlink(join(layer.dir, path)) : undefined;
      const header = headerFromStats(path, found, type, linkname);
      const hostPath = join(layer.dir, path);
      return type === 'file' && found.nlink > 1n
        ? { header, hostPath, inode: `${found.dev}:${found.ino}` }
        : { header, hostPath };
    }
    if (absent && opaqueAbove) return undefined;
  }
  return undefined;
}

async function lstatOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
