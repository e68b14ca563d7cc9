import type { Mount } from '@kiln/parser';
import type { SshMount } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';

/** What one `RUN --mount=type=ssh` becomes: the runner mount (absent when optional and not given) and its key part. */
export interface PlannedSsh {
  readonly mount?: SshMount;
  readonly keyPart: unknown;
}

/**
 * Plans `RUN --mount=type=ssh` as BuildKit does: `id` defaults to "default", the target to
 * `/run/buildkit/ssh_agent.N` (N counts the RUN's ssh mounts), mode 0600 owned by uid/gid 0.
 * The agent comes from `--ssh ID[=SOCKET]`; a mount whose id was not given is left out, or
 * fails the step when `required`. The key holds the id and where it is mounted, never the
 * host's socket path (it differs between machines and says nothing about the result).
 */
export function planSshMount(
  m: Mount,
  at: {
    readonly index: number;
    readonly target: string | undefined;
    readonly agents: ReadonlyMap<string, string>;
    readonly expand: (w: string | undefined) => string | undefined;
    readonly location: ErrorLocation;
  },
): PlannedSsh {
  const id = at.expand(m.id) ?? 'default';
  const target = at.target ?? `/run/buildkit/ssh_agent.${at.index}`;
  const owner = {
    uid: int(at.expand(m.uid), 10, 'uid', at.location),
    gid: int(at.expand(m.gid), 10, 'gid', at.location),
    mode: int(at.expand(m.mode), 8, 'mode', at.location),
  };
  const keyPart = { type: 'ssh', id, target, ...definedOf(owner) };
  const source = at.agents.get(id);
  if (source === undefined) {
    if (m.required === true)
      throw new BuilderError('INVALID_INSTRUCTION', `ssh agent "${id}" is required but was not provided`, {
        location: at.location,
        hint: id === 'default' ? 'pass --ssh default (uses $SSH_AUTH_SOCK)' : `pass --ssh ${id}=SOCKET`,
      });
    return { keyPart };
  }
  return { mount: { type: 'ssh', source, target, ...definedOf(owner) }, keyPart };
}

function int(
  v: string | undefined,
  radix: number,
  what: string,
  location: ErrorLocation,
): number | undefined {
  if (v === undefined) return undefined;
  const ok = radix === 8 ? /^[0-7]+$/.test(v) : /^\d+$/.test(v);
  if (!ok) throw new BuilderError('INVALID_INSTRUCTION', `invalid ${what} "${v}" in --mount`, { location });
  return parseInt(v, radix);
}

function definedOf(o: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => e[1] !== undefined));
}
