import type { Credentials } from './docker-credentials.js';
import type { RegistryTls } from './load-registry-tls.js';
import { mergeScopes } from './merge-scopes.js';
import type { AuthChallenge } from './parse-www-authenticate.js';
import { readBody } from './read-body.js';
import { redactSecrets } from './redact-secrets.js';
import { RegistryError } from './registry-error.js';
import { responseError } from './response-error.js';
import { sendRequest } from './send-request.js';
import { withRetry } from './with-retry.js';

/** A Bearer token and when kiln stops using it (ms since the epoch). */
export interface BearerToken {
  readonly token: string;
  readonly expiresAt: number;
}

export interface FetchTokenOptions {
  /** The registry the token is for, for messages. */
  readonly registry: string;
  /** The registry's `Bearer` challenge: `realm`, `service`, and maybe `scope`s. */
  readonly challenge: AuthChallenge;
  /** Scopes the request needs; those of the challenge are added (see mergeScopes). */
  readonly scopes: readonly string[];
  /** Absent: an anonymous token. */
  readonly credentials?: Credentials;
  /** What HTTPS to the realm trusts. */
  readonly tls?: RegistryTls;
  readonly retry?: { readonly attempts?: number; readonly baseDelayMs?: number };
  readonly idleTimeoutMs?: number;
  readonly signal: AbortSignal;
}

/** Without `expires_in`, a token lives 60 s (the distribution token spec's default). */
const DEFAULT_EXPIRES_IN = 60;

/**
 * Gets a token from the challenge's realm (distribution token spec). With an identity token
 * (docker's `identitytoken`, an OAuth2 refresh token) it POSTs `grant_type=refresh_token`
 * as a form; otherwise it GETs `?service=..&scope=..` (one `scope` parameter per scope), with
 * Basic credentials when there are any. Retries 5xx/429/resets; refusals are UNAUTHORIZED or
 * DENIED with the token server's reason. The token is used until a little before `expires_in`
 * runs out (a quarter of its life, at most 10 s, early), so it never expires in flight on our clock.
 */
export async function fetchToken(opts: FetchTokenOptions): Promise<BearerToken> {
  const { challenge, credentials, signal } = opts;
  const realm = challenge.params.get('realm')?.[0];
  if (!realm) throw new RegistryError('PROTOCOL', `${opts.registry}: Bearer challenge without a realm`);
  let url: URL;
  try {
    url = new URL(realm);
  } catch (cause) {
    throw new RegistryError('PROTOCOL', `${opts.registry}: Bearer realm "${realm}" is not a URL`, { cause });
  }
  const services = challenge.params.get('service') ?? [];
  const scopes = mergeScopes([
    ...opts.scopes,
    ...(challenge.params.get('scope') ?? []).flatMap((s) => s.split(' ')).filter((one) => one !== ''),
  ]);
  const what = `token for ${opts.registry} from ${redactSecrets(url.origin + url.pathname)}`;
  let request: { method: string; headers: Record<string, string>; body?: Buffer };
  if (credentials?.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'kiln' });
    for (const service of services) form.append('service', service);
    if (scopes.length > 0) form.append('scope', scopes.join(' '));
    form.append('refresh_token', credentials.identityToken);
    request = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(form.toString()),
    };
  } else {
    for (const service of services) url.searchParams.append('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    if (credentials)
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    request = { method: 'GET', headers };
  }
  const res = await withRetry(
    async () => {
      const r = await sendRequest({
        ...request,
        url,
        signal,
        tls: opts.tls,
        idleTimeoutMs: opts.idleTimeoutMs,
      });
      if (r.status === 200) return r;
      throw await responseError(r, what);
    },
    { signal, baseDelayMs: opts.retry?.baseDelayMs, attempts: opts.retry?.attempts },
  );
  let doc: unknown;
  try {
    doc = JSON.parse((await readBody(res.body, 1024 * 1024, what)).toString('utf8'));
  } catch (cause) {
    if (cause instanceof RegistryError) throw cause;
    throw new RegistryError('PROTOCOL', `${what}: the answer is not JSON`, { cause });
  }
  const { token, access_token: accessToken, expires_in: expiresIn } = (doc ?? {}) as Record<string, unknown>;
  const value =
    typeof token === 'string' && token ? token : typeof accessToken === 'string' ? accessToken : '';
  if (!value) throw new RegistryError('PROTOCOL', `${what}: the answer has no token`);
  const seconds = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_EXPIRES_IN;
  return { token: value, expiresAt: Date.now() + (seconds - Math.min(10, seconds / 4)) * 1000 };
}
