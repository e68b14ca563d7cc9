import { Agent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { systemCaCertificates } from './system-ca-certificates.js';

let agent: Promise<Agent> | undefined;

/**
 * A keep-alive HTTPS agent that trusts {@link systemCaCertificates}, for plain downloads (ADD of an
 * https URL) rather than registries, which have their per-host trust (`loadRegistryTls`). Made
 * once per process, on first use: the secure context parses the whole CA list (tens of ms), and
 * `node:https` itself is not loaded by a command that never asks for it.
 */
export function systemHttpsAgent(env: NodeJS.ProcessEnv = process.env): Promise<Agent> {
  agent ??= systemCaCertificates(env).then(
    (ca) => new Agent({ keepAlive: true, secureContext: createSecureContext({ ca }) }),
  );
  return agent;
}
