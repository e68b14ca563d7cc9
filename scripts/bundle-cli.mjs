// Bundles the kiln CLI (packages/builder/dist/cli/main.js, compiled by tsc, with every kiln package
// and third-party module it loads) into one file, packages/builder/dist/kiln.cjs, which
// packages/builder/bin/kiln.js starts. Why: Node 20 compiles each ESM module separately on every
// start, and the ~270 modules of a build cost ~0.15 s before any work (see BENCHMARKS.md); one file
// costs one load. Dynamic imports (the lazily loaded commands) stay lazy inside the bundle.
// Why CommonJS: Node 20 keeps no compiled code between runs, but a script compiled through
// `vm.Script` can be given V8's code cache of an earlier run (bin/run-bundle.cjs); an ES module
// cannot. Run by `pnpm build` after `tsc -b`; the library API (dist/index.js) is not bundled.
// A second bundle, dist/kiln-push.cjs, holds `kiln push` alone (src/cli/push-main.ts): the
// launcher starts it for a plain push, which then loads neither yargs nor the other commands.
import { build } from 'esbuild';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const builder = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'builder');
const dist = join(builder, 'dist');

/**
 * Packages whose module top level is slow and which a run seldom calls: string-width compiles
 * Unicode property regexes (`\p{RGI_Emoji}` alone ~8 ms) and makes an `Intl.Segmenter` (loading
 * ICU data, ~5 ms) when loaded, and yargs loads it on every start although it only measures text
 * when it renders help. Each import of these gets a stand-in whose default export loads the real
 * module on its first call (esbuild runs a `require`d ES module's top level on first require).
 */
const DEFER_DEFAULT_EXPORT = /^string-width$/;

/**
 * yargs asserts its own invariants through `node:assert`, whose loading costs ~4 ms of every start.
 * The stand-in calls the real function only where it throws (the same test, `Object.is`), so
 * `node:assert` loads only when an assertion fails.
 */
const lazyAssertForYargs = {
  name: 'lazy-assert-for-yargs',
  setup(b) {
    b.onResolve({ filter: /^(node:)?assert$/ }, (args) =>
      /[/\\]yargs[/\\]/.test(args.importer) ? { path: 'assert', namespace: 'lazy-assert' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      contents: [
        'export function strictEqual(actual, expected, message) {',
        "  if (!Object.is(actual, expected)) require('node:assert').strictEqual(actual, expected, message);",
        '}',
        'export function notStrictEqual(actual, expected, message) {',
        "  if (Object.is(actual, expected)) require('node:assert').notStrictEqual(actual, expected, message);",
        '}',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * Node built-ins that load a tree of internal modules (node:https alone pulls in tls, net, http
 * and the HTTP parser; child_process pulls in dgram; tty pulls in net) which most commands never
 * call: a cached
 * build runs no helper, opens no socket and starts no worker. Measured together ~5 ms of every
 * start. Each import gets a stand-in with one getter per export of the real
 * module (the names as this Node has them), loading the real module on the first read; esbuild
 * copies a CommonJS module's exports as getters too, so `import { spawn } from ...` stays lazy.
 * Code that reads an export at its top level loads the module there, as before.
 */
const LAZY_BUILTIN = /^(node:)?(child_process|http|https|net|tls|tty|worker_threads)$/;
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: LAZY_BUILTIN }, (args) =>
      // The stand-in's own require is of the real module.
      args.namespace === 'lazy-builtin'
        ? { path: args.path, external: true }
        : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
      const names = Object.keys(await import(`node:${args.path}`)).filter((k) => k !== 'default');
      return {
        contents: [
          'let real;',
          `const load = () => (real ??= require(${JSON.stringify(`node:${args.path}`)}));`,
          'for (const name of ' + JSON.stringify(names) + ')',
          '  Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });',
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

/**
 * yargs' factory turns on `--version` for every instance, guessing the version by walking up from
 * the working directory (one directory listing per level) for a package.json; where it finds
 * none it throws an AssertionError, loading node:assert, and catches it: ~2 ms of every start.
 * The kiln CLI gives yargs its version as a string (main.ts, kiln-version.ts), so the bundle leaves
 * the default out.
 */
const noDefaultYargsVersion = {
  name: 'no-default-yargs-version',
  setup(b) {
    b.onLoad({ filter: /[/\\]yargs[/\\]build[/\\]lib[/\\]yargs-factory\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const call = /^( *)yargs\.version\(\);$/m;
      // A yargs that no longer has the call: fail the build rather than bundle it unread.
      if (!call.test(text)) throw new Error(`${args.path}: no default \`yargs.version()\` call to leave out`);
      return {
        contents: text.replace(call, '$1// yargs.version(): see scripts/bundle-cli.mjs'),
        loader: 'js',
      };
    });
  },
};

/**
 * yargs checks the arguments of each call to its own API (`.option(key, opt)`, `.command(...)`)
 * against a signature string it parses on every call (`argsert`), and on a mismatch only prints
 * a warning: it never throws. kiln's calls are fixed and typed; a build's start makes ~70 of them
 * (~2 ms). The bundle's argsert does nothing; the unbundled dist/ (KILN_NO_BUNDLE=1) keeps the check.
 */
const noYargsArgsert = {
  name: 'no-yargs-argsert',
  setup(b) {
    b.onLoad({ filter: /[/\\]yargs[/\\]build[/\\]lib[/\\]argsert\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      // A yargs whose argsert no longer ends in a warning (it might throw now): fail the build.
      if (
        !/^export function argsert\(/m.test(text) ||
        !/catch \(err\) \{\s*console\.warn\(err\.stack\);\s*\}/.test(text)
      )
        throw new Error(`${args.path}: not the warn-only argsert this plugin replaces`);
      return { contents: 'export function argsert() {}\n', loader: 'js' };
    });
  },
};

/**
 * yargs' platform shim reads `process.stdout.columns` when it loads, which makes process.stdout:
 * a socket when stdout is a pipe (under CI runners and benchmark harnesses), ~1.5 ms of every
 * start, for a width yargs uses only to wrap help text. The bundle reads it when yargs asks.
 */
const lazyYargsColumns = {
  name: 'lazy-yargs-columns',
  setup(b) {
    b.onLoad({ filter: /[/\\]yargs[/\\]lib[/\\]platform-shims[/\\]esm\.mjs$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const field =
        /^( *)stdColumns: (typeof process\.stdout\.columns !== 'undefined' \? process\.stdout\.columns : null)$/m;
      if (!field.test(text)) throw new Error(`${args.path}: no \`stdColumns\` field to make lazy`);
      return { contents: text.replace(field, '$1get stdColumns() { return $2; }'), loader: 'js' };
    });
  },
};

const RESOLVING = Symbol('resolving');
const deferDefaultExport = {
  name: 'defer-default-export',
  setup(b) {
    b.onResolve({ filter: DEFER_DEFAULT_EXPORT }, async (args) => {
      // b.resolve runs this callback too: that inner call leaves resolution to esbuild.
      if (args.pluginData === RESOLVING) return undefined;
      const real = await b.resolve(args.path, {
        resolveDir: args.resolveDir,
        kind: args.kind,
        importer: args.importer,
        pluginData: RESOLVING,
      });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: 'deferred' };
    });
    b.onLoad({ filter: /.*/, namespace: 'deferred' }, (args) => ({
      contents: [
        'let real;',
        'export default function deferred(...args) {',
        `  real ??= require(${JSON.stringify(args.path)}).default;`,
        '  return real(...args);',
        '}',
      ].join('\n'),
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

const version = JSON.parse(await readFile(join(builder, 'package.json'), 'utf8')).version;

/**
 * Bundles the entry module `entry` of dist/cli into dist/`name`, ASCII only, without a stale code
 * cache. Fails when a module path of the bundle matches `forbid`.
 */
async function bundle(entry, name, forbid) {
  const bundlePath = join(dist, name);
  const { metafile } = await build({
    entryPoints: [join(dist, 'cli', entry)],
    outfile: bundlePath,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // A third less text to read, checksum and hand to V8 on every start (~1.5 ms); names are kept
    // (identifiers are not minified), so stack traces still name functions. KILN_NO_BUNDLE=1 runs
    // the unbundled dist/ when a readable trace is wanted.
    minifyWhitespace: true,
    minifySyntax: true,
    // `import()` inside a vm.Script needs a loader callback; every dynamic import in the CLI is of
    // bundled code or of a CommonJS addon, so each becomes a `require` (still lazy).
    supported: { 'dynamic-import': false },
    // The bundle's own URL where the sources ask for theirs (yargs, the runner's helper lookup).
    // `use strict` first: the sources are ES modules, strict by definition.
    // kiln's version as a constant (src/cli/kiln-version.ts), so no start reads package.json for it.
    define: {
      'import.meta.url': '__kilnBundleUrl',
      KILN_BUNDLE_VERSION: JSON.stringify(version),
    },
    banner: {
      js: "'use strict';\nvar __kilnBundleUrl = require('node:url').pathToFileURL(__filename).href;",
    },
    // A native addon cannot be bundled: it is loaded from node_modules (a dependency of builder too,
    // so that it resolves from dist/), and only when a zstd export needs it.
    external: ['@mongodb-js/zstd'],
    plugins: [
      deferDefaultExport,
      lazyAssertForYargs,
      lazyBuiltins,
      noDefaultYargsVersion,
      lazyYargsColumns,
      noYargsArgsert,
    ],
    logLevel: 'warning',
    metafile: true,
  });
  const forbidden = forbid ? Object.keys(metafile.inputs).filter((path) => forbid.test(path)) : [];
  if (forbidden.length > 0) throw new Error(`${name} must not include ${forbidden.join(', ')}`);
  // esbuild leaves non-ASCII characters in comments and regular expression literals (a `µs` unit,
  // arrows in doc comments). An all-ASCII file can be read as latin1 (a one-byte string, no UTF-8
  // decoding: ~2-4 ms less per start, see bin/run-bundle.cjs). Each UTF-16 unit becomes \uXXXX,
  // which means the same in strings, regular expressions, identifiers and comments.
  const text = await readFile(bundlePath, 'utf8');
  await writeFile(
    bundlePath,
    text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
  // A code cache of an earlier bundle: stale (it would be refused, see bin/run-bundle.cjs), but a
  // first run need not read it.
  await rm(`${bundlePath}.v8cache`, { force: true });
}

// The whole CLI; and `kiln push` alone, which the launcher starts for a plain push (src/cli/push-main.ts).
await bundle('main.js', 'kiln.cjs');
// The push bundle exists to start without yargs and the other commands: keep them out of it.
await bundle('push-main.js', 'kiln-push.cjs', /[/\\]yargs[/\\]|[/\\]cli[/\\](main|commands[/\\].*)\.js$/);
// The ESM bundle of earlier builds.
await rm(join(dist, 'kiln.mjs'), { force: true });
