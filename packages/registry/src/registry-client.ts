import type { Readable } from 'node:stream';
import { dockerConfigCredentials, type CredentialsLookup } from './docker-credentials.js';
import { fetchToken, type BearerToken } from './fetch-token.js';
import { isPlainHttpAnswer } from './is-plain-http-answer.js';
import { loadRegistryTls, type RegistryTls } from './load-registry-tls.js';
import { parseWwwAuthenticate, type AuthChallenge } from './parse-www-authenticate.js';
import { RegistryError } from './registry-error.js';
import type { PlainHttpMemo } from './plain-http-memo.js';
import { RegistryRoute } from './registry-route.js';
import { registryEndpoint, type RegistryEndpoint } from './registry-url.js';
import { responseError } from './response-error.js';
import { DEFAULT_IDLE_TIMEOUT_MS, sendRequest, type HttpResponse } from './send-request.js';
import { withRetry } from './with-retry.js';

export interface RegistryClientOptions {
  /** Hosts (`host` or `host:port`) reached over plain HTTP besides loopback ones. */
  readonly insecure?: readonly string[];
  /** Where credentials come from; default: docker's config.json (`$DOCKER_CONFIG`, `~/.docker`). */
  readonly credentials?: CredentialsLookup;
  /** Attempts per request (default 4) and first back-off delay (default 250 ms). */
  readonly retry?: { readonly attempts?: number; readonly baseDelayMs?: number };
  /** A request fails (retryably) after this long without data on its socket (default 120 s). */
  readonly idleTimeoutMs?: number;
  /** Extra CA files (PEM) trusted for HTTPS to every host, besides the system's (`--registry-ca`). */
  readonly caFiles?: readonly string[];
  /**
   * Docker's per-host certificate directory: `<certsDir>/<host[:port]>/*.crt` are trusted CAs,
   * a `*.cert`/`*.key` pair a client certificate. Default `$KILN_CERTS_D`, else `/etc/docker/certs.d`.
   */
  readonly certsDir?: string;
  /** Registries known to speak plain HTTP: their TLS probe is skipped (see PlainHttpMemo). */
  readonly plainHttp?: PlainHttpMemo;
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
  private base: URL;
  private readonly endpoint: RegistryEndpoint;
  private readonly credentials: CredentialsLookup;
  private basic?: string;
  /** The registry's last Bearer challenge: later scopes get their token before the request. */
  private bearer?: AuthChallenge;
  private readonly tokens = new Map<string, BearerToken>();
  /** Token requests in flight per scope set, so concurrent requests share one. */
  private readonly pendingTokens = new Map<string, Promise<void>>();
  private readonly tls = new Map<string, Promise<RegistryTls>>();
  /** Whether a loopback or `--insecure-registry` host is asked over plain HTTP, and where `localhost` is. */
  private readonly route: RegistryRoute;

  constructor(
    readonly registry: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.endpoint = registryEndpoint(registry, options.insecure);
    this.base = new URL(this.endpoint.baseUrl);
    this.credentials = options.credentials ?? dockerConfigCredentials();
    this.route = new RegistryRoute({
      registry,
      httpsBase: this.base,
      plainHttp: this.endpoint.plainHttp,
      memo: options.plainHttp,
      probeTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    });
  }

  /**
   * Where the registry's API is: `https://host`, or `http://host` once a loopback or
   * `--insecure-registry` host has answered our TLS handshake in plain HTTP.
   */
  get baseUrl(): URL {
    return this.base;
  }

  /** The retry policy of this client, for callers that retry a sequence of requests themselves. */
  get retryPolicy(): { readonly attempts?: number; readonly baseDelayMs?: number } {
    return this.options.retry ?? {};
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
      if (own && !challenged && this.bearer && !this.authorizationFor(req.scopes))
        await this.renewToken(this.bearer, req.scopes, req.signal);
      const authorization = own ? this.authorizationFor(req.scopes) : undefined;
      if (authorization) headers.authorization = authorization;
      const body =
        req.body === undefined || method === 'GET' || method === 'HEAD'
          ? undefined
          : Buffer.isBuffer(req.body)
            ? req.body
            : await req.body();
      if (own && url.protocol === 'https:' && (await this.route.current()) === 'http:') {
        this.base = withScheme(this.base, 'http:');
        url = withScheme(url, 'http:');
      }
      let res: HttpResponse;
      try {
        res = await sendRequest({
          method,
          url,
          headers,
          body,
          signal: req.signal,
          idleTimeoutMs: this.options.idleTimeoutMs,
          tls: await this.tlsFor(url),
          address: own ? this.route.address : undefined,
        });
      } catch (err) {
        if (body !== undefined && !Buffer.isBuffer(body)) body.destroy();
        if (own && errorCode(err) === 'ECONNREFUSED' && this.route.refused()) continue;
        if (own && url.protocol === 'http:' && !req.signal.aborted && (await this.route.recheck(true))) {
          // A remembered plain-HTTP host that speaks TLS now.
          this.base = withScheme(this.base, 'https:');
          url = withScheme(url, 'https:');
          continue;
        }
        if (!(own && url.protocol === 'https:' && this.endpoint.plainHttp && isPlainHttpAnswer(err)))
          throw err;
        // A loopback or --insecure-registry host that speaks plain HTTP: use it from now on.
        this.route.answeredPlain();
        this.base = withScheme(this.base, 'http:');
        url = withScheme(url, 'http:');
        continue;
      }
      if (own && url.protocol === 'http:' && (await this.route.recheck(res.status === 400))) {
        res.body.destroy();
        this.base = withScheme(this.base, 'https:');
        url = withScheme(url, 'https:');
        continue;
      }
      if (res.status === 401 && own && !challenged) {
        const header = res.headers['www-authenticate'];
        const err = await responseError(res, req.what);
        if (
          header &&
          (await this.authenticate(header, { scopes: req.scopes, sent: authorization, signal: req.signal }))
        ) {
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

  /**
   * Learns how to authenticate from a challenge; false when it cannot be answered. A Bearer
   * challenge gets a fresh token for the request's scopes — unless one was obtained after the
   * request was sent (`sent`: its Authorization header): requests sent at once before the
   * registry's first challenge all come back 401, and the first to get a token serves the rest.
   */
  private async authenticate(
    header: string,
    req: { readonly scopes: readonly string[]; readonly sent?: string; readonly signal: AbortSignal },
  ): Promise<boolean> {
    const { scopes, signal } = req;
    const challenges = parseWwwAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      // Its `scope` names what this request lacked; later requests ask for their own scopes.
      this.bearer = {
        scheme: bearer.scheme,
        params: new Map([...bearer.params].filter(([k]) => k !== 'scope')),
      };
      const key = scopeKey(scopes);
      const pending = this.pendingTokens.get(key);
      if (pending) {
        await pending;
        return true;
      }
      const current = this.authorizationFor(scopes);
      if (current !== undefined && current !== req.sent) return true;
      // The token we sent (if any) was refused, e.g. expired.
      this.tokens.delete(key);
      await this.renewToken(bearer, scopes, signal);
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const creds = await this.credentials(this.registry);
      // An identity token is only good for the OAuth2 token endpoint, never as a password.
      if (!creds || creds.identityToken) return false;
      this.basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return true;
    }
    return false;
  }

  /** Fetches and caches a token for `scopes`, joining a fetch for the same scopes in flight. */
  private renewToken(
    challenge: AuthChallenge,
    scopes: readonly string[],
    signal: AbortSignal,
  ): Promise<void> {
    const key = scopeKey(scopes);
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = (async () => {
        const realm = challenge.params.get('realm')?.[0];
        const token = await fetchToken({
          registry: this.registry,
          challenge,
          scopes,
          credentials: await this.credentials(this.registry),
          tls: realm && URL.canParse(realm) ? await this.tlsFor(new URL(realm)) : undefined,
          retry: this.options.retry,
          idleTimeoutMs: this.options.idleTimeoutMs,
          signal,
        });
        this.tokens.set(key, token);
      })().finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    return pending;
  }

  /** The trust for HTTPS to the URL's host, loaded once per host; undefined for plain HTTP. */
  private async tlsFor(url: URL): Promise<RegistryTls | undefined> {
    if (url.protocol !== 'https:') return undefined;
    let tls = this.tls.get(url.host);
    if (!tls) {
      tls = loadRegistryTls(url.host, {
        caFiles: this.options.caFiles,
        certsDir: this.options.certsDir,
        // --insecure-registry: HTTPS without verification, as docker does.
        verify: this.endpoint.verifyTls || url.host !== this.base.host,
      });
      this.tls.set(url.host, tls);
    }
    return tls;
  }
}

function errorCode(err: unknown): unknown {
  const cause = err instanceof RegistryError ? err.cause : err;
  return (cause as NodeJS.ErrnoException | undefined)?.code;
}

function withScheme(url: URL, scheme: 'http:' | 'https:'): URL {
  return new URL(url.href.replace(/^https?:/, scheme));
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}
