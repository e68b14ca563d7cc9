'use strict';
/* global require, module, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, see bin/package.json */
// Runs the CLI bundle with V8's code cache: the bytecode of an earlier run, so that a start does
// not parse and compile the ~0.9 MB bundle again (Node 20 has no module compile cache).
const { isAscii } = require('node:buffer');
const fs = require('node:fs');
const Module = require('node:module');
const { homedir } = require('node:os');
const { basename, dirname, join } = require('node:path');
const { Script } = require('node:vm');
const { crc32 } = require('node:zlib');

const MAGIC = 'kiln-v8-code-cache 1\n';
/** The hook on `process` through which the bundle notes what a run did (src/cli/code-cache-note.ts). */
const NOTE = Symbol.for('kiln.codeCache.note');
/** Global options that take a value: the word after one is not the command. */
const VALUE_OPTIONS = new Set(['--root', '--insecure-registry', '--registry-ca']);

/**
 * Runs the CommonJS bundle at `bundlePath` as Node would `require` it, compiled with a code cache
 * when a valid one exists, and returns its exports. Returns undefined, having run nothing, when
 * there is no bundle.
 *
 * The cache file holds a header naming the bundle it was made from (CRC-32 and length of its bytes,
 * Node version, architecture), the CRC-32 of the V8 data, and the commands whose runs it covers.
 * V8 itself only compares the source's length and its own version and flags, so a cache is used
 * only when the header matches; V8 may still refuse it (`cachedDataRejected`: other V8 flags).
 * Bytecode is only there for functions that ran, so the cache is written at exit of a run that
 * had none, had a refused one, or ran a command the cache does not cover yet, with what the run
 * noted doing (`build+layers`; its functions join those read from the cache). Written to a unique
 * temporary file, then renamed over the old one: concurrent runs each leave a whole file, the
 * last one wins. No fsync: a file torn by a crash
 * fails its CRC and is made again.
 *
 * Where: `KILN_CODE_CACHE_DIR` if set, else next to the bundle, else (not writable, as in an
 * install owned by another user) `$XDG_CACHE_HOME/kiln` or `~/.cache/kiln`. Every failure to read
 * or write a cache is silent: kiln only starts slower. `KILN_NO_CODE_CACHE=1` turns it off;
 * `KILN_CODE_CACHE_TRACE=1` says on stderr, at exit, what happened.
 *
 * @param {string} bundlePath absolute path of the bundle
 * @param {{ env: NodeJS.ProcessEnv, args: readonly string[] }} run environment and argv (after the script)
 * @returns {Record<string, unknown> | undefined} the bundle's exports, or undefined when there is no bundle
 */
function runBundle(bundlePath, { env, args }) {
  let bytes;
  try {
    bytes = fs.readFileSync(bundlePath);
  } catch (err) {
    if (err && err.code === 'ENOENT') return undefined;
    throw err;
  }
  // scripts/bundle-cli.mjs makes it ASCII: latin1 gives the same text as UTF-8, without decoding.
  const source = isAscii(bytes) ? bytes.latin1Slice() : bytes.toString('utf8');
  const off = env.KILN_NO_CODE_CACHE === '1';
  const files = off ? [] : cacheFiles(bundlePath, env);
  const bundleId = `${crc32(bytes).toString(16)}-${bytes.length}-${process.version}-${process.arch}`;
  // The rootless parent and the namespaced child run different code (see enterRootless).
  const command = `${process.getuid?.() === 0 ? '' : 'user:'}${commandWord(args)}`;

  const found = readCache(files, bundleId);
  const script = new Script(Module.wrap(source), { filename: bundlePath, cachedData: found?.data });
  const accepted = found !== undefined && script.cachedDataRejected !== true;
  const state = found === undefined ? 'absent' : accepted ? 'accepted' : 'rejected';
  const covers = accepted ? found.commands : [];
  // What the run did besides its command (the CLI's noteCodeCacheUse: `layers` for a build that
  // wrote one): a cached build and one that writes layers run different code, and a cache made by
  // the first would leave the second compiling the layer writer on every run.
  const notes = new Set();
  process[NOTE] = (what) => notes.add(String(what));
  if (!off) {
    process.once('exit', () => {
      const label = [command, ...[...notes].sort()].join('+');
      if (covers.includes(label)) {
        trace(env, `${state} (${found.file})`);
        return;
      }
      let wrote;
      try {
        wrote = writeCache(files, {
          bundleId,
          commands: [...covers, label],
          data: script.createCachedData(),
        });
      } catch {
        // Only a slower start next time.
      }
      trace(env, `${state} (${found?.file ?? files[0]}); wrote ${wrote ?? 'nothing'}`);
    });
  } else if (env.KILN_CODE_CACHE_TRACE === '1') {
    process.once('exit', () => trace(env, 'off'));
  }

  // What Node's CommonJS loader would pass; the bundle has no exports and resolves from its own place.
  const module = { id: bundlePath, filename: bundlePath, exports: {}, loaded: false, children: [] };
  const wrapper = script.runInThisContext();
  wrapper.call(
    module.exports,
    module.exports,
    Module.createRequire(bundlePath),
    module,
    bundlePath,
    dirname(bundlePath),
  );
  return module.exports;
}

/** Where the cache may be, in the order tried. */
function cacheFiles(bundlePath, env) {
  if (env.KILN_CODE_CACHE_DIR) return [join(env.KILN_CODE_CACHE_DIR, `${basename(bundlePath)}.v8cache`)];
  const userCache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  // One install's cache must not evict another's: the name says whose bundle.
  const name = `${basename(bundlePath)}-${crc32(bundlePath).toString(16)}.v8cache`;
  return [`${bundlePath}.v8cache`, join(userCache, 'kiln', name)];
}

/** The first cache file made from this bundle whose data is whole, or undefined. */
function readCache(files, bundleId) {
  for (const file of files) {
    let buf;
    try {
      buf = fs.readFileSync(file);
    } catch {
      continue;
    }
    const headerEnd = buf.indexOf('\n', MAGIC.length);
    if (headerEnd < 0 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) continue;
    let header;
    try {
      header = JSON.parse(buf.toString('utf8', MAGIC.length, headerEnd));
    } catch {
      continue;
    }
    const data = buf.subarray(headerEnd + 1);
    if (header.bundle !== bundleId || header.crc32 !== crc32(data) || !Array.isArray(header.commands))
      continue;
    return { file, data, commands: header.commands };
  }
  return undefined;
}

/** Writes the cache to the first place that takes it; returns that file, or undefined. */
function writeCache(files, { bundleId, commands, data }) {
  const header = `${MAGIC}${JSON.stringify({ bundle: bundleId, crc32: crc32(data), commands })}\n`;
  for (const file of files) {
    const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      fs.mkdirSync(dirname(file), { recursive: true });
      fs.writeFileSync(temp, Buffer.concat([Buffer.from(header), data]), { flag: 'wx', mode: 0o644 });
      fs.renameSync(temp, file);
      return file;
    } catch {
      fs.rmSync(temp, { force: true });
    }
  }
  return undefined;
}

/** The command word of kiln's argv (`build`, `push`...), `-` for none (`kiln --help`). */
function commandWord(args) {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') break;
    if (!arg.startsWith('-')) return arg;
    if (VALUE_OPTIONS.has(arg)) i++;
  }
  return '-';
}

function trace(env, message) {
  if (env.KILN_CODE_CACHE_TRACE === '1') process.stderr.write(`kiln: code cache ${message}\n`);
}

module.exports = { commandWord, runBundle };
