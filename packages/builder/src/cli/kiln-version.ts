import { readFileSync } from 'node:fs';

/** Set by scripts/bundle-cli.mjs (esbuild `define`) in the bundle; undeclared in dist/. */
declare const KILN_BUNDLE_VERSION: string | undefined;

/**
 * kiln's version (`kiln --version`): packages/builder/package.json's `version`. The bundle has it
 * as a constant, so a start reads no file for it; the unbundled dist/ (KILN_NO_BUNDLE=1) reads
 * the package.json next to it.
 */
export function kilnVersion(): string {
  if (typeof KILN_BUNDLE_VERSION === 'string') return KILN_BUNDLE_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
