import { basename, posix } from 'node:path';
import type { FsChange } from '@kiln/oci';
import { layerChangesFromTar } from '@kiln/layer-store';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { archiveCompression, type ArchiveKind } from './archive-kind.js';
import { decompressedStream } from './decompressed-stream.js';

/**
 * The entries of an archive placed under `dest` (root-relative), owners from the archive unless
 * `owner` is given. The archive is decompressed while it is read (see decompressedStream). Member
 * names are cleaned as Docker's untar does ("/abs/x" and "../x" land at dest/abs/x and dest/x),
 * so none lands outside `dest`. Contents are spilled into `scratch`, which the caller removes
 * after use. An archive that cannot be read to its end (truncated, corrupt) is INVALID_ARCHIVE at
 * the ADD's `location`.
 */
export async function* archiveChanges(
  archive: { readonly path: string; readonly kind: ArchiveKind },
  at: {
    readonly dest: string;
    readonly scratch: string;
    readonly location: ErrorLocation;
    readonly owner?: { readonly uid: number; readonly gid: number };
  },
): AsyncGenerator<FsChange> {
  const { dest, owner, location } = at;
  const compression = archiveCompression(archive.kind);
  const source = compression ? () => decompressedStream(archive.path, compression, location) : archive.path;
  try {
    for await (const change of layerChangesFromTar(source, false, at.scratch, { names: 'clamp' })) {
      if (change.kind !== 'upsert') continue;
      const h = change.header;
      const path = dest === '' ? h.path : posix.join(dest, h.path);
      const linkname =
        h.type === 'link' && h.linkname !== undefined ? posix.join(dest, h.linkname) : h.linkname;
      const header = { ...h, path, ...(linkname !== undefined ? { linkname } : {}), ...(owner ?? {}) };
      yield { ...change, header };
    }
  } catch (cause) {
    if (cause instanceof BuilderError) throw cause;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new BuilderError('INVALID_ARCHIVE', `ADD cannot unpack ${basename(archive.path)}: ${why}`, {
      location,
      cause,
      hint: 'the archive is damaged: make it again, or copy it as it is with ADD --unpack=false',
    });
  }
}
