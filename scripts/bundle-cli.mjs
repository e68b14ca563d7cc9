// Bundles the kiln CLI (packages/builder/dist/cli/main.js, compiled by tsc, with every kiln package
// and third-party module it loads) into one file, packages/builder/dist/kiln.mjs, which
// packages/builder/bin/kiln.js starts. Why: Node 20 compiles each ESM module separately on every
// start, and the ~270 modules of a build cost ~0.15 s before any work (see BENCHMARKS.md); one file
// costs one load. Dynamic imports (the lazily loaded commands) stay lazy inside the bundle.
// Run by `pnpm build` after `tsc -b`; the library API (dist/index.js) is not bundled.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const builder = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'builder');
await build({
  entryPoints: [join(builder, 'dist', 'cli', 'main.js')],
  outfile: join(builder, 'dist', 'kiln.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies call require(); an ESM bundle has none unless it makes one.
  banner: {
    js: "import { createRequire as kilnCreateRequire } from 'node:module'; const require = kilnCreateRequire(import.meta.url);",
  },
  // A native addon cannot be bundled: it is loaded from node_modules (a dependency of builder too,
  // so that it resolves from dist/), and only when a zstd export needs it.
  external: ['@mongodb-js/zstd'],
  logLevel: 'warning',
});
