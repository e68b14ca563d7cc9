import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient, RegistryError } from './index.js';

/**
 * A scripted HTTP server for the client's auth, redirect and retry logic (the real registry
 * tests cover the protocol itself). Records every request.
 */
async function fakeServer(
  handle: (req: IncomingMessage, res: ServerResponse, port: number) => void,
): Promise<{ port: number; seen: IncomingMessage[]; close: () => Promise<void> }> {
  const seen: IncomingMessage[] = [];
  let port = 0;
  const server: Server = createServer((req, res) => {
    seen.push(req);
    handle(req, res, port);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  return {
    port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const signal = new AbortController().signal;
const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

describe('RegistryClient', () => {
  it('answers a Bearer challenge: realm, service, every scope, Basic credentials; caches the token per scope', async () => {
    const tokenRequests: URL[] = [];
    const server = await fakeServer((req, res, port) => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      if (url.pathname === '/token') {
        tokenRequests.push(url);
        expect(req.headers.authorization).toBe(`Basic ${Buffer.from('me:pw').toString('base64')}`);
        json(res, 200, { token: `tok-${tokenRequests.length}`, expires_in: 300 });
      } else if (req.headers.authorization?.startsWith('Bearer tok-')) {
        json(res, 200, { ok: req.headers.authorization });
      } else {
        json(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          {
            'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="fake",scope="repository:a/b:pull"`,
          },
        );
      }
    });
    try {
      const client = new RegistryClient(`127.0.0.1:${server.port}`, {
        credentials: async () => ({ username: 'me', password: 'pw' }),
      });
      const ask = async (scopes: string[]): Promise<string> => {
        const res = await client.request({
          method: 'GET',
          target: '/v2/a/b/tags/list',
          scopes,
          expect: [200],
          what: 'x',
          signal,
        });
        const chunks: Buffer[] = [];
        for await (const c of res.body) chunks.push(c as Buffer);
        return Buffer.concat(chunks).toString();
      };
      expect(await ask(['repository:a/b:pull', 'repository:c:pull'])).toContain('tok-1');
      expect(await ask(['repository:c:pull', 'repository:a/b:pull'])).toContain('tok-1');
      expect(tokenRequests).toHaveLength(1);
      expect(tokenRequests[0]?.searchParams.get('service')).toBe('fake');
      expect(tokenRequests[0]?.searchParams.getAll('scope').sort()).toEqual([
        'repository:a/b:pull',
        'repository:c:pull',
      ]);
      expect(await ask(['repository:other:pull,push'])).toContain('tok-2');
    } finally {
      await server.close();
    }
  });

  it('does not send Authorization to a redirect on another host', async () => {
    const storage = await fakeServer((req, res) => {
      res.writeHead(200).end(req.headers.authorization ?? 'none');
    });
    const registry = await fakeServer((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
        return;
      }
      res.writeHead(307, { location: `http://localhost:${storage.port}/blob?X-Amz-Signature=s` }).end();
    });
    try {
      const client = new RegistryClient(`127.0.0.1:${registry.port}`, {
        credentials: async () => ({ username: 'me', password: 'pw' }),
      });
      const res = await client.request({
        method: 'GET',
        target: '/v2/a/blobs/x',
        scopes: [],
        expect: [200],
        what: 'x',
        signal,
      });
      const chunks: Buffer[] = [];
      for await (const c of res.body) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('none');
      expect(storage.seen[0]?.headers.authorization).toBeUndefined();
      expect(registry.seen[1]?.headers.authorization).toMatch(/^Basic /);
    } finally {
      await storage.close();
      await registry.close();
    }
  });

  it('retries 5xx and 429 (honouring Retry-After), then succeeds', async () => {
    let n = 0;
    const server = await fakeServer((_req, res) => {
      n++;
      if (n === 1) json(res, 503, { errors: [{ code: 'UNAVAILABLE', message: 'busy' }] });
      else if (n === 2) json(res, 429, {}, { 'retry-after': '0' });
      else res.writeHead(200).end();
    });
    try {
      const client = new RegistryClient(`127.0.0.1:${server.port}`, { retry: { baseDelayMs: 1 } });
      const res = await client.request({
        method: 'GET',
        target: '/v2/',
        scopes: [],
        expect: [200],
        what: 'ping',
        signal,
      });
      res.body.resume();
      expect(n).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('gives up after the attempts and reports the server error, secrets redacted', async () => {
    const server = await fakeServer((_req, res) =>
      json(res, 500, { errors: [{ code: 'UNKNOWN', message: 'boom with Bearer sekrit-token' }] }),
    );
    try {
      const client = new RegistryClient(`127.0.0.1:${server.port}`, {
        retry: { attempts: 2, baseDelayMs: 1 },
      });
      const err = (await client.ping(signal).catch((e: unknown) => e)) as RegistryError;
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.code).toBe('SERVER_ERROR');
      expect(err.message).toMatch(/unknown: boom with Bearer \*\*\*/);
      expect(err.message).not.toContain('sekrit');
      expect(server.seen).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('reports a 401 without usable credentials as UNAUTHORIZED with a hint', async () => {
    const server = await fakeServer((_req, res) =>
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end(),
    );
    try {
      const client = new RegistryClient(`127.0.0.1:${server.port}`, { credentials: async () => undefined });
      await expect(client.ping(signal)).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        message: expect.stringContaining('unauthorized: authentication required'),
        hint: expect.stringContaining('config.json'),
      });
    } finally {
      await server.close();
    }
  });
});
