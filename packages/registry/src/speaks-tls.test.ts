import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeTls, speaksTls } from './speaks-tls.js';
import { issueServerCertificate, makeCertificateAuthority } from '../../../test/support/test-pki.js';

/** Starts `server` on a loopback port; returns its URL as the registry client would have it. */
async function listen(server: Server, host = '127.0.0.1'): Promise<{ url: URL; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}/`),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('speaksTls', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-speaks-tls-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is false for a server that answers the handshake in plain HTTP, and sends it no request', async () => {
    let requests = 0;
    const server = await listen(createHttpServer(() => requests++));
    try {
      expect(await speaksTls(server.url, 10_000)).toBe(false);
      expect(await probeTls(server.url, 10_000)).toBe('plain');
      expect(requests).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('is true for a TLS server, whatever its certificate (nothing is trusted by the probe)', async () => {
    const cert = issueServerCertificate(dir, makeCertificateAuthority(dir));
    let requests = 0;
    const options = { cert: readFileSync(cert.cert), key: readFileSync(cert.key) };
    const server = await listen(createHttpsServer(options, () => requests++));
    try {
      expect(await speaksTls(server.url, 10_000)).toBe(true);
      expect(await probeTls(server.url, 10_000)).toBe('tls');
      expect(requests).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('is true (the real request reports the problem) for a closed port or a server that never answers', async () => {
    const closed = await listen(createTcpServer());
    await closed.close();
    expect(await speaksTls(closed.url, 10_000)).toBe(true);
    expect(await probeTls(closed.url, 10_000)).toBe('unknown');
    const silent = await listen(createTcpServer());
    try {
      expect(await speaksTls(silent.url, 200)).toBe(true);
      expect(await probeTls(silent.url, 200)).toBe('unknown');
    } finally {
      await silent.close();
    }
  });
});
