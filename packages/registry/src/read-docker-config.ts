import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from './registry-error.js';

/** Docker's `config.json` as kiln reads it; unknown fields are kept in `raw` for rewriting. */
export interface DockerConfig {
  /** The file it came from (it may not exist yet). */
  readonly file: string;
  /** The whole document (`{}` when the file is missing). */
  readonly raw: Readonly<Record<string, unknown>>;
  /** `auths`, keyed as written (`https://index.docker.io/v1/`, `host:port`). */
  readonly auths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The default credential helper (`credsStore`: `docker-credential-<name>`). */
  readonly credsStore?: string;
  /** Per-registry credential helpers (`credHelpers`: host → name). */
  readonly credHelpers: Readonly<Record<string, string>>;
}

/** `config.json` in `$DOCKER_CONFIG`, else in `$HOME/.docker`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

/**
 * Reads docker's config file. A missing file is an empty config; an unreadable or malformed one
 * (not JSON, or `auths`/`credHelpers` of the wrong shape) is INVALID_CREDENTIALS_FILE.
 */
export async function readDockerConfig(file: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { file, raw: {}, auths: {}, credHelpers: {} };
    throw new RegistryError('INVALID_CREDENTIALS_FILE', `cannot read ${file}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new RegistryError('INVALID_CREDENTIALS_FILE', `${file} is not valid JSON`, { cause });
  }
  if (!isRecord(doc)) throw new RegistryError('INVALID_CREDENTIALS_FILE', `${file} is not a JSON object`);
  const auths: Record<string, Record<string, unknown>> = {};
  for (const [key, entry] of Object.entries(field(doc, 'auths', file)))
    if (isRecord(entry)) auths[key] = entry;
  const credHelpers: Record<string, string> = {};
  for (const [host, name] of Object.entries(field(doc, 'credHelpers', file)))
    if (typeof name === 'string' && name !== '') credHelpers[host] = name;
  const store = doc.credsStore;
  return {
    file,
    raw: doc,
    auths,
    credHelpers,
    credsStore: typeof store === 'string' && store !== '' ? store : undefined,
  };
}

function field(doc: Record<string, unknown>, name: string, file: string): Record<string, unknown> {
  const value = doc[name];
  if (value === undefined || value === null) return {};
  if (!isRecord(value))
    throw new RegistryError('INVALID_CREDENTIALS_FILE', `${file}: "${name}" is not a JSON object`);
  return value;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
