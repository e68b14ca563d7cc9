#!/usr/bin/env node
// Thin launcher so the bin link exists before the first build; the CLI lives in src/cli.
import module from 'node:module';

// Node 22.1+ keeps V8's compiled code of kiln's modules on disk between runs (NODE_COMPILE_CACHE,
// else the OS temp dir; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Node 20 has no such cache.
module.enableCompileCache?.();
// The one-file bundle `pnpm build` makes (scripts/bundle-cli.mjs) starts ~0.1 s faster than the
// ~270 modules of dist/; KILN_NO_BUNDLE=1 runs dist/ directly (after a bare `tsc -b`, say).
const load = (path) => import(path);
const start =
  process.env.KILN_NO_BUNDLE === '1'
    ? load('../dist/cli/main.js')
    : load('../dist/kiln.mjs').catch((err) =>
        err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('kiln.mjs')
          ? load('../dist/cli/main.js')
          : Promise.reject(err),
      );
start.catch((err) => {
  process.stderr.write(
    `kiln: cannot load the CLI (${err instanceof Error ? err.message : String(err)}); run \`pnpm build\` first\n`,
  );
  process.exit(70);
});
