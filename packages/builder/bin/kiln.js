#!/usr/bin/env node
// Thin launcher so the bin link exists before the first `tsc -b`; the CLI lives in src/cli.
import('../dist/cli/main.js').catch((err) => {
  process.stderr.write(
    `kiln: cannot load the CLI (${err instanceof Error ? err.message : String(err)}); run \`pnpm build\` first\n`,
  );
  process.exit(70);
});
