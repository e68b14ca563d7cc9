import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, type RegistryError } from './index.js';
import {
  issueServerCertificate,
  makeCertificateAuthority,
  type CertificateFiles,
} from '../../../test/support/test-pki.js';

const signal = new AbortController().signal;
const credentials = async (): Promise<undefined> => undefined;

/** A `/v2/` endpoint on `host`, over HTTPS when `tls` is given; records the requests it parsed. */
async function serve(
  host: string,
  tls?: CertificateFiles,
): Promise<{ port: number; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  };
  const server: Server = tls
    ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handle)
    : createHttpServer(handle);
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('RegistryClient transport security', () => {
  let dir: string;
  let ca: CertificateFiles;
  let cert: CertificateFiles;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-registry-tls-'));
    ca = makeCertificateAuthority(dir);
    cert = issueServerCertificate(dir, ca);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tries HTTPS first and falls back to plain HTTP for a loopback registry that speaks it', async () => {
    const server = await serve('127.0.0.1');
    try {
      const client = new RegistryClient(`127.0.0.1:${server.port}`, { credentials });
      expect(client.baseUrl.protocol).toBe('https:');
      await client.ping(signal);
      expect(client.baseUrl.href).toBe(`http://127.0.0.1:${server.port}/`);
      expect(server.seen).toEqual(['GET /v2/']);
    } finally {
      await server.close();
    }
  });

  it('uses plain HTTP for another host only when it is named with --insecure-registry', async () => {
    // 127.0.0.2 reaches this machine too, but kiln does not count it as loopback.
    const server = await serve('127.0.0.2');
    try {
      const host = `127.0.0.2:${server.port}`;
      const err = (await new RegistryClient(host, { credentials })
        .ping(signal)
        .catch((e: unknown) => e)) as RegistryError;
      expect(err.code).toBe('NETWORK');
      expect(err.hint).toMatch(/--insecure-registry/);
      expect(server.seen).toEqual([]);
      const insecure = new RegistryClient(host, { credentials, insecure: [host] });
      await insecure.ping(signal);
      expect(insecure.baseUrl.protocol).toBe('http:');
      expect(server.seen).toEqual(['GET /v2/']);
    } finally {
      await server.close();
    }
  });

  it('never falls back to HTTP on an untrusted certificate; trusts --registry-ca and certs.d', async () => {
    const server = await serve('127.0.0.1', cert);
    try {
      const host = `127.0.0.1:${server.port}`;
      const emptyCertsDir = join(dir, 'empty-certs.d');
      const err = (await new RegistryClient(host, { credentials, certsDir: emptyCertsDir })
        .ping(signal)
        .catch((e: unknown) => e)) as RegistryError;
      expect(err.code).toBe('CERTIFICATE');
      expect(err.message).toMatch(/TLS certificate not trusted: .*\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
      expect(err.hint).toContain(join(emptyCertsDir, host, 'ca.crt'));
      expect(server.seen).toEqual([]);

      await new RegistryClient(host, { credentials, certsDir: emptyCertsDir, caFiles: [ca.cert] }).ping(
        signal,
      );
      const certsDir = join(dir, 'certs.d');
      mkdirSync(join(certsDir, host), { recursive: true });
      copyFileSync(ca.cert, join(certsDir, host, 'ca.crt'));
      await new RegistryClient(host, { credentials, certsDir }).ping(signal);
      await new RegistryClient(host, { credentials, certsDir: emptyCertsDir, insecure: [host] }).ping(signal);
      expect(server.seen).toEqual(['GET /v2/', 'GET /v2/', 'GET /v2/']);
    } finally {
      await server.close();
    }
  });

  it('trusts the certificates NODE_EXTRA_CA_CERTS names, as Node does by default', async () => {
    const server = await serve('127.0.0.1', cert);
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    try {
      const host = `127.0.0.1:${server.port}`;
      const certsDir = join(dir, 'empty-certs.d');
      process.env.NODE_EXTRA_CA_CERTS = join(dir, 'no-such-bundle.pem');
      const err = (await new RegistryClient(host, { credentials, certsDir })
        .ping(signal)
        .catch((e: unknown) => e)) as RegistryError;
      expect(err.code).toBe('CERTIFICATE');
      process.env.NODE_EXTRA_CA_CERTS = ca.cert;
      await new RegistryClient(host, { credentials, certsDir }).ping(signal);
      expect(server.seen).toEqual(['GET /v2/']);
    } finally {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
      await server.close();
    }
  });

  it('checks the host name: the certificate names 127.0.0.1 and localhost, not 127.0.0.2', async () => {
    const server = await serve('127.0.0.1', cert);
    try {
      // `localhost` is in the certificate; an IP the certificate does not name fails the check.
      const other = await serve('127.0.0.2', cert);
      try {
        const err = (await new RegistryClient(`127.0.0.2:${other.port}`, { credentials, caFiles: [ca.cert] })
          .ping(signal)
          .catch((e: unknown) => e)) as RegistryError;
        expect(err.code).toBe('CERTIFICATE');
        expect(err.hint).toMatch(/does not name this host/);
      } finally {
        await other.close();
      }
      await new RegistryClient(`localhost:${server.port}`, { credentials, caFiles: [ca.cert] }).ping(signal);
    } finally {
      await server.close();
    }
  });
});
