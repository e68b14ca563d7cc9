import { LayerStoreError } from './layer-store-error.js';

/** Something normaliseLayerPath changes or rejects: an empty, "." or ".." segment, or a trailing "/". */
const NOT_NORMAL = /(^|\/)\.{0,2}(\/|$)/;

/**
 * Normalises a root-relative layer path: drops "./", empty and "." segments and any trailing
 * slash ("./usr//bin/" → "usr/bin"; the root is ""). Rejects with UNSAFE_PATH absolute paths,
 * ".." segments and NUL bytes, so no entry can name something outside the root.
 */
export function normaliseLayerPath(path: string, what = 'path'): string {
  if (path.startsWith('/')) {
    throw new LayerStoreError(
      'UNSAFE_PATH',
      `${what} "${path}" is absolute`,
      'layer paths are relative to the root',
    );
  }
  if (path.includes('\0')) throw new LayerStoreError('UNSAFE_PATH', `${what} contains a NUL byte`);
  // Most paths are already normal: one test instead of a split, a filter and a join each (a
  // 20,000-file layer spent ~20 ms here).
  if (!NOT_NORMAL.test(path)) return path;
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new LayerStoreError('UNSAFE_PATH', `${what} "${path}" escapes the root with ".."`);
  }
  return parts.join('/');
}

/**
 * Cleans a tar member name the way Docker's untar does inside its chroot, where the destination
 * is "/": leading "/", empty and "." segments go, and ".." drops the previous segment but never
 * climbs above the root ("/abs/x" → "abs/x", "../../x" → "x", "./a/../../b" → "b"). The result
 * never names anything outside the root ("" is the root itself). Rejects NUL bytes (UNSAFE_PATH).
 */
export function clampLayerPath(path: string, what = 'path'): string {
  if (path.includes('\0')) throw new LayerStoreError('UNSAFE_PATH', `${what} contains a NUL byte`);
  if (!NOT_NORMAL.test(path)) return path;
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '..') parts.pop();
    else if (p !== '' && p !== '.') parts.push(p);
  }
  return parts.join('/');
}

/** The parent directory ("" for top-level entries) and the last segment of a normalised path. */
export function splitLayerPath(path: string): { dir: string; base: string } {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? { dir: '', base: path } : { dir: path.slice(0, slash), base: path.slice(slash + 1) };
}

/**
 * The sort key of a normalised path: its UTF-8 bytes with "/" replaced by NUL. Comparing keys
 * bytewise orders paths segment by segment, so a directory sorts right before its children
 * ("a", "a/b", "a-b").
 */
export function tarSortKey(path: string): Buffer {
  const key = Buffer.from(path, 'utf8');
  for (let i = 0; i < key.length; i++) if (key[i] === 0x2f) key[i] = 0;
  return key;
}
