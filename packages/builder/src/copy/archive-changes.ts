import { posix } from 'node:path';
import type { FsChange } from '@kiln/oci';
import { layerChangesFromTar } from '@kiln/layer-store';
import { archiveCompression, type ArchiveKind } from './archive-kind.js';
import { decompressedStream } from './decompressed-stream.js';

/**
 * The entries of an archive placed under `dest` (root-relative), owners from the archive unless
 * `owner` is given. The archive is decompressed while it is read (see decompressedStream). Member
 * names are cleaned as Docker's untar does ("/abs/x" and "../x" land at dest/abs/x and dest/x),
 * so none lands outside `dest`. Contents are spilled into `scratch`, which the caller removes
 * after use.
 */
export async function* archiveChanges(
  archive: { readonly path: string; readonly kind: ArchiveKind },
  dest: string,
  scratch: string,
  owner?: { readonly uid: number; readonly gid: number },
): AsyncGenerator<FsChange> {
  const compression = archiveCompression(archive.kind);
  const source = compression ? () => decompressedStream(archive.path, compression) : archive.path;
  for await (const change of layerChangesFromTar(source, false, scratch, { names: 'clamp' })) {
    if (change.kind !== 'upsert') continue;
    const h = change.header;
    const path = dest === '' ? h.path : posix.join(dest, h.path);
    const linkname =
      h.type === 'link' && h.linkname !== undefined ? posix.join(dest, h.linkname) : h.linkname;
    const header = { ...h, path, ...(linkname !== undefined ? { linkname } : {}), ...(owner ?? {}) };
    yield { ...change, header };
  }
}
