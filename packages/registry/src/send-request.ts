import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { certificateError } from './certificate-error.js';
import type { RegistryTls } from './load-registry-tls.js';
import { redactSecrets } from './redact-secrets.js';
import { RegistryError } from './registry-error.js';
import { tlsAgent } from './tls-agent.js';

/** One HTTP exchange's answer. The caller owns `body`: read it to the end or destroy it. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
}

export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** A buffer, or a stream that is consumed (and destroyed on failure). */
  readonly body?: Buffer | Readable;
  readonly signal: AbortSignal;
  /**
   * Fails the exchange (NETWORK, retryable) when the socket carries no data either way for this
   * long, while sending, waiting or reading the body; a stalled server never hangs a push or pull.
   */
  readonly idleTimeoutMs?: number;
  /** What an `https:` request trusts (see `loadRegistryTls`); default: Node's bundled roots. */
  readonly tls?: RegistryTls;
  /**
   * An IP address to connect to instead of resolving the URL's host name; the request still names
   * the host (`Host`, and the TLS server name the certificate is checked against).
   */
  readonly address?: string;
}

/** The default of {@link HttpRequest.idleTimeoutMs}: generous, as a registry may hash a large upload. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * Sends one request with `node:http`/`node:https`; no redirects are followed and no status is
 * judged here. Resolves once response headers arrive. Network failures become
 * RegistryError('NETWORK') (retryable for resets and timeouts), an abort becomes CANCELLED.
 */
export function sendRequest(req: HttpRequest): Promise<HttpResponse> {
  const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { 'user-agent': 'kiln', ...req.headers };
  if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
  else if (req.body === undefined && req.method !== 'GET' && req.method !== 'HEAD')
    headers['content-length'] = '0';
  return new Promise<HttpResponse>((resolve, reject) => {
    const fail = (err: unknown): void => {
      if (req.body && !Buffer.isBuffer(req.body)) req.body.destroy();
      reject(toRegistryError(err, req));
    };
    if (req.signal.aborted) {
      fail(req.signal.reason);
      return;
    }
    const agent = req.tls && req.url.protocol === 'https:' ? tlsAgent(req.tls) : undefined;
    const at = req.address === undefined ? {} : { hostname: req.address, servername: req.url.hostname };
    if (req.address !== undefined) headers.host = req.url.host;
    const outgoing = send(req.url, { method: req.method, headers, signal: req.signal, agent, ...at }, (res) =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
    );
    outgoing.on('error', fail);
    const idleMs = req.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    // Destroying the request also errors a response body that is being read, so a stall in the
    // middle of a download surfaces to the reader rather than hanging it.
    outgoing.setTimeout(idleMs, () => {
      const err: NodeJS.ErrnoException = new Error(`no data for ${idleMs} ms`);
      err.code = 'ETIMEDOUT';
      outgoing.destroy(err);
    });
    if (req.body === undefined) outgoing.end();
    else if (Buffer.isBuffer(req.body)) outgoing.end(req.body);
    else pipeline(req.body, outgoing).catch(fail);
  });
}

function toRegistryError(err: unknown, req: HttpRequest): RegistryError {
  const where = `${req.method} ${redactSecrets(req.url.href)}`;
  if (req.signal.aborted)
    return new RegistryError('CANCELLED', `${where}: cancelled`, { cause: req.signal.reason });
  const untrusted = certificateError(err, where, req.tls);
  if (untrusted) return untrusted;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  return new RegistryError('NETWORK', `${where}: ${redactSecrets(message)}`, {
    cause: err,
    retryable: RETRYABLE_NETWORK.has(code),
    hint:
      code === 'ECONNREFUSED'
        ? 'is the registry running, and is the port right?'
        : code === 'EPROTO' || /wrong version number/i.test(message)
          ? 'the registry may speak plain HTTP: pass it with --insecure-registry'
          : undefined,
  });
}
