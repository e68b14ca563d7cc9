import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerError } from './runner-error.js';

/** Where module resolution found the package's helper, once per process (see helperPath). */
let viaPackage: { readonly path: string | undefined } | undefined;

/**
 * The absolute path of the native helper, `native/kiln-helper` in this package. Resolved from this
 * module's own file, which sits one level below the package both as `src/` (jest) and as `dist/`
 * (after tsc); when this code runs from a bundle elsewhere (the CLI's `dist/kiln.cjs`), from
 * where Node resolves `@kiln/runner-native` for the bundle. Throws `HELPER_MISSING` when the helper
 * has not been built.
 */
export function helperPath(): string {
  const own = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'kiln-helper');
  if (existsSync(own)) return own;
  // Module resolution costs about a millisecond and every step asks (more than once): once per
  // process is enough, as where the package lies does not change; the helper's presence is
  // still checked on every call.
  viaPackage ??= { path: packageHelper(import.meta.url) };
  if (viaPackage.path !== undefined && existsSync(viaPackage.path)) return viaPackage.path;
  throw new RunnerError('HELPER_MISSING', `native helper not found at ${own}`, 'run pnpm build');
}

function packageHelper(from: string): string | undefined {
  try {
    const entry = createRequire(from).resolve('@kiln/runner-native');
    return resolve(dirname(entry), '..', 'native', 'kiln-helper');
  } catch {
    return undefined;
  }
}
