import type { FileHeader, FsChange } from '@kiln/oci';
import { LayerStoreError } from './layer-store-error.js';
import type { LayerEntry } from './layer-entry.js';
import { normaliseLayerPath, splitLayerPath, tarSortKey } from './layer-path.js';
import { orderHardlinks } from './order-hardlinks.js';
import { toTarHeader, whiteoutHeader } from './tar-header.js';

export const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Reads a changeset to its end and returns its tar entries sorted by path (headers only; file
 * contents stay behind their `open()`). Deletes become `.wh.<name>`, opaque directories
 * `<dir>/.wh..wh..opq`. Rejects unsafe paths (UNSAFE_PATH), entries beneath a symlink of the
 * same layer (UNSAFE_PATH), the same path twice (DUPLICATE_PATH) and malformed headers (INVALID_CHANGE).
 * An upsert of the root directory itself is dropped (layers do not carry the root).
 */
export async function collectLayerEntries(
  changes: AsyncIterable<FsChange>,
  sourceDateEpoch?: number,
): Promise<LayerEntry[]> {
  const entries = new Map<string, LayerEntry>();
  const add = (entry: LayerEntry): void => {
    if (entries.has(entry.path)) {
      throw new LayerStoreError('DUPLICATE_PATH', `the changeset names "${entry.path}" more than once`);
    }
    entries.set(entry.path, entry);
  };
  for await (const change of changes) {
    switch (change.kind) {
      case 'upsert': {
        const path = normaliseLayerPath(change.header.path);
        if (path === '' && change.header.type === 'directory') break;
        checkHeader(change.header, path, change.open !== undefined);
        const header = toTarHeader(
          change.header.type === 'link'
            ? {
                ...change.header,
                linkname: normaliseLayerPath(change.header.linkname ?? '', 'hardlink target'),
              }
            : change.header,
          path,
          sourceDateEpoch,
        );
        add({
          path,
          key: tarSortKey(path),
          header,
          ...(change.open ? { open: change.open } : {}),
          ...(change.sourcePath !== undefined ? { sourcePath: change.sourcePath } : {}),
        });
        break;
      }
      case 'delete': {
        const path = normaliseLayerPath(change.path);
        if (path === '') throw new LayerStoreError('INVALID_CHANGE', 'cannot delete the root directory');
        const { dir, base } = splitLayerPath(path);
        const name = dir === '' ? `${WHITEOUT_PREFIX}${base}` : `${dir}/${WHITEOUT_PREFIX}${base}`;
        add({ path: name, key: tarSortKey(name), header: whiteoutHeader(name, sourceDateEpoch) });
        break;
      }
      case 'opaque': {
        const path = normaliseLayerPath(change.path);
        const name = path === '' ? OPAQUE_MARKER : `${path}/${OPAQUE_MARKER}`;
        add({ path: name, key: tarSortKey(name), header: whiteoutHeader(name, sourceDateEpoch) });
        break;
      }
      default:
        throw new LayerStoreError(
          'INVALID_CHANGE',
          `unknown change kind ${String((change as FsChange).kind)}`,
        );
    }
  }
  rejectEntriesBeneathSymlinks(entries);
  orderHardlinks(entries);
  return [...entries.values()].sort((a, b) => Buffer.compare(a.key, b.key));
}

function checkHeader(h: FileHeader, path: string, hasContent: boolean): void {
  const bad = (why: string): never => {
    throw new LayerStoreError('INVALID_CHANGE', `entry "${path}": ${why}`);
  };
  if (path === '') bad('only a directory may stand for the root');
  if (splitLayerPath(path).base.startsWith(WHITEOUT_PREFIX)) {
    bad('names starting with ".wh." are reserved for whiteouts');
  }
  const isId = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  if (!isId(h.mode) || h.mode > 0o7777) bad(`mode ${h.mode} is not a permission mode`);
  if (!isId(h.uid) || !isId(h.gid)) bad('uid and gid must be non-negative integers');
  // Not `instanceof Date`: dates from another realm (vm contexts, workers) are valid too.
  const time = Object.prototype.toString.call(h.mtime) === '[object Date]' ? h.mtime.getTime() : NaN;
  if (Number.isNaN(time)) bad('mtime is not a valid date');
  if (h.type === 'file') {
    if (!isId(h.size)) bad(`size ${h.size} is not a non-negative integer`);
    if (h.size > 0 && !hasContent) bad('a non-empty regular file needs open()');
  }
  if ((h.type === 'symlink' || h.type === 'link') && !h.linkname) bad(`a ${h.type} needs a linkname`);
}

function rejectEntriesBeneathSymlinks(entries: Map<string, LayerEntry>): void {
  for (const entry of entries.values()) {
    for (let slash = entry.path.indexOf('/'); slash >= 0; slash = entry.path.indexOf('/', slash + 1)) {
      const ancestor = entries.get(entry.path.slice(0, slash));
      if (ancestor?.header.type === 'symlink') {
        throw new LayerStoreError(
          'UNSAFE_PATH',
          `entry "${entry.path}" lies beneath "${ancestor.path}", a symlink in the same layer`,
        );
      }
    }
  }
}
