import { formatPlatform, hostPlatform, type Platform } from '@kiln/oci';

/**
 * The ARGs BuildKit defines without a declaration: the target and build platforms. Usable in
 * FROM lines directly, and in a stage after `ARG NAME`. kiln builds for the host platform.
 */
export function predefinedArgs(
  target: Platform = hostPlatform(),
  build: Platform = hostPlatform(),
): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/** Proxy ARGs usable by RUN without a declaration, kept out of cache keys and history (as BuildKit does). */
export const PROXY_ARGS: readonly string[] = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'FTP_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
].flatMap((n) => [n, n.toLowerCase()]);
