import { isIP } from 'node:net';
import { connect, createSecureContext } from 'node:tls';
import { isPlainHttpAnswer } from './is-plain-http-answer.js';

/**
 * Whether the server at `url`'s host and port answers a TLS ClientHello as TLS. False only when
 * it answers in plain HTTP (see {@link isPlainHttpAnswer}); true on a handshake, and also on any
 * other failure or after `timeoutMs` without an answer, so that the real request runs and reports
 * the problem itself. A protocol probe, nothing more: no request is sent, the connection closes at
 * once, and no certificate is trusted for anything, so no CA list is loaded. Why: the secure
 * context with the system's CAs costs ~40 ms to build, wasted when a loopback or
 * `--insecure-registry` host turns out to speak plain HTTP. (An empty `ca`, not none: without
 * one, Node builds its default root store, ~30 ms, unless `NODE_EXTRA_CA_CERTS` made it at start.)
 */
export function speaksTls(url: URL, timeoutMs: number): Promise<boolean> {
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
    const done = (tls: boolean): void => {
      socket.destroy();
      resolve(tls);
    };
    socket.setTimeout(timeoutMs, () => done(true));
    socket.once('secureConnect', () => done(true));
    socket.once('error', (err) => done(!isPlainHttpAnswer(err)));
  });
}
