import type { Writable } from 'node:stream';
import { helperPath } from './helper-path.js';
import type { Rlimits } from './rlimits.js';
import type { RunMount } from './run-mount.js';
import { requireRoot } from './require-root.js';
import { RunnerError } from './runner-error.js';
import type { Snapshot } from './snapshot.js';
import { startSshAgentProxy, type SshAgentProxy } from './ssh-agent-proxy.js';
import { startContainer, type ContainerProcess } from './start-container.js';
import type { StepLimits } from './step-limits.js';

/** A line of a step's /etc/hosts besides the defaults (`--add-host`): neither part has blanks. */
export interface ExtraHost {
  readonly host: string;
  readonly ip: string;
}

export interface RunSpec {
  readonly snapshot: Snapshot;
  /** argv, already resolved (e.g. ['/bin/sh', '-c', 'echo hi']); argv[0] is searched in the step's PATH. */
  readonly args: readonly string[];
  /** The whole environment, 'K=V'. PATH and HOME get Docker's defaults when absent. */
  readonly env: readonly string[];
  /** Absolute path in the container; created (as root, mode 0755) when missing. */
  readonly cwd: string;
  /** 'name', 'uid', 'name:group' or 'uid:gid', resolved in the rootfs's /etc/passwd and /etc/group; default root. */
  readonly user?: string;
  /** Default "kiln". */
  readonly hostname?: string;
  /** Lines added to the step's /etc/hosts (`--add-host`). */
  readonly extraHosts?: readonly ExtraHost[];
  readonly network: 'host' | 'none';
  /** Mounted in order of depth (parents first); never part of the step's changes. */
  readonly mounts?: readonly RunMount[];
  /** Clamped to the current hard limits (see `rlimitArgs`). */
  readonly rlimits?: Rlimits;
  /** cgroup limits; a requested controller the host cannot provide fails the step (`SETUP_FAILED`). */
  readonly limits?: StepLimits;
  /** Milliseconds the command may run; then it is stopped as on abort and the result says `timedOut`. */
  readonly timeout?: number;
}

/** Where the step's output goes; `runStep` writes to them but never ends them. */
export interface StdioSinks {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

export interface StepResult {
  /** The command's exit code; 128+N when it (or the helper) was killed by signal N. */
  readonly exitCode: number;
  /** The signal that ended the step, when kiln sent one (abort, timeout) or the helper itself was killed. */
  readonly signal?: string;
  /** The kernel's OOM killer killed a process of the step (its memory limit was reached). */
  readonly oomKilled?: boolean;
  /** `spec.timeout` ran out and kiln stopped the step. */
  readonly timedOut?: boolean;
}

const KILL_AFTER_MS = 2000;

/**
 * Runs one command in fresh namespaces on `spec.snapshot` through `kiln-helper run`; stdin is
 * /dev/null; /etc/hosts and /etc/resolv.conf are read-only, as in BuildKit's steps. Resolves when the helper has exited and its output is flushed; every process the
 * command started is gone by then (they die with the PID namespace). A non-zero exit is a
 * result, not an error. Abort and timeout send SIGTERM, then SIGKILL after 2 s. Each ssh mount
 * gets its own forwarding socket for the step's lifetime (see `SshMount`). Throws `SETUP_FAILED`
 * when the sandbox could not be set up (the command never ran), `SPAWN_FAILED` when the helper
 * could not start, `NOT_ROOT` / `HELPER_MISSING` / `BAD_MOUNT` / `BAD_RLIMIT` / `BAD_LIMIT`
 * before trying.
 */
export async function runStep(spec: RunSpec, io: StdioSinks, signal?: AbortSignal): Promise<StepResult> {
  requireRoot('running a step');
  helperPath();
  signal?.throwIfAborted();
  if (spec.timeout !== undefined && !(Number.isFinite(spec.timeout) && spec.timeout > 0))
    throw new RunnerError('BAD_LIMIT', `step timeout ${spec.timeout} ms is not a positive duration`);
  const proxies: SshAgentProxy[] = [];
  try {
    const mounts: RunMount[] = [];
    for (const m of spec.mounts ?? []) {
      if (m.type !== 'ssh') {
        mounts.push(m);
        continue;
      }
      const owner = { uid: m.uid ?? 0, gid: m.gid ?? 0, mode: m.mode ?? 0o600 };
      const proxy = await startSshAgentProxy(m.source, owner);
      proxies.push(proxy);
      mounts.push({ type: 'ssh', source: proxy.path, target: m.target });
    }
    signal?.throwIfAborted();
    return await supervise(
      startContainer({ ...spec, mounts, readOnlyNetworkFiles: true }, io),
      spec.timeout,
      signal,
    );
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
  }
}

/** Waits for the container, stopping it on abort or when `timeout` (ms) runs out. */
async function supervise(
  container: ContainerProcess,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
): Promise<StepResult> {
  let killTimer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const stop = (): void => {
    if (killTimer !== undefined) return;
    container.kill('SIGTERM');
    killTimer = setTimeout(() => container.kill('SIGKILL'), KILL_AFTER_MS);
  };
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop();
        }, timeout);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const result = await container.exited;
    return timedOut ? { ...result, timedOut } : result;
  } finally {
    signal?.removeEventListener('abort', stop);
    if (timer !== undefined) clearTimeout(timer);
    if (killTimer !== undefined) clearTimeout(killTimer);
  }
}
