/** Where requests for a registry go, and whether plain HTTP is allowed for it. */
export interface RegistryEndpoint {
  /** The registry as references name it (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  /** `https://host[:port]` or, for loopback and `insecure` hosts, `http://host[:port]`. */
  readonly baseUrl: string;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Chooses the base URL of a registry. Plain HTTP is used only for loopback hosts
 * (`localhost`, `127.0.0.1`, `[::1]`, any port) and for entries of `insecure`, which match either
 * `host:port` exactly or a bare `host` on any port. Docker Hub's API lives on `registry-1.docker.io`.
 */
export function registryEndpoint(registry: string, insecure: readonly string[] = []): RegistryEndpoint {
  const host = registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
  const hostname = hostnameOf(host);
  const plain = LOOPBACK.has(hostname) || insecure.includes(host) || insecure.includes(hostname);
  return { registry, baseUrl: `${plain ? 'http' : 'https'}://${host}` };
}

function hostnameOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(0, hostPort.indexOf(']') + 1);
  const colon = hostPort.lastIndexOf(':');
  return colon >= 0 ? hostPort.slice(0, colon) : hostPort;
}
