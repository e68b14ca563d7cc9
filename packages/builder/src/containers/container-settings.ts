import type { ImageConfig } from '@kiln/oci';
import { BuilderError } from '../builder-error.js';

/** A mount asked for with `-v` or `--mount`, before it is resolved to host paths. */
export type MountRequest =
  /** A host path; `create`: make a missing directory (as `-v` does; `--mount` refuses). */
  | {
      readonly type: 'bind';
      readonly source: string;
      readonly target: string;
      readonly readonly: boolean;
      readonly create: boolean;
    }
  /** A volume in the store; without `name` an anonymous one, made for this container. */
  | { readonly type: 'volume'; readonly name?: string; readonly target: string; readonly readonly: boolean }
  | { readonly type: 'tmpfs'; readonly target: string; readonly size?: number };

/** `docker run`'s flags that decide what runs and how (see `kiln run --help`). */
export interface RunOptions {
  /** IMAGE as the user wrote it. */
  readonly image: string;
  /** What follows IMAGE: replaces the image's CMD. */
  readonly command: readonly string[];
  /** `--entrypoint`: replaces the image's ENTRYPOINT and drops its CMD; '' clears it. */
  readonly entrypoint?: string;
  /** `-e`/`--env-file` in order: `K=V` sets, later wins; image Env comes first. */
  readonly env: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly hostname?: string;
  readonly network: 'host' | 'none';
  readonly tty: boolean;
  readonly name?: string;
  readonly autoRemove: boolean;
  readonly mounts: readonly MountRequest[];
  readonly stopSignal?: string;
}

/** What the container runs, decided from the image config and the flags. */
export interface ContainerSettings {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly user: string;
  readonly workingDir: string;
  readonly stopSignal: string;
  /** The image's VOLUMEs no flag mounts something else at: each gets an anonymous volume. */
  readonly volumes: readonly string[];
}

/**
 * Docker's rules, pure: ENTRYPOINT + CMD unless overridden (`--entrypoint` also drops CMD, a
 * COMMAND replaces CMD), image Env then flags (later wins, first position kept), `-u`/`-w`
 * over USER/WORKDIR (default root and /), `--stop-signal` over STOPSIGNAL (default SIGTERM).
 * Throws `INVALID_ARGUMENT` when nothing is left to run or the workdir is relative.
 */
export function containerSettings(
  config: ImageConfig,
  options: RunOptions,
  extraEnv: readonly string[] = [],
): ContainerSettings {
  const c = config.config;
  const entrypoint =
    options.entrypoint === undefined
      ? (c.Entrypoint ?? [])
      : options.entrypoint === ''
        ? []
        : [options.entrypoint];
  const cmd =
    options.command.length > 0 ? options.command : options.entrypoint === undefined ? (c.Cmd ?? []) : [];
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new BuilderError(
      'INVALID_ARGUMENT',
      `no command specified: image "${options.image}" has no ENTRYPOINT or CMD`,
      {
        hint: 'give one after the image name',
      },
    );
  }
  const workingDir = options.workdir ?? (c.WorkingDir || '/');
  if (!workingDir.startsWith('/')) {
    throw new BuilderError('INVALID_ARGUMENT', `the working directory "${workingDir}" is not absolute`);
  }
  const targets = new Set(options.mounts.map((m) => normalizeTarget(m.target)));
  return {
    entrypoint,
    cmd,
    args,
    env: mergeEnv([...(c.Env ?? []), ...extraEnv, ...options.env]),
    user: options.user ?? c.User ?? '',
    workingDir,
    stopSignal: options.stopSignal ?? c.StopSignal ?? 'SIGTERM',
    volumes: Object.keys(c.Volumes ?? {})
      .map(normalizeTarget)
      .filter((v) => !targets.has(v))
      .sort(),
  };
}

/** `K=V` entries, a later one replacing an earlier one with the same key in place. */
export function mergeEnv(entries: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq <= 0) continue;
    byKey.set(e.slice(0, eq), e);
  }
  return [...byKey.values()];
}

export function normalizeTarget(target: string): string {
  const t = target.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  if (!t.startsWith('/'))
    throw new BuilderError('INVALID_ARGUMENT', `mount target "${target}" is not absolute`);
  return t;
}
