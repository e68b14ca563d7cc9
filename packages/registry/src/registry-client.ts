import type { Readable } from 'node:stream';
import { dockerConfigCredentials, type CredentialsLookup } from './docker-credentials.js';
import { parseWwwAuthenticate, type AuthChallenge } from './parse-www-authenticate.js';
import { readBody } from './read-body.js';
import { redactSecrets } from './redact-secrets.js';
import { RegistryError } from './registry-error.js';
import { registryEndpoint } from './registry-url.js';
import { responseError } from './response-error.js';
import { sendRequest, type HttpResponse } from './send-request.js';
import { withRetry } from './with-retry.js';

export interface RegistryClientOptions {
  /** Hosts (`host` or `host:port`) reached over plain HTTP besides loopback ones. */
  readonly insecure?: readonly string[];
  /** Where credentials come from; default: docker's config.json (`$DOCKER_CONFIG`, `~/.docker`). */
  readonly credentials?: CredentialsLookup;
  /** Attempts per request (default 4) and first back-off delay (default 250 ms). */
  readonly retry?: { readonly attempts?: number; readonly baseDelayMs?: number };
}

export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A path under the registry (`/v2/...`) or an absolute URL (an upload `Location`). */
  readonly target: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** A buffer, or a factory called once per attempt that returns a fresh stream. */
  readonly body?: Buffer | (() => Promise<Readable>);
  /** Token scopes the request needs, e.g. `repository:library/busybox:pull`. */
  readonly scopes: readonly string[];
  /** Statuses that count as success; any other one is thrown as a RegistryError. */
  readonly expect: readonly number[];
  /** What the request is for, for messages (`GET manifest busybox:latest`). */
  readonly what: string;
  /** Retry on 5xx/429/resets (default true); uploads whose server state may have moved say false. */
  readonly retry?: boolean;
  readonly signal: AbortSignal;
}

/** A successful response and the URL it finally came from (after redirects). */
export interface RegistryResponse extends HttpResponse {
  readonly url: URL;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * An OCI distribution client for one registry host. Learns authentication from challenges:
 * `WWW-Authenticate: Basic` (credentials sent on every later request) or `Bearer` (a token
 * fetched from the realm per set of scopes, cached until it expires). `Authorization` goes only
 * to the registry's own origin, never to a redirect on another host. Not tied to a repository.
 */
export class RegistryClient {
  readonly baseUrl: URL;
  private readonly credentials: CredentialsLookup;
  private basic?: string;
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(
    readonly registry: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.baseUrl = new URL(registryEndpoint(registry, options.insecure).baseUrl);
    this.credentials = options.credentials ?? dockerConfigCredentials();
  }

  /** `GET /v2/`: checks that the registry speaks the distribution API and that we may log in. */
  async ping(signal: AbortSignal): Promise<void> {
    const res = await this.request({
      method: 'GET',
      target: '/v2/',
      scopes: [],
      expect: [200],
      what: `ping ${this.registry}`,
      signal,
    });
    res.body.resume();
  }

  /**
   * Sends a request, answering one authentication challenge, following redirects and retrying
   * retryable failures. The caller owns the returned body (read it or destroy it).
   */
  request(req: RegistryRequest): Promise<RegistryResponse> {
    return withRetry(() => this.attempt(req), {
      signal: req.signal,
      attempts: req.retry === false ? 1 : this.options.retry?.attempts,
      baseDelayMs: this.options.retry?.baseDelayMs,
    });
  }

  private async attempt(req: RegistryRequest): Promise<RegistryResponse> {
    let url = typeof req.target === 'string' ? new URL(req.target, this.baseUrl) : req.target;
    let method = req.method;
    let challenged = false;
    for (let redirects = 0; ;) {
      const own = url.origin === this.baseUrl.origin;
      const headers: Record<string, string> = { ...req.headers };
      const authorization = own ? this.authorizationFor(req.scopes) : undefined;
      if (authorization) headers.authorization = authorization;
      const body =
        req.body === undefined || method === 'GET' || method === 'HEAD'
          ? undefined
          : Buffer.isBuffer(req.body)
            ? req.body
            : await req.body();
      const res = await sendRequest({ method, url, headers, body, signal: req.signal });
      if (res.status === 401 && own && !challenged) {
        const header = res.headers['www-authenticate'];
        const err = await responseError(res, req.what);
        if (header && (await this.authenticate(header, req.scopes, req.signal))) {
          challenged = true;
          continue;
        }
        throw err;
      }
      const location = res.headers.location;
      if (REDIRECTS.has(res.status) && location && !req.expect.includes(res.status)) {
        res.body.resume();
        if (++redirects > MAX_REDIRECTS)
          throw new RegistryError('PROTOCOL', `${req.what}: more than ${MAX_REDIRECTS} redirects`);
        url = new URL(location, url);
        if (res.status === 303) method = 'GET';
        continue;
      }
      if (req.expect.includes(res.status)) return { ...res, url };
      throw await responseError(res, req.what);
    }
  }

  private authorizationFor(scopes: readonly string[]): string | undefined {
    if (this.basic) return this.basic;
    const cached = this.tokens.get(scopeKey(scopes));
    return cached && cached.expiresAt > Date.now() ? `Bearer ${cached.token}` : undefined;
  }

  /** Learns how to authenticate from a challenge; false when it cannot be answered. */
  private async authenticate(
    header: string,
    scopes: readonly string[],
    signal: AbortSignal,
  ): Promise<boolean> {
    const challenges = parseWwwAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      await this.fetchToken(bearer, scopes, signal);
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const creds = await this.credentials(this.registry);
      if (!creds) return false;
      this.basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return true;
    }
    return false;
  }

  private async fetchToken(
    challenge: AuthChallenge,
    scopes: readonly string[],
    signal: AbortSignal,
  ): Promise<void> {
    const realm = challenge.params.get('realm')?.[0];
    if (!realm) throw new RegistryError('PROTOCOL', `${this.registry}: Bearer challenge without a realm`);
    const url = new URL(realm);
    for (const service of challenge.params.get('service') ?? []) url.searchParams.append('service', service);
    const all = new Set(scopes);
    for (const s of challenge.params.get('scope') ?? [])
      for (const one of s.split(' ')) if (one) all.add(one);
    for (const scope of all) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    const creds = await this.credentials(this.registry);
    if (creds)
      headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const what = `token for ${this.registry} from ${redactSecrets(url.origin + url.pathname)}`;
    const res = await withRetry(
      async () => {
        const r = await sendRequest({ method: 'GET', url, headers, signal });
        if (r.status === 200) return r;
        throw await responseError(r, what);
      },
      { signal, baseDelayMs: this.options.retry?.baseDelayMs, attempts: this.options.retry?.attempts },
    );
    const doc: unknown = JSON.parse((await readBody(res.body, 1024 * 1024, what)).toString('utf8'));
    const {
      token,
      access_token: accessToken,
      expires_in: expiresIn,
    } = (doc ?? {}) as Record<string, unknown>;
    const value =
      typeof token === 'string' ? token : typeof accessToken === 'string' ? accessToken : undefined;
    if (!value) throw new RegistryError('PROTOCOL', `${what}: the answer has no token`);
    const seconds = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 60;
    this.tokens.set(scopeKey(scopes), {
      token: value,
      expiresAt: Date.now() + Math.max(1, seconds - 10) * 1000,
    });
  }
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}
