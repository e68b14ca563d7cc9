import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunnerError } from './runner-error.js';

/**
 * The absolute path of the native helper, `native/kiln-helper` in this package. Resolved from this
 * module's own file, which sits one level below the package both as `src/` (jest) and as `dist/`
 * (after tsc). Throws `HELPER_MISSING` when the helper has not been built.
 */
export function helperPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const path = resolve(here, '..', 'native', 'kiln-helper');
  if (!existsSync(path)) {
    throw new RunnerError('HELPER_MISSING', `native helper not found at ${path}`, 'run pnpm build');
  }
  return path;
}
