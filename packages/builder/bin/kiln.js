#!/usr/bin/env node
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, see bin/package.json */
'use strict';
// Thin launcher so the bin link exists before the first build; the CLI lives in src/cli.
// CommonJS (bin/package.json): an ES module entry costs Node ~5 ms more to start.
// The `kiln` command is bin/kiln, a shell script that starts node on this file with
// NODE_EXTRA_CA_CERTS moved aside (see there); `node kiln.js` works too, paying Node's cost of it.
require('./extra-ca-certs.cjs').restoreExtraCaCerts(process.env);

const { join } = require('node:path');

// The one-file bundle `pnpm build` makes (scripts/bundle-cli.mjs) starts ~0.1 s faster than the
// ~270 modules of dist/, and faster again with V8's code cache (run-bundle.cjs); KILN_NO_BUNDLE=1
// runs dist/ directly (after a bare `tsc -b`, say), as does a checkout without the bundle.
// `kiln push` first tries the bundle of push alone (src/cli/push-main.ts), which starts the push
// when the command line is a plain one and else declines, having done nothing.
try {
  const { commandWord, runBundle } = require('./run-bundle.cjs');
  const run = { env: process.env, args: process.argv.slice(2) };
  const dist = join(__dirname, '..', 'dist');
  const started =
    process.env.KILN_NO_BUNDLE !== '1' &&
    ((commandWord(run.args) === 'push' &&
      startedPush(runBundle(join(dist, 'kiln-push.cjs'), run), run.args)) ||
      runBundle(join(dist, 'kiln.cjs'), run) !== undefined);
  if (!started) import('../dist/cli/main.js').catch(cannotLoad);
} catch (err) {
  cannotLoad(err);
}

/** Whether the push bundle's `startPush` (when there is that bundle) took the command line. */
function startedPush(exports, args) {
  return exports !== undefined && typeof exports.startPush === 'function' && exports.startPush(args) === true;
}

function cannotLoad(err) {
  process.stderr.write(
    `kiln: cannot load the CLI (${err instanceof Error ? err.message : String(err)}); run \`pnpm build\` first\n`,
  );
  process.exit(70);
}
