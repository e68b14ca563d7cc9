// A loopback HTTP proxy in front of a registry that injects faults, for tests. Run as a child
// process (never inside jest): `node fault-proxy-server.mjs '<json config>'`. It writes its port to
// `config.portFile` once listening, exits by itself after `config.lifetimeMs`, and answers
// `GET /_faults` with what it injected so far: { total, byKind, requests }.
//
// Config: target ("127.0.0.1:PORT" of the registry), seed (faults are drawn from a seeded PRNG
// in request-arrival order, so a seed gives the same sequence of decisions), rate (chance that a
// request gets a fault), kinds (which faults to draw from), only (a regex on "METHOD path": only
// matching requests may get faults), maxFaults (stop injecting after this many), stallMs (how
// long a stalled exchange is held before the proxy drops it).
//
// Faults:
//   reset        the client's connection is destroyed before anything is forwarded
//   reset-mid    the request is forwarded, then both connections are cut: mid-body for uploads
//                (the registry keeps a partial chunk), mid-response for downloads
//   500, 503     an error answer; 503 carries `Retry-After: 1` every other time
//   429          too many requests, `Retry-After: 1` every other time
//   stall        nothing is ever answered (the client must time out)
//   stall-mid    part of the request body (uploads) or of the response, then silence
//   401          uploads (POST/PATCH/PUT of …/blobs/uploads/…): a Bearer challenge whose realm is
//                this proxy's /token, as when a token expires mid-upload; the proxy hands out
//                tokens and forwards the retried request (the registry itself has no auth)
import { createServer, request as httpRequest, Agent } from 'node:http';
import { writeFileSync } from 'node:fs';
import { setTimeout } from 'node:timers';

const config = JSON.parse(process.argv[2] ?? '{}');
const [targetHost, targetPort] = String(config.target).split(':');
const kinds = config.kinds ?? ['reset', 'reset-mid', '500', '503', '429', 'stall', 'stall-mid', '401'];
const only = config.only ? new RegExp(config.only) : undefined;
const rate = config.rate ?? 0.2;
const stallMs = config.stallMs ?? 5000;
const maxFaults = config.maxFaults ?? Infinity;

/** mulberry32: small, seedable, good enough to spread faults. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(config.seed ?? 1);

const stats = { total: 0, byKind: {}, requests: 0 };
const agent = new Agent({ keepAlive: true });
let tokens = 0;
let retryAfterToggle = 0;

function isUpload(method, path) {
  return method !== 'GET' && method !== 'HEAD' && /\/blobs\/uploads\//.test(path);
}

/** Draws this request's fault (or none); faults that do not fit the request are not drawn. */
function drawFault(req) {
  const line = `${req.method} ${req.url}`;
  const roll = random();
  const pick = random();
  const cut = random();
  if (!req.url.startsWith('/v2/') || (only && !only.test(line)) || stats.total >= maxFaults) return undefined;
  if (roll >= rate) return undefined;
  const fitting = kinds.filter((k) => {
    if (k === '401') return isUpload(req.method, req.url);
    return true;
  });
  if (fitting.length === 0) return undefined;
  return { kind: fitting[Math.floor(pick * fitting.length)], cut };
}

function count(kind) {
  stats.total++;
  stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
}

function forward(req, res, fault) {
  const upstream = httpRequest(
    {
      host: targetHost,
      port: Number(targetPort),
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (up) => {
      const length = Number(up.headers['content-length'] ?? 0);
      if (
        (fault?.kind === 'reset-mid' || fault?.kind === 'stall-mid') &&
        (req.method === 'HEAD' || length === 0)
      ) {
        // No body to cut: the registry acted on the request, but its answer is lost.
        up.resume();
        if (fault.kind === 'reset-mid') res.socket?.destroy();
        else setTimeout(() => res.socket?.destroy(), stallMs).unref();
        return;
      }
      if (fault?.kind === 'reset-mid' || fault?.kind === 'stall-mid') {
        const limit = Math.floor(length * fault.cut);
        res.writeHead(up.statusCode ?? 502, up.headers);
        let sent = 0;
        up.on('data', (chunk) => {
          if (sent >= limit) return;
          const piece = chunk.subarray(0, Math.max(0, limit - sent));
          sent += piece.length;
          res.write(piece);
          if (sent >= limit) {
            up.destroy();
            if (fault.kind === 'reset-mid') res.socket?.destroy();
            else setTimeout(() => res.socket?.destroy(), stallMs).unref();
          }
        });
        up.on('end', () => res.end());
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', () => res.socket?.destroy());
  const bodyLength = Number(req.headers['content-length'] ?? 0);
  if ((fault?.kind === 'reset-mid' || fault?.kind === 'stall-mid') && bodyLength > 0) {
    // Cut an upload: the registry gets part of the body, then both connections drop, at once
    // (reset-mid) or once the client has given up waiting (stall-mid).
    const limit = Math.floor(bodyLength * fault.cut);
    let sent = 0;
    req.on('data', (chunk) => {
      if (sent > limit) return;
      const piece = chunk.subarray(0, Math.max(0, limit - sent));
      sent += chunk.length;
      if (piece.length > 0) upstream.write(piece);
      if (sent > limit) {
        setTimeout(
          () => {
            upstream.destroy();
            req.socket.destroy();
          },
          fault.kind === 'reset-mid' ? 20 : stallMs,
        ).unref();
      }
    });
    req.on('end', () => upstream.end());
    return;
  }
  req.pipe(upstream);
}

const server = createServer((req, res) => {
  if (req.url === '/_faults') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.url?.startsWith('/token')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: `fault-proxy-${++tokens}`, expires_in: 60 }));
    return;
  }
  stats.requests++;
  const fault = drawFault(req);
  if (fault) count(fault.kind);
  switch (fault?.kind) {
    case undefined:
    case 'reset-mid':
    case 'stall-mid':
      forward(req, res, fault);
      return;
    case 'reset':
      req.socket.destroy();
      return;
    case 'stall':
      req.resume();
      setTimeout(() => req.socket.destroy(), stallMs).unref();
      return;
    case '500':
    case '503':
    case '429': {
      req.resume();
      const headers = { 'content-type': 'application/json' };
      if (fault.kind !== '500' && retryAfterToggle++ % 2 === 0) headers['retry-after'] = '1';
      const code = fault.kind === '429' ? 'TOOMANYREQUESTS' : 'UNAVAILABLE';
      res.writeHead(Number(fault.kind), headers);
      res.end(JSON.stringify({ errors: [{ code, message: `injected ${fault.kind}` }] }));
      return;
    }
    case '401': {
      req.resume();
      const { port } = server.address();
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="fault-proxy"`,
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'injected: token expired' }] }));
      return;
    }
    default:
      res.writeHead(500);
      res.end(`unknown fault ${fault.kind}`);
  }
});

server.listen(0, '127.0.0.1', () => {
  writeFileSync(config.portFile, String(server.address().port));
});
setTimeout(() => process.exit(0), config.lifetimeMs ?? 600_000).unref();
// The lifetime timer is unref'd; the server keeps the process alive until then or a signal.
process.on('SIGTERM', () => process.exit(0));
