import type { PlainHttpMemo } from './plain-http-memo.js';
import { probeTls, speaksTls } from './speaks-tls.js';

export type Scheme = 'https:' | 'http:';

export interface RegistryRouteOptions {
  /** The registry as references name it (`localhost:5000`): the memo's key. */
  readonly registry: string;
  /** Where the registry's API is over HTTPS: the probe's target. */
  readonly httpsBase: URL;
  /** Whether plain HTTP is allowed at all (loopback and `--insecure-registry` hosts). */
  readonly plainHttp: boolean;
  readonly memo?: PlainHttpMemo;
  /** How long the probe waits for an answer. */
  readonly probeTimeoutMs: number;
}

/**
 * How requests reach one registry's own origin: the scheme, and for `localhost` the address.
 *
 * The scheme is HTTPS, except for a host that may speak plain HTTP and does. Learned before the
 * first request by a bare handshake shared by concurrent requests (speaksTls), or taken from the
 * memo without one. An answer from the memo is checked by the first request that goes over it: a
 * network failure or a 400 (what a TLS server says to plain HTTP) probes again, and a host that
 * speaks TLS now is forgotten and asked over HTTPS (`recheck`); any other answer confirms it.
 * Failures to write the memo are ignored: it is a hint.
 */
export class RegistryRoute {
  private answer?: Promise<Scheme>;
  /** The plain-HTTP answer came from the memo and no request over it has succeeded yet. */
  private fromMemo = false;
  private rechecking?: Promise<boolean>;

  /**
   * Where a `localhost` registry is connected to: RFC 6761 (6.3) lets a client take `localhost`
   * for the loopback address without asking the resolver, as curl and browsers do. kiln does,
   * because Node's way from a host name to a connection costs the first request ~4 ms (it
   * compiles its IPv6 address pattern and looks the name up on the thread pool). 127.0.0.1 first,
   * ::1 once that refuses the connection. Undefined for every other host: connected by name.
   */
  private loopback: string | undefined;

  constructor(private readonly opts: RegistryRouteOptions) {
    this.loopback = opts.httpsBase.hostname === 'localhost' ? '127.0.0.1' : undefined;
  }

  /** The address to connect to instead of resolving the registry's host name, if any. */
  get address(): string | undefined {
    return this.loopback;
  }

  /**
   * A connection to {@link address} was refused: whether to try again at another one (`::1`
   * after 127.0.0.1, once); the refusal stands otherwise.
   */
  refused(): boolean {
    if (this.loopback !== '127.0.0.1') return false;
    this.loopback = '::1';
    return true;
  }

  /** The scheme of the next request to the registry's own origin. */
  current(): Promise<Scheme> {
    if (!this.opts.plainHttp) return Promise.resolve('https:');
    this.answer ??= this.learn();
    return this.answer;
  }

  /** An HTTPS request was answered in plain HTTP (the server changed its mind since the probe). */
  answeredPlain(): void {
    this.answer = Promise.resolve('http:');
    this.fromMemo = false;
    this.remember();
  }

  /**
   * Whether a request that went over plain HTTP should go again over HTTPS: only while the answer
   * is the memo's, and only when the request `failed` as it would against a TLS server and a new
   * probe completes a handshake (then the memo forgets the host). A request that did not fail, or
   * a probe answered in plain HTTP, confirms the memo; a probe that learns nothing (the registry
   * is down) leaves it, and the request's own failure stands.
   */
  recheck(failed: boolean): boolean | Promise<boolean> {
    if (!this.fromMemo) return false;
    if (!failed) {
      this.fromMemo = false;
      return false;
    }
    this.rechecking ??= probeTls(this.opts.httpsBase, this.opts.probeTimeoutMs)
      .then((answer) => {
        if (answer === 'unknown') return false;
        this.fromMemo = false;
        if (answer === 'plain') return false;
        this.answer = Promise.resolve('https:');
        this.opts.memo?.forget(this.opts.registry).catch(() => undefined);
        return true;
      })
      .finally(() => {
        this.rechecking = undefined;
      });
    return this.rechecking;
  }

  private async learn(): Promise<Scheme> {
    if (this.opts.memo?.has(this.opts.registry)) {
      this.fromMemo = true;
      return 'http:';
    }
    if (await speaksTls(this.opts.httpsBase, this.opts.probeTimeoutMs)) return 'https:';
    this.remember();
    return 'http:';
  }

  private remember(): void {
    this.opts.memo?.remember(this.opts.registry).catch(() => undefined);
  }
}
