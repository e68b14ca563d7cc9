import { packageFile } from './package-file.js';
import { RunnerError } from './runner-error.js';

/**
 * The absolute path of the native helper, `native/kiln-helper` in this package (found as
 * `packageFile` finds files, from src/, dist/ or a bundle). Throws `HELPER_MISSING` when the
 * helper has not been built.
 */
export function helperPath(): string {
  const helper = packageFile('native/kiln-helper');
  if (helper.found) return helper.path;
  throw new RunnerError('HELPER_MISSING', `native helper not found at ${helper.path}`, 'run pnpm build');
}
