import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { issueServerCertificate, makeCertificateAuthority, type CertificateFiles } from './test-pki.js';

/** A real CNCF distribution registry (Debian's `docker-registry`) on a loopback port. */
export interface RegistryServer {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** Access-log lines so far: `"METHOD /v2/... HTTP/1.1" STATUS`. */
  requests(): string[];
  stop(): Promise<void>;
}

export function hasRegistryTools(): boolean {
  return spawnSync('which', ['docker-registry']).status === 0;
}

/**
 * jest's `describe` where docker-registry is installed; elsewhere `describe.skip`, with a warning
 * that the `what` tests are skipped.
 */
export function describeWithRegistry(what: string): typeof describe {
  if (hasRegistryTools()) return describe;
  console.warn(`skipping ${what}: docker-registry is not installed`);
  return describe.skip;
}

/** The manifest digest skopeo (an independent client) sees for `ref` on a plain-HTTP registry. */
export function remoteDigest(ref: string): string {
  const r = spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skopeo inspect ${ref}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { Digest: string }).Digest;
}

export function hasHtpasswd(): boolean {
  return spawnSync('which', ['htpasswd']).status === 0;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** How a test registry authenticates and serves. */
export interface RegistryServerOptions {
  /** An htpasswd file: Basic auth. */
  readonly htpasswd?: string;
  /** PEM certificate and key files: the registry serves HTTPS only. */
  readonly tls?: { readonly certificate: string; readonly key: string };
  /** Token auth: clients get JWTs from `realm`, signed by a key certified in `rootCertBundle`. */
  readonly token?: {
    readonly realm: string;
    readonly service: string;
    readonly issuer: string;
    readonly rootCertBundle: string;
  };
}

/**
 * Starts `docker-registry serve` with filesystem storage under `dir` (with Basic auth, TLS or
 * token auth as `opts` say), waits until `/v2/` answers, and returns a handle. The process runs
 * under `timeout`, so it stops by itself within 15 minutes even if the test never calls `stop`.
 */
export async function startRegistry(dir: string, opts: RegistryServerOptions = {}): Promise<RegistryServer> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const auth = opts.htpasswd
    ? `auth:\n  htpasswd:\n    realm: kiln-test\n    path: ${opts.htpasswd}\n`
    : opts.token
      ? `auth:\n  token:\n    realm: ${opts.token.realm}\n    service: ${opts.token.service}\n    issuer: ${opts.token.issuer}\n    rootcertbundle: ${opts.token.rootCertBundle}\n`
      : '';
  const tls = opts.tls ? `  tls:\n    certificate: ${opts.tls.certificate}\n    key: ${opts.tls.key}\n` : '';
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n  secret: kiln-test-secret\n${tls}${auth}`,
  );
  // Logs go to files, not pipes: tests run kiln and skopeo with spawnSync, which would stop us
  // draining a pipe, and a registry blocked on a full pipe stops answering.
  const logFile = join(dir, 'access.log');
  const errFile = join(dir, 'registry.log');
  const out = openSync(logFile, 'w');
  const err = openSync(errFile, 'w');
  const child: ChildProcess = spawn('timeout', ['900', 'docker-registry', 'serve', config], {
    stdio: ['ignore', out, err],
  });
  closeSync(out);
  closeSync(err);
  const log = (): string => readFileSync(logFile, 'utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const ok = await (opts.tls ? httpsAnswers(`https://${host}/v2/`) : fetch(`http://${host}/v2/`))
      .then((r) => r.status === 200 || r.status === 401)
      .catch(() => false);
    if (ok) {
      return {
        host,
        requests: () =>
          log()
            .split('\n')
            .flatMap((l) => /"([A-Z]+ \/v2\/\S* HTTP\/[\d.]+" \d+)/.exec(l)?.[1] ?? []),
        stop,
      };
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`docker-registry did not start on ${host}:\n${readFileSync(errFile, 'utf8')}`);
}

/** Whether an HTTPS URL answers (any certificate accepted: this only waits for the server). */
function httpsAnswers(url: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    }).on('error', reject);
  });
}

/**
 * A registry on 127.0.0.1 serving HTTPS with a certificate of a fresh private CA (made in
 * `dir/pki`; the registry's storage in `dir/registry`): nothing trusts it unless told to.
 */
export async function startPrivateCaRegistry(
  dir: string,
): Promise<{ readonly registry: RegistryServer; readonly ca: CertificateFiles }> {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true });
  const ca = makeCertificateAuthority(pki);
  const server = issueServerCertificate(pki, ca);
  const registry = await startRegistry(join(dir, 'registry'), {
    tls: { certificate: server.cert, key: server.key },
  });
  return { registry, ca };
}
