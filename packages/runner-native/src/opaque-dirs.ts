import { runHelper } from './run-helper.js';

/**
 * The root-relative paths of the directories under `dir` marked opaque for overlayfs
 * (`trusted.overlay.opaque=y`), "." for `dir` itself. Node cannot read trusted xattrs, so the
 * helper walks the tree (never following symlinks).
 */
export async function opaqueDirs(dir: string): Promise<Set<string>> {
  const out = await runHelper(['opaque-dirs', '--dir', dir]);
  return new Set(
    out
      .toString('utf8')
      .split('\0')
      .filter((p) => p !== ''),
  );
}
