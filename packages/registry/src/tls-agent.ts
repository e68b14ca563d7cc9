import { Agent } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { RegistryTls } from './load-registry-tls.js';

const agents = new WeakMap<RegistryTls, Agent>();

/**
 * The keep-alive HTTPS agent for one trust setting, made once per {@link RegistryTls} object so
 * connections are reused across requests (a per-request `ca` would defeat the global pool). The
 * secure context is built once here too: given `ca` instead, every new connection would parse
 * the whole CA list again (~40 ms for the system bundle on this class of machine).
 */
export function tlsAgent(tls: RegistryTls): Agent {
  let agent = agents.get(tls);
  if (!agent) {
    agent = new Agent({
      keepAlive: true,
      secureContext: createSecureContext({ ca: [...tls.ca], cert: tls.cert, key: tls.key }),
      rejectUnauthorized: tls.verify,
    });
    agents.set(tls, agent);
  }
  return agent;
}
