/**
 * One mount of a RUN step (BuildKit's `RUN --mount`, already resolved to host paths by the
 * caller). No mount target, nor the mount point created for it, ever shows up in the step's
 * changes. Targets are absolute container paths; a symlink on the way to one is refused.
 */
export type RunMount = BindMount | CacheMount | TmpfsMount | SecretMount | VolumeMount | SshMount;

/** A host file or directory. Read-only unless `readwrite`; writes then go to a throwaway overlay, never to the host. */
export interface BindMount {
  readonly type: 'bind';
  readonly source: string;
  readonly target: string;
  readonly readwrite?: boolean;
}

/**
 * A persistent directory, kept across steps and builds: `source` comes from
 * `Snapshotter.cacheDir(id)`. `shared` (default) lets steps use it at the same time, `locked`
 * makes them wait for each other, `private` gives a concurrent step its own instance.
 * `uid`/`gid`/`mode` (default 0/0/0755) apply when the directory is first created.
 */
export interface CacheMount {
  readonly type: 'cache';
  readonly source: string;
  readonly target: string;
  readonly sharing?: 'shared' | 'private' | 'locked';
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
}

/** An empty tmpfs (mode 1777); `size` in bytes, the kernel's default (half the RAM) when absent. */
export interface TmpfsMount {
  readonly type: 'tmpfs';
  readonly target: string;
  readonly size?: number;
}

/**
 * A host file, copied onto a private tmpfs and bound read-only (nosuid, nodev, noexec) at
 * `target`, default `/run/secrets/<id>`; owner `uid`/`gid` (default 0) and `mode` (default 0400).
 */
export interface SecretMount {
  readonly type: 'secret';
  readonly id: string;
  readonly source: string;
  readonly target?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
}

/**
 * A host file or directory bound as is: unlike `BindMount`, writes reach the host (`docker run
 * -v`, named and anonymous volumes). Read-write unless `readonly`.
 */
export interface VolumeMount {
  readonly type: 'volume';
  readonly source: string;
  readonly target: string;
  readonly readonly?: boolean;
}

/**
 * An ssh agent (`RUN --mount=type=ssh`): `source` is the agent's Unix socket on the host.
 * `runStep` gives the step a socket of its own at `target` that forwards to the agent, with
 * owner `uid`/`gid` (default 0) and `mode` (default 0600); the host's socket path never enters
 * the container. (`startContainer` binds `source` itself, owner and mode as they are.)
 */
export interface SshMount {
  readonly type: 'ssh';
  readonly source: string;
  readonly target: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
}
