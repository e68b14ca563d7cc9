import type { FileHeader } from '@kiln/oci';
import { BuilderError, type ErrorLocation } from '../builder-error.js';

const MAX_SYMLINK_HOPS = 40;

/**
 * `path` (root-relative) with the symlinks along it followed inside the image, as BuildKit
 * resolves a COPY destination or a WORKDIR (so `COPY app /bin/` lands in `usr/bin` where `bin` is
 * a link, as on merged-/usr Debian): an absolute target starts again at the image's root, `..`
 * never climbs above it, and what follows a missing component is taken as written. The last
 * component is followed too (a COPY onto a link writes where it points, as BuildKit's).
 * Returns the resolved root-relative path ("" for the root) and what the image has there
 * (undefined when nothing), read on the way. `stat` reads one image path without
 * following links. More than 40 links is an error (a loop).
 */
export async function resolveInImage(
  path: string,
  stat: (path: string) => Promise<FileHeader | undefined>,
  location: ErrorLocation,
): Promise<{ readonly path: string; readonly found?: FileHeader }> {
  const resolved: string[] = [];
  const rest = path.split('/').filter((c) => c !== '' && c !== '.');
  // What the image has at `resolved`; stale after a `..` (read again at the end).
  let last: FileHeader | undefined;
  let stale = false;
  for (let hops = 0; rest.length > 0;) {
    const name = rest.shift() as string;
    if (name === '..') {
      resolved.pop();
      stale = true;
      continue;
    }
    resolved.push(name);
    const found = await stat(resolved.join('/'));
    last = found;
    stale = false;
    if (found?.type !== 'symlink') continue;
    if (++hops > MAX_SYMLINK_HOPS)
      throw new BuilderError('INVALID_INSTRUCTION', `too many levels of symbolic links in "/${path}"`, {
        location,
      });
    resolved.pop();
    const target = found.linkname ?? '';
    if (target.startsWith('/')) resolved.length = 0;
    rest.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
    stale = true;
  }
  const resolvedPath = resolved.join('/');
  const found = stale || resolvedPath === '' ? await stat(resolvedPath) : last;
  return found === undefined ? { path: resolvedPath } : { path: resolvedPath, found };
}
