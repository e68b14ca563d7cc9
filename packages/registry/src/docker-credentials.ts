import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from './registry-error.js';

/** A username and password (or token used as password) for one registry. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Looks up credentials for a registry host (`docker.io`, `localhost:5000`). */
export type CredentialsLookup = (registry: string) => Promise<Credentials | undefined>;

const DOCKER_HUB_KEYS = [
  'https://index.docker.io/v1/',
  'index.docker.io',
  'docker.io',
  'registry-1.docker.io',
];

/**
 * Reads `auths` from docker's `config.json` in `$DOCKER_CONFIG` or `~/.docker`: each entry has
 * either a base64 `auth` ("user:password") or `username` and `password`. Keys may carry a
 * scheme and a path (`https://index.docker.io/v1/`); they match on host[:port]. A missing file
 * means no credentials; an unreadable or malformed one is INVALID_CREDENTIALS_FILE.
 * Credential helpers (`credsStore`, `credHelpers`) are not consulted.
 */
export function dockerConfigCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsLookup {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  const file = join(dir, 'config.json');
  let loaded: Promise<Map<string, Credentials>> | undefined;
  return async (registry) => {
    loaded ??= readAuths(file);
    const auths = await loaded;
    const keys = registry === 'docker.io' ? DOCKER_HUB_KEYS : [registry];
    for (const key of keys) {
      const found = auths.get(key);
      if (found) return found;
    }
    return undefined;
  };
}

async function readAuths(file: string): Promise<Map<string, Credentials>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new RegistryError('INVALID_CREDENTIALS_FILE', `cannot read ${file}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new RegistryError('INVALID_CREDENTIALS_FILE', `${file} is not valid JSON`, { cause });
  }
  const out = new Map<string, Credentials>();
  const auths = isRecord(doc) ? doc.auths : undefined;
  if (!isRecord(auths)) return out;
  for (const [key, entry] of Object.entries(auths)) {
    if (!isRecord(entry)) continue;
    const creds = entryCredentials(entry);
    if (!creds) continue;
    const host =
      key === 'https://index.docker.io/v1/' ? key : key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
    if (!out.has(host)) out.set(host, creds);
  }
  return out;
}

function entryCredentials(entry: Record<string, unknown>): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string')
    return { username: entry.username, password: entry.password };
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
