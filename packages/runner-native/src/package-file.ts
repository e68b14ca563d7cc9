import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's root as module resolution finds it, once per process (see packageFile). */
let resolvedRoot: { readonly dir: string | undefined } | undefined;

/**
 * Where the file `rel` (relative to this package's root: `native/kiln-helper`,
 * `dist/extract-worker.js`) is, if it exists. Looked up from this module's own file first, which
 * sits one level below the root both as `src/` (jest) and as `dist/` (after tsc); when this code
 * runs from a bundle elsewhere (the CLI's `dist/kiln.cjs`), from where Node resolves
 * `@kiln/runner-native` for the bundle. Resolution costs about a millisecond and callers ask often,
 * so it runs once per process; the file's presence is checked on every call.
 */
export function packageFile(rel: string): { readonly path: string; readonly found: boolean } {
  const own = resolve(dirname(fileURLToPath(import.meta.url)), '..', rel);
  if (existsSync(own)) return { path: own, found: true };
  resolvedRoot ??= { dir: packageRoot(import.meta.url) };
  const viaPackage = resolvedRoot.dir === undefined ? undefined : resolve(resolvedRoot.dir, rel);
  if (viaPackage !== undefined && existsSync(viaPackage)) return { path: viaPackage, found: true };
  return { path: own, found: false };
}

function packageRoot(from: string): string | undefined {
  try {
    return resolve(dirname(createRequire(from).resolve('@kiln/runner-native')), '..');
  } catch {
    return undefined;
  }
}
