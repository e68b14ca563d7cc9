// A registry token server for tests (distribution's token auth spec), run as a child process:
//   node serve-tokens.mjs CONFIG.json
// CONFIG: { key, cert: PEM files (the signing key and its certificate, which the registry's
// rootcertbundle holds), issuer, service, users: { name: password }, refreshTokens: { token: name },
// lifetimeSeconds (the JWT's real life at the registry), expiresIn (what clients are told),
// registryLeewaySeconds (the registry's clock-skew allowance on `exp`), log (JSON lines, one per
// token request), portFile, timeoutSeconds }.
// It checks Basic credentials (GET) or a refresh token (POST grant_type=refresh_token), grants
// every requested scope (repeated `scope=` parameters, or space-separated in a POST) to a known
// user, and signs RS256 JWTs whose `x5c` header carries the certificate. It stops by itself.
import { Buffer } from 'node:buffer';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { setTimeout } from 'node:timers';
import { URLSearchParams } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const key = createPrivateKey(readFileSync(config.key));
const certDer = new X509Certificate(readFileSync(config.cert)).raw.toString('base64');

const b64url = (data) => Buffer.from(data).toString('base64url');

function parseScope(scope) {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function jwt(subject, scopes) {
  const now = Math.floor(Date.now() / 1000);
  // The registry accepts a token until exp + its leeway: set exp so the token really lives
  // lifetimeSeconds there, which lets a test make tokens expire mid-push.
  const exp = now + config.lifetimeSeconds - (config.registryLeewaySeconds ?? 0);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
  const claims = {
    iss: config.issuer,
    sub: subject,
    aud: config.service,
    exp,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access: scopes.map(parseScope).filter(Boolean),
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function refuse(res, message) {
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message }] }));
}

function basicUser(header) {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://token');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const entry = { method: req.method, scopes: [], service: url.searchParams.getAll('service') };
    let subject;
    if (req.method === 'POST') {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      entry.grantType = form.get('grant_type');
      entry.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      entry.service = form.getAll('service');
      subject =
        entry.grantType === 'refresh_token' ? config.refreshTokens?.[form.get('refresh_token')] : undefined;
      if (!subject) entry.refused = 'invalid refresh token';
    } else {
      entry.scopes = url.searchParams.getAll('scope');
      const user = basicUser(req.headers.authorization);
      if (!user) entry.refused = 'authentication required';
      else if (config.users[user.name] !== user.password) entry.refused = 'invalid username or password';
      else subject = user.name;
      entry.user = user?.name;
    }
    appendFileSync(config.log, `${JSON.stringify(entry)}\n`);
    if (!subject) return refuse(res, entry.refused);
    const token = jwt(subject, entry.scopes);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: config.expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  });
});

server.listen(0, '127.0.0.1', () => writeFileSync(config.portFile, String(server.address().port)));
setTimeout(() => process.exit(0), (config.timeoutSeconds ?? 600) * 1000).unref();
process.on('SIGTERM', () => process.exit(0));
