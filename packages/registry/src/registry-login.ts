import { credentialHelperFor, dockerConfigKey } from './docker-credentials.js';
import { dockerConfigPath, readDockerConfig } from './read-docker-config.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { RegistryError } from './registry-error.js';
import { runCredentialHelper } from './run-credential-helper.js';
import { writeDockerConfig } from './write-docker-config.js';

export interface LoginOptions extends Omit<RegistryClientOptions, 'credentials'> {
  readonly signal: AbortSignal;
  /** Where `DOCKER_CONFIG`/`HOME` come from, and the helper's environment (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Where a login was stored: a credential helper (by name) or the config file itself. */
export type LoginStore = { readonly kind: 'helper'; readonly helper: string } | { readonly kind: 'file' };

/**
 * Logs in as docker does: first proves the credentials on `GET /v2/` (answering the registry's
 * Basic or Bearer challenge with them), then stores them, with the registry's credential helper
 * (`credHelpers`/`credsStore`, action `store`) when one is configured (config.json then keeps an
 * empty `auths` entry, as docker's does), else as base64 `auth` in config.json (written
 * atomically, mode 0600). Credentials the registry refuses are never stored: the error is
 * UNAUTHORIZED (or DENIED) with the registry's or token server's reason.
 */
export async function registryLogin(
  registry: string,
  credentials: { readonly username: string; readonly password: string },
  opts: LoginOptions,
): Promise<LoginStore> {
  if (credentials.username === '' || credentials.password === '')
    throw new RegistryError('UNAUTHORIZED', `login to ${registry}: a username and a password are needed`);
  const client = new RegistryClient(registry, { ...opts, credentials: async () => credentials });
  try {
    const res = await client.request({
      method: 'GET',
      target: '/v2/',
      scopes: [],
      expect: [200],
      what: `login to ${registry}`,
      signal: opts.signal,
    });
    res.body.resume();
  } catch (err) {
    if (err instanceof RegistryError && (err.code === 'UNAUTHORIZED' || err.code === 'DENIED'))
      throw new RegistryError(err.code, err.message, {
        cause: err,
        status: err.status,
        serverCodes: err.serverCodes,
        hint: 'check the username and password',
      });
    throw err;
  }
  const env = opts.env ?? process.env;
  const config = await readDockerConfig(dockerConfigPath(env));
  const key = dockerConfigKey(registry);
  const helper = credentialHelperFor(config, registry);
  if (helper) {
    const item = { ServerURL: key, Username: credentials.username, Secret: credentials.password };
    await runCredentialHelper(helper, 'store', JSON.stringify(item), env);
  }
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  const auths = { ...withoutRegistry(config.auths, registry), [key]: helper ? {} : { auth } };
  await writeDockerConfig(config.file, { ...config.raw, auths });
  return helper ? { kind: 'helper', helper } : { kind: 'file' };
}

/**
 * Forgets a login: `erase` in the registry's credential helper, and its `auths` entries in
 * config.json (any spelling of the same host). Resolves false when there was nothing to forget.
 */
export async function registryLogout(
  registry: string,
  opts: { readonly env?: NodeJS.ProcessEnv } = {},
): Promise<boolean> {
  const env = opts.env ?? process.env;
  const config = await readDockerConfig(dockerConfigPath(env));
  const key = dockerConfigKey(registry);
  const helper = credentialHelperFor(config, registry);
  const erased = helper ? (await runCredentialHelper(helper, 'erase', key, env)) !== undefined : false;
  const auths = withoutRegistry(config.auths, registry);
  const removed = Object.keys(auths).length !== Object.keys(config.auths).length;
  if (removed) await writeDockerConfig(config.file, { ...config.raw, auths });
  return erased || removed;
}

/** `auths` without the entries that name `registry` (with or without a scheme or path). */
function withoutRegistry<T>(auths: Readonly<Record<string, T>>, registry: string): Record<string, T> {
  const key = dockerConfigKey(registry);
  return Object.fromEntries(
    Object.entries(auths).filter(
      ([k]) => k !== key && k.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '') !== registry,
    ),
  );
}
