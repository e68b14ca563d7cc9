import { RegistryError } from './registry-error.js';

/**
 * Whether a failed HTTPS exchange failed because the server answered in plain HTTP (OpenSSL's
 * "wrong version number" / "packet length too long" when the reply to our ClientHello is text).
 * Only then may kiln retry over `http://`; a certificate failure or a reset never qualifies.
 */
export function isPlainHttpAnswer(err: unknown): boolean {
  const cause = err instanceof RegistryError ? err.cause : err;
  // Duck-typed: errors from Node's core may come from another realm (a vm context).
  const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    (code === 'EPROTO' &&
      typeof message === 'string' &&
      /wrong version number|packet length too long|http request/i.test(message))
  );
}
