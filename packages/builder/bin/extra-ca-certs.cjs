'use strict';
/* global module */

/**
 * Undoes, inside the node process, what bin/kiln did before starting it: that script moves
 * `NODE_EXTRA_CA_CERTS` to `KILN_NODE_EXTRA_CA_CERTS`, so that Node does not load the file and
 * build its root store at start (~50 ms where it names a system bundle), and most kiln commands
 * open no HTTPS connection. Here `NODE_EXTRA_CA_CERTS` is set again in `env`, so that child
 * processes (credential helpers) get it and kiln's HTTPS trusts it: every HTTPS connection kiln
 * makes passes its own CA list, which holds that file (`systemCaCertificates` in @kiln/registry:
 * registries, ADD of an https URL). Node's global agent is left as Node made it, and `node:https`
 * is not loaded by commands that make no HTTPS connection.
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
}

module.exports = { restoreExtraCaCerts };
