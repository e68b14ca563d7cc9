#!/usr/bin/env node
// Thin launcher so the bin link exists before the first `tsc -b`; the CLI lives in src/cli.
import module from 'node:module';

// Node 22.1+ keeps V8's compiled code of kiln's modules on disk between runs (NODE_COMPILE_CACHE,
// else the OS temp dir; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Node 20 has no such cache.
module.enableCompileCache?.();
import('../dist/cli/main.js').catch((err) => {
  process.stderr.write(
    `kiln: cannot load the CLI (${err instanceof Error ? err.message : String(err)}); run \`pnpm build\` first\n`,
  );
  process.exit(70);
});
