import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryError } from './registry-error.js';
import { systemCaCertificates } from './system-ca-certificates.js';

/** Docker's per-registry certificate directory, used when `$KILN_CERTS_D` does not name another. */
export const DEFAULT_CERTS_DIR = '/etc/docker/certs.d';

/** What HTTPS connections to one host trust and present. */
export interface RegistryTls {
  /** PEM CA certificates: Node's roots, the system bundle, `NODE_EXTRA_CA_CERTS`, then the extra ones. */
  readonly ca: readonly string[];
  /** A client certificate and its key (PEM), from `<certsDir>/<host>/*.cert` and `*.key`. */
  readonly cert?: string;
  readonly key?: string;
  /** The certs.d directory consulted for this host, for hints on certificate errors. */
  readonly hostDir: string;
  /** Whether the server's certificate is verified (false only for `--insecure-registry` hosts). */
  readonly verify: boolean;
}

export interface RegistryTlsOptions {
  /** Extra CA files trusted for every host (`--registry-ca`). */
  readonly caFiles?: readonly string[];
  /** The certs.d root; default `$KILN_CERTS_D`, else {@link DEFAULT_CERTS_DIR}. */
  readonly certsDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Verify the server's certificate (default true). */
  readonly verify?: boolean;
}

/**
 * The trust for HTTPS to `host` (`host[:port]` as references write it): the system's CAs
 * ({@link systemCaCertificates}: Node's roots, the OS bundle, `NODE_EXTRA_CA_CERTS`), every `*.crt` in `<certsDir>/<host>/` (docker's layout, e.g. `ca.crt`), and `caFiles`.
 * A `client.cert`/`client.key` pair there is presented as a client certificate. A missing
 * certs.d directory is normal; an unreadable `caFiles` entry is a CERTIFICATE error.
 */
export async function loadRegistryTls(host: string, opts: RegistryTlsOptions = {}): Promise<RegistryTls> {
  const env = opts.env ?? process.env;
  const certsDir = opts.certsDir ?? (env.KILN_CERTS_D || DEFAULT_CERTS_DIR);
  const hostDir = join(certsDir, host);
  const ca = await systemCaCertificates(env);
  let cert: string | undefined;
  let key: string | undefined;
  for (const name of (await readdir(hostDir).catch(() => [] as string[])).sort()) {
    if (name.endsWith('.crt')) ca.push(await readPem(join(hostDir, name)));
    else if (name.endsWith('.cert') && cert === undefined) {
      // docker pairs `x.cert` with `x.key`; a certificate without its key is a setup mistake.
      cert = await readPem(join(hostDir, name));
      key = await readPem(join(hostDir, `${name.slice(0, -'.cert'.length)}.key`));
    }
  }
  for (const file of opts.caFiles ?? []) ca.push(await readPem(file));
  return { ca, cert, key, hostDir, verify: opts.verify ?? true };
}

async function readPem(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new RegistryError('CERTIFICATE', `cannot read certificate file ${file}`, { cause });
  }
  if (!text.includes('-----BEGIN '))
    throw new RegistryError('CERTIFICATE', `${file} is not a PEM file`, {
      hint: 'CA files are PEM: "-----BEGIN CERTIFICATE-----" blocks',
    });
  return text;
}
