import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BuilderError } from '../builder-error.js';

/** One `--ssh` flag: an agent socket to forward, or private key files to load into a private agent. */
export type SshSource =
  | { readonly kind: 'socket'; readonly path: string }
  | { readonly kind: 'keys'; readonly paths: readonly string[] };

/**
 * `--ssh ID[=PATH[,PATH...]]` as `docker buildx build --ssh` takes it: without a path the agent
 * of `$SSH_AUTH_SOCK`; a path that is a Unix socket is an agent, regular files are private keys.
 * Throws `INVALID_ARGUMENT` for a bad id, a missing path or an unset `$SSH_AUTH_SOCK`.
 */
export function parseSsh(specs: readonly string[], env: NodeJS.ProcessEnv): Map<string, SshSource> {
  const out = new Map<string, SshSource>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const id = eq < 0 ? spec : spec.slice(0, eq);
    if (!/^[A-Za-z0-9._-]+$/.test(id))
      throw new BuilderError(
        'INVALID_ARGUMENT',
        `invalid --ssh "${spec}": expected ID[=SOCKET|KEY[,KEY...]]`,
      );
    const paths =
      eq < 0
        ? []
        : spec
            .slice(eq + 1)
            .split(',')
            .filter(Boolean);
    if (paths.length === 0) {
      const sock = env.SSH_AUTH_SOCK;
      if (sock === undefined || sock === '')
        throw new BuilderError('INVALID_ARGUMENT', `--ssh ${id}: SSH_AUTH_SOCK is not set`, {
          hint: `start an agent (eval $(ssh-agent); ssh-add) or pass --ssh ${id}=SOCKET|KEYFILE`,
        });
      paths.push(sock);
    }
    const kinds = paths.map((p) => kindOf(resolve(p), spec));
    if (kinds.length === 1 && kinds[0] === 'socket')
      out.set(id, { kind: 'socket', path: resolve(paths[0] ?? '') });
    else if (kinds.every((k) => k === 'file'))
      out.set(id, { kind: 'keys', paths: paths.map((p) => resolve(p)) });
    else
      throw new BuilderError(
        'INVALID_ARGUMENT',
        `invalid --ssh "${spec}": give one agent socket or key files`,
      );
  }
  return out;
}

function kindOf(path: string, spec: string): 'socket' | 'file' {
  let st;
  try {
    st = statSync(path);
  } catch (cause) {
    throw new BuilderError('INVALID_ARGUMENT', `--ssh "${spec}": ${path} does not exist`, { cause });
  }
  if (st.isSocket()) return 'socket';
  if (st.isFile()) return 'file';
  throw new BuilderError('INVALID_ARGUMENT', `--ssh "${spec}": ${path} is neither a socket nor a key file`);
}
