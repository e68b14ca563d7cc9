'use strict';
/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, see bin/package.json */
const { readFileSync } = require('node:fs');

/**
 * Undoes, inside the node process, what bin/kiln did before starting it: that script moves
 * `NODE_EXTRA_CA_CERTS` to `KILN_NODE_EXTRA_CA_CERTS`, so that Node does not load the file and
 * build its root store at start (~50 ms where it names a system bundle). Here:
 * - `NODE_EXTRA_CA_CERTS` is set again in `env`, so child processes (credential helpers) get it;
 * - HTTPS through Node's global agent (the default of `https.get`, as ADD <https url> uses)
 *   trusts Node's bundled roots plus the file's certificates, as Node would have, built on the
 *   first connection rather than at start. A file that cannot be read is ignored with a warning,
 *   as Node does. (The registry client has its own trust: see `loadRegistryTls`.)
 * Does nothing when `KILN_NODE_EXTRA_CA_CERTS` is absent (`node kiln.js`: Node read the file).
 *
 * @param {NodeJS.ProcessEnv} env the process environment, changed in place
 */
function restoreExtraCaCerts(env) {
  const file = env.KILN_NODE_EXTRA_CA_CERTS;
  if (file === undefined) return;
  delete env.KILN_NODE_EXTRA_CA_CERTS;
  if (file === '' || env.NODE_EXTRA_CA_CERTS) return;
  env.NODE_EXTRA_CA_CERTS = file;
  const { globalAgent } = require('node:https');
  let context;
  // The agent passes its options to every tls.connect; a getter makes the context on first use.
  Object.defineProperty(globalAgent.options, 'secureContext', {
    enumerable: true,
    configurable: true,
    get: () => (context ??= defaultContextWith(file)),
  });
}

/** A secure context that trusts what Node's default one does, plus the certificates in `file`. */
function defaultContextWith(file) {
  const { createSecureContext, rootCertificates } = require('node:tls');
  let extra = [];
  try {
    extra = [readFileSync(file, 'utf8')];
  } catch (err) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${err.message}`);
  }
  return createSecureContext({ ca: [...rootCertificates, ...extra] });
}

module.exports = { restoreExtraCaCerts };
