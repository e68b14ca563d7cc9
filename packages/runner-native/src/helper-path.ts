import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerError } from './runner-error.js';

/**
 * The absolute path of the native helper, `native/kiln-helper` in this package. Resolved from this
 * module's own file, which sits one level below the package both as `src/` (jest) and as `dist/`
 * (after tsc); when this code runs from a bundle elsewhere (the CLI's `dist/kiln.mjs`), from
 * where Node resolves `@kiln/runner-native` for the bundle. Throws `HELPER_MISSING` when the helper
 * has not been built.
 */
export function helperPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const own = resolve(here, '..', 'native', 'kiln-helper');
  if (existsSync(own)) return own;
  const viaPackage = packageHelper(import.meta.url);
  if (viaPackage !== undefined && existsSync(viaPackage)) return viaPackage;
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
