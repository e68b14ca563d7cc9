import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { filePlainHttpMemo, RegistryClient, type RegistryError } from './index.js';
import {
  issueServerCertificate,
  makeCertificateAuthority,
  type CertificateFiles,
} from '../../../test/support/test-pki.js';

const signal = new AbortController().signal;
const credentials = async (): Promise<undefined> => undefined;

/** Waits (up to 5 s) for a condition that a fire-and-forget write makes true. */
async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if (condition()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(condition()).toBe(true);
}

/**
 * A `/v2/` endpoint on `host`, over HTTPS when `tls` is given; records the requests it parsed and
 * counts what it could not parse as HTTP (`garbled`: a plain server given a TLS probe's hello).
 */
async function serve(
  host: string,
  tls?: CertificateFiles,
): Promise<{
  port: number;
  seen: string[];
  hosts: string[];
  garbled: () => number;
  close: () => Promise<void>;
}> {
  const seen: string[] = [];
  const hosts: string[] = [];
  let garbled = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push(`${req.method} ${req.url}`);
    hosts.push(req.headers.host ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  };
  const server: Server = tls
    ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handle)
    : createHttpServer(handle);
  server.on('clientError', (_err, socket) => {
    garbled++;
    // As Node's default: a plain-HTTP 400, which a TLS client takes for "not TLS".
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    hosts,
    garbled: () => garbled,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Runs `fn` with a {@link serve} server on `address` and its `host:port`, then closes the server. */
async function withServer(
  address: string,
  tls: CertificateFiles | undefined,
  fn: (server: Awaited<ReturnType<typeof serve>>, host: string) => Promise<void>,
): Promise<void> {
  const server = await serve(address, tls);
  try {
    await fn(server, `${address}:${server.port}`);
  } finally {
    await server.close();
  }
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
    await withServer('127.0.0.1', undefined, async (server) => {
      const client = new RegistryClient(`127.0.0.1:${server.port}`, { credentials });
      expect(client.baseUrl.protocol).toBe('https:');
      await client.ping(signal);
      expect(client.baseUrl.href).toBe(`http://127.0.0.1:${server.port}/`);
      expect(server.seen).toEqual(['GET /v2/']);
    });
  });

  it('uses plain HTTP for another host only when it is named with --insecure-registry', async () => {
    // 127.0.0.2 reaches this machine too, but kiln does not count it as loopback.
    await withServer('127.0.0.2', undefined, async (server, host) => {
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
    });
  });

  it('never falls back to HTTP on an untrusted certificate; trusts --registry-ca and certs.d', async () => {
    await withServer('127.0.0.1', cert, async (server, host) => {
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
    });
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
    await withServer('127.0.0.1', cert, async (server) => {
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
    });
  });
  it('remembers a registry that answered in plain HTTP: the next client sends no TLS probe', async () => {
    await withServer('127.0.0.1', undefined, async (server, host) => {
      const memoFile = join(dir, 'memo-learn', 'plain-http-registries');
      await new RegistryClient(host, { credentials, plainHttp: filePlainHttpMemo(memoFile) }).ping(signal);
      expect(server.garbled()).toBe(1);
      await eventually(() => readFileSync(memoFile, 'utf8') === `${host}\n`);
      const next = new RegistryClient(host, { credentials, plainHttp: filePlainHttpMemo(memoFile) });
      expect(next.baseUrl.protocol).toBe('https:');
      await next.ping(signal);
      expect(next.baseUrl.protocol).toBe('http:');
      expect(server.garbled()).toBe(1);
      expect(server.seen).toEqual(['GET /v2/', 'GET /v2/']);
      // Without the memo, the probe again.
      await new RegistryClient(host, { credentials }).ping(signal);
      expect(server.garbled()).toBe(2);
    });
  });

  it('finds out a remembered plain-HTTP registry that speaks TLS now, uses HTTPS and forgets it', async () => {
    await withServer('127.0.0.1', cert, async (server, host) => {
      const memoFile = join(dir, 'memo-stale');
      writeFileSync(memoFile, `127.0.0.1:1\n${host}\n`);
      const client = new RegistryClient(host, {
        credentials,
        caFiles: [ca.cert],
        plainHttp: filePlainHttpMemo(memoFile),
      });
      await client.ping(signal);
      expect(client.baseUrl.protocol).toBe('https:');
      expect(server.seen).toEqual(['GET /v2/']);
      await eventually(() => readFileSync(memoFile, 'utf8') === '127.0.0.1:1\n');
    });
  });

  it('keeps the memo when a remembered registry is down: the request fails as it is', async () => {
    const server = await serve('127.0.0.1');
    const host = `127.0.0.1:${server.port}`;
    await server.close();
    const memoFile = join(dir, 'memo-down');
    writeFileSync(memoFile, `${host}\n`);
    const err = (await new RegistryClient(host, {
      credentials,
      plainHttp: filePlainHttpMemo(memoFile),
      retry: { attempts: 1 },
    })
      .ping(signal)
      .catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('NETWORK');
    expect(err.message).toContain(`http://${host}/v2/`);
    expect(readFileSync(memoFile, 'utf8')).toBe(`${host}\n`);
  });
  it('connects to a localhost registry at the loopback address, 127.0.0.1 then ::1, naming localhost', async () => {
    const v4 = await serve('127.0.0.1');
    try {
      await new RegistryClient(`localhost:${v4.port}`, { credentials }).ping(signal);
      expect(v4.seen).toEqual(['GET /v2/']);
      expect(v4.hosts).toEqual([`localhost:${v4.port}`]);
    } finally {
      await v4.close();
    }
    // Only ::1 listens: 127.0.0.1 refuses, and the same request goes to ::1.
    const v6 = await serve('::1', cert);
    try {
      const client = new RegistryClient(`localhost:${v6.port}`, { credentials, caFiles: [ca.cert] });
      await client.ping(signal);
      await client.ping(signal);
      expect(v6.seen).toEqual(['GET /v2/', 'GET /v2/']);
      // Over TLS too: the certificate is checked against the name (it names localhost).
      expect(v6.hosts).toEqual([`localhost:${v6.port}`, `localhost:${v6.port}`]);
    } finally {
      await v6.close();
    }
  });
});
