import { isIP } from 'node:net';
import { connect, createSecureContext } from 'node:tls';
import { isPlainHttpAnswer } from './is-plain-http-answer.js';

/** What a server answered to a TLS ClientHello: a handshake, plain HTTP, or neither (see probeTls). */
export type TlsProbe = 'tls' | 'plain' | 'unknown';

/**
 * Whether the server at `url`'s host and port answers a TLS ClientHello as TLS. False only when
 * it answers in plain HTTP (see {@link isPlainHttpAnswer}); true on a handshake, and also on any
 * other failure or after `timeoutMs` without an answer, so that the real request runs and reports
 * the problem itself.
 */
export async function speaksTls(url: URL, timeoutMs: number): Promise<boolean> {
  return (await probeTls(url, timeoutMs)) !== 'plain';
}

/**
 * Sends a TLS ClientHello to `url`'s host and port: `tls` on a handshake, `plain` when the server
 * answers in plain HTTP, `unknown` on any other failure or after `timeoutMs` without an answer.
 * A protocol probe, nothing more: no request is sent, the connection closes at once, and no
 * certificate is trusted for anything, so no CA list is loaded. Why: the secure context with the
 * system's CAs costs ~40 ms to build, wasted when a loopback or `--insecure-registry` host turns
 * out to speak plain HTTP. (An empty `ca`, not none: without one, Node builds its default root
 * store, ~30 ms, unless `NODE_EXTRA_CA_CERTS` made it at start.)
 */
export function probeTls(url: URL, timeoutMs: number): Promise<TlsProbe> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port: Number(url.port || 443),
      // SNI may not carry an IP address (RFC 6066).
      servername: isIP(host) === 0 ? host : undefined,
      secureContext: createSecureContext({ ca: [] }),
      rejectUnauthorized: false,
    });
    const done = (answer: TlsProbe): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done('unknown'));
    socket.once('secureConnect', () => done('tls'));
    socket.once('error', (err) => done(isPlainHttpAnswer(err) ? 'plain' : 'unknown'));
  });
}
