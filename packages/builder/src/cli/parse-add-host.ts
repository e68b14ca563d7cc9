import { isIP } from 'node:net';
import type { ExtraHost } from '@kiln/runner-native';
import { BuilderError } from '../builder-error.js';

/**
 * `--add-host HOST:IP` as docker build takes it (also `HOST=IP`, and an IPv6 address after the
 * first `:` or in brackets). `host-gateway`, docker's name for the address at which a container
 * reaches its host, is 127.0.0.1: kiln's steps share the host's network.
 */
export function parseAddHost(spec: string): ExtraHost {
  const sep = /[=:]/.exec(spec);
  const host = sep ? spec.slice(0, sep.index) : '';
  let ip = sep ? spec.slice(sep.index + 1) : '';
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip === 'host-gateway') ip = '127.0.0.1';
  if (host === '' || /[\s#]/.test(host) || isIP(ip) === 0) {
    throw new BuilderError('INVALID_ARGUMENT', `invalid --add-host "${spec}"`, {
      hint: 'HOST:IP, e.g. --add-host db:10.0.0.5 or --add-host v6:[2001:db8::1]',
    });
  }
  return { host, ip };
}
