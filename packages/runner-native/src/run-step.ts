import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { helperPath } from './helper-path.js';
import { mountArgs } from './mount-args.js';
import { rlimitArgs, type Rlimits } from './rlimits.js';
import type { RunMount } from './run-mount.js';
import { requireRoot } from './require-root.js';
import { RunnerError } from './runner-error.js';
import type { Snapshot } from './snapshot.js';

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
  const helper = helperPath();
  signal?.throwIfAborted();
  const args = helperArgs(spec);
  const child = spawn(helper, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: {} });
  child.stdout?.pipe(io.stdout, { end: false });
  child.stderr?.pipe(io.stderr, { end: false });
  const status = collect(child.stdio[3] as Readable | null);

  let sent: NodeJS.Signals | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    sent = 'SIGTERM';
    child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      sent = 'SIGKILL';
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [code, killedBy] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', (error) =>
        reject(
          new RunnerError('SPAWN_FAILED', `cannot start ${helper}: ${error.message}`, undefined, {
            cause: error,
          }),
        ),
      );
      child.once('close', (c, s) => resolve([c, s]));
    });
    const report = await status;
    if (!report.startsWith('ready') && sent === undefined) {
      const message =
        report.replace(/^error: /, '').trim() || `helper exited with ${code ?? killedBy ?? '?'}`;
      throw new RunnerError('SETUP_FAILED', `cannot set up the step sandbox: ${message}`);
    }
    const endedBy = killedBy ?? sent;
    const exitCode = code ?? 128 + (constants.signals[killedBy ?? 'SIGKILL'] ?? 9);
    return endedBy !== undefined && endedBy !== null ? { exitCode, signal: endedBy } : { exitCode };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (killTimer !== undefined) clearTimeout(killTimer);
  }
}

function helperArgs(spec: RunSpec): string[] {
  const s = spec.snapshot;
  const args = ['run'];
  if (s.kind === 'copy') args.push('--rootfs', s.rootfsDir);
  else {
    for (const lower of s.lowerDirs) args.push('--lower', lower);
    args.push('--upper', s.upperDir);
  }
  args.push('--work', s.workDir, '--cwd', spec.cwd, '--network', spec.network);
  args.push(...mountArgs(spec.mounts ?? []), ...rlimitArgs(spec.rlimits ?? {}));
  if (spec.user !== undefined && spec.user !== '') args.push('--user', spec.user);
  if (spec.hostname !== undefined) args.push('--hostname', spec.hostname);
  for (const e of spec.env) args.push('--env', e);
  args.push('--', ...spec.args);
  return args;
}

/** The status channel (fd 3) as text; at most a few lines. */
async function collect(stream: Readable | null): Promise<string> {
  if (stream === null) return '';
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}
