/** Where requests for a registry go, and how far kiln may relax TLS for it. */
export interface RegistryEndpoint {
  /** The registry as references name it (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  /** Always `https://host[:port]`: HTTPS is tried first, even where plain HTTP is allowed. */
  readonly baseUrl: string;
  /**
   * Whether kiln falls back to `http://` when the server does not speak TLS: loopback hosts and
   * `insecure` ones. A certificate the client cannot verify is never a reason to fall back.
   */
  readonly plainHttp: boolean;
  /** Whether HTTPS certificates are verified: always, except for `insecure` hosts (as docker). */
  readonly verifyTls: boolean;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Chooses how to reach a registry. Every host gets HTTPS first. Plain HTTP is allowed only for
 * loopback hosts (`localhost`, `127.0.0.1`, `[::1]`, any port), whose certificates are still
 * verified, and for entries of `insecure` (`--insecure-registry`), which match either
 * `host:port` exactly or a bare `host` on any port and whose certificates are not verified.
 * Docker Hub's API lives on `registry-1.docker.io`.
 */
export function registryEndpoint(registry: string, insecure: readonly string[] = []): RegistryEndpoint {
  const host = registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
  const hostname = hostnameOf(host);
  const named = insecure.includes(host) || insecure.includes(hostname);
  return {
    registry,
    baseUrl: `https://${host}`,
    plainHttp: named || LOOPBACK.has(hostname),
    verifyTls: !named,
  };
}

function hostnameOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(0, hostPort.indexOf(']') + 1);
  const colon = hostPort.lastIndexOf(':');
  return colon >= 0 ? hostPort.slice(0, colon) : hostPort;
}
