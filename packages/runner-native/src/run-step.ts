import type { Writable } from 'node:stream';
import { helperPath } from './helper-path.js';
import type { Rlimits } from './rlimits.js';
import type { RunMount } from './run-mount.js';
import { requireRoot } from './require-root.js';
import type { Snapshot } from './snapshot.js';
import { startContainer } from './start-container.js';

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
  readonly network: 'host' | 'none';
  /** Mounted in order of depth (parents first); never part of the step's changes. */
  readonly mounts?: readonly RunMount[];
  /** Clamped to the current hard limits (see `rlimitArgs`). */
  readonly rlimits?: Rlimits;
}

/** Where the step's output goes; `runStep` writes to them but never ends them. */
export interface StdioSinks {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

export interface StepResult {
  /** The command's exit code; 128+N when it (or the helper) was killed by signal N. */
  readonly exitCode: number;
  /** The signal that ended the step, when kiln sent one (abort) or the helper itself was killed. */
  readonly signal?: string;
}

const KILL_AFTER_MS = 2000;

/**
 * Runs one command in fresh namespaces on `spec.snapshot` through `kiln-helper run`; stdin is
 * /dev/null. Resolves when the helper has exited and its output is flushed; every process the
 * command started is gone by then (they die with the PID namespace). A non-zero exit is a
 * result, not an error. Abort sends SIGTERM, then SIGKILL after 2 s. Throws `SETUP_FAILED` when
 * the sandbox could not be set up (the command never ran), `SPAWN_FAILED` when the helper could
 * not start, `NOT_ROOT` / `HELPER_MISSING` / `BAD_MOUNT` / `BAD_RLIMIT` before trying.
 */
export async function runStep(spec: RunSpec, io: StdioSinks, signal?: AbortSignal): Promise<StepResult> {
  requireRoot('running a step');
  helperPath();
  signal?.throwIfAborted();
  const container = startContainer(spec, { stdout: io.stdout, stderr: io.stderr });
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    container.kill('SIGTERM');
    killTimer = setTimeout(() => container.kill('SIGKILL'), KILL_AFTER_MS);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await container.exited;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (killTimer !== undefined) clearTimeout(killTimer);
  }
}
