import { dockerConfigPath, readDockerConfig, type DockerConfig } from './read-docker-config.js';
import { RegistryError } from './registry-error.js';
import { runCredentialHelper } from './run-credential-helper.js';

/**
 * What kiln knows to log in to one registry: a username and password (or a token used as the
 * password), or an OAuth2 `identityToken` (refresh token) that is exchanged at the token realm.
 */
export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** docker's `identitytoken` (or a helper's answer with Username `<token>`); password is then empty. */
  readonly identityToken?: string;
}

/** Looks up credentials for a registry host (`docker.io`, `localhost:5000`). */
export type CredentialsLookup = (registry: string) => Promise<Credentials | undefined>;

/** The key docker uses for Docker Hub in config files and helpers. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_KEYS = [DOCKER_HUB_KEY, 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

/** Helpers answer with this Username when Secret is an identity token. */
const TOKEN_USERNAME = '<token>';

/**
 * Reads credentials as docker does, from `config.json` in `$DOCKER_CONFIG` or `~/.docker`
 * (read once per lookup function, each registry's answer kept): a `credHelpers` entry for the registry, else `credsStore`,
 * names a `docker-credential-<name>` helper asked with `get`; when there is no helper, or it has
 * nothing for this registry, the `auths` entry is used: base64 `auth` ("user:password"),
 * `username`/`password`, and `identitytoken`. `auths` keys may carry a scheme and a path
 * (`https://index.docker.io/v1/`); they match on host[:port]. A missing file means no
 * credentials; a malformed one is INVALID_CREDENTIALS_FILE; a failing helper CREDENTIAL_HELPER.
 */
export function dockerConfigCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsLookup {
  let loaded: Promise<DockerConfig> | undefined;
  // One answer per registry: a helper may be slow (a keychain) and is asked at most once.
  const answers = new Map<string, Promise<Credentials | undefined>>();
  const lookup = async (registry: string): Promise<Credentials | undefined> => {
    loaded ??= readDockerConfig(dockerConfigPath(env));
    const config = await loaded;
    const helper = credentialHelperFor(config, registry);
    if (helper) {
      const found = await helperCredentials(helper, dockerConfigKey(registry), env);
      if (found) return found;
    }
    return authsCredentials(config, registry);
  };
  return (registry) => {
    let answer = answers.get(registry);
    if (!answer) {
      answer = lookup(registry);
      answers.set(registry, answer);
    }
    return answer;
  };
}

/** The key under which docker stores a registry's login: Docker Hub's v1 URL, else host[:port]. */
export function dockerConfigKey(registry: string): string {
  return DOCKER_HUB_KEYS.includes(registry) ? DOCKER_HUB_KEY : registry;
}

/** The helper that holds `registry`'s credentials: its `credHelpers` entry, else `credsStore`. */
export function credentialHelperFor(config: DockerConfig, registry: string): string | undefined {
  for (const key of keysOf(registry)) {
    const helper = config.credHelpers[key];
    if (helper) return helper;
  }
  return config.credsStore;
}

async function helperCredentials(
  helper: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<Credentials | undefined> {
  const out = await runCredentialHelper(helper, 'get', serverUrl, env);
  if (out === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(out);
  } catch (cause) {
    throw new RegistryError('CREDENTIAL_HELPER', `docker-credential-${helper} get did not print JSON`, {
      cause,
    });
  }
  const { Username: username, Secret: secret } = (doc ?? {}) as Record<string, unknown>;
  if (typeof username !== 'string' || typeof secret !== 'string')
    throw new RegistryError(
      'CREDENTIAL_HELPER',
      `docker-credential-${helper} get printed no Username and Secret for ${serverUrl}`,
    );
  if (secret === '') return undefined;
  return username === TOKEN_USERNAME
    ? { username: '', password: '', identityToken: secret }
    : { username, password: secret };
}

function authsCredentials(config: DockerConfig, registry: string): Credentials | undefined {
  const byHost = new Map<string, Readonly<Record<string, unknown>>>();
  for (const [key, entry] of Object.entries(config.auths)) {
    const host = key === DOCKER_HUB_KEY ? key : key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
    if (!byHost.has(host) && entryCredentials(entry)) byHost.set(host, entry);
  }
  for (const key of keysOf(registry)) {
    const entry = byHost.get(key);
    if (entry) return entryCredentials(entry);
  }
  return undefined;
}

function keysOf(registry: string): readonly string[] {
  return DOCKER_HUB_KEYS.includes(registry) ? DOCKER_HUB_KEYS : [registry];
}

function entryCredentials(entry: Readonly<Record<string, unknown>>): Credentials | undefined {
  let username = typeof entry.username === 'string' ? entry.username : '';
  let password = typeof entry.password === 'string' ? entry.password : undefined;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '')
    return { username, password: '', identityToken: entry.identitytoken };
  if (password !== undefined && username !== '') return { username, password };
  return undefined;
}
