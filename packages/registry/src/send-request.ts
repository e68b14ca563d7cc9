import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { redactSecrets } from './redact-secrets.js';
import { RegistryError } from './registry-error.js';

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
}

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
    const outgoing = send(req.url, { method: req.method, headers, signal: req.signal }, (res) =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
    );
    outgoing.on('error', fail);
    if (req.body === undefined) outgoing.end();
    else if (Buffer.isBuffer(req.body)) outgoing.end(req.body);
    else pipeline(req.body, outgoing).catch(fail);
  });
}

function toRegistryError(err: unknown, req: HttpRequest): RegistryError {
  const where = `${req.method} ${redactSecrets(req.url.href)}`;
  if (req.signal.aborted)
    return new RegistryError('CANCELLED', `${where}: cancelled`, { cause: req.signal.reason });
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
