import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { helperPath } from './helper-path.js';
import { mountArgs } from './mount-args.js';
import { requireRoot } from './require-root.js';
import { rlimitArgs } from './rlimits.js';
import { limitArgs } from './step-limits.js';
import { RunnerError } from './runner-error.js';
import { helperExit } from './helper-exit.js';
import type { RunSpec, StepResult } from './run-step.js';

/** A `RunSpec` for a long-lived, possibly interactive container (`kiln run`). */
export interface ContainerSpec extends RunSpec {
  /**
   * Gives the command a pseudo-terminal (its stdin, stdout and stderr) of the container's own
   * devpts, relayed to `stdin`/`stdout`; the terminal's size is copied from `stdin` (else
   * `stdout`) when that is a terminal, again on every `kill('SIGWINCH')`.
   */
  readonly tty?: boolean;
  /**
   * Mounts `/etc/hosts` and `/etc/resolv.conf` read-only, as BuildKit does for build steps (a
   * `docker run` container may edit them, so `kiln run` leaves them writable).
   */
  readonly readOnlyNetworkFiles?: boolean;
}

/**
 * Where the container's stdio goes: a file descriptor the helper inherits as is (a terminal, so
 * that `tty` can read its size), or a stream. Streams are written to but never ended.
 */
export interface ContainerStdio {
  /** Absent: /dev/null. A stream is piped in; its end is the command's EOF (without `tty`). */
  readonly stdin?: number | Readable;
  readonly stdout: number | Writable;
  /** Unused by the command with `tty` (its stderr is the terminal); the helper's own messages still go here. */
  readonly stderr: number | Writable;
}

/** A started container. */
export interface ContainerProcess {
  /**
   * Sends `signal` to the helper: SIGTERM, SIGINT, SIGHUP and SIGQUIT are forwarded to the
   * command (through the container's init), SIGWINCH re-reads the terminal size (with `tty`),
   * SIGKILL ends the whole container at once.
   */
  kill(signal: NodeJS.Signals): void;
  /**
   * Settles like `runStep`: the exit code (128+N for signal N) once the helper has exited and
   * its output is flushed, `signal` when one sent through `kill` (other than SIGWINCH) or an
   * outside SIGKILL ended it; rejects with `SETUP_FAILED` or `SPAWN_FAILED`.
   */
  readonly exited: Promise<StepResult>;
}

/**
 * Starts `spec` through `kiln-helper run` and returns at once. Every process of the container
 * dies with the helper, and the helper dies with this process (even on SIGKILL). Throws
 * `NOT_ROOT` / `HELPER_MISSING` / `BAD_MOUNT` / `BAD_RLIMIT` / `BAD_LIMIT` before starting anything.
 */
export function startContainer(spec: ContainerSpec, stdio: ContainerStdio): ContainerProcess {
  requireRoot('running a container');
  const helper = helperPath();
  const args = helperArgs(spec);
  const fdOf = (s: number | Readable | Writable | undefined): 'ignore' | 'pipe' | number =>
    s === undefined ? 'ignore' : typeof s === 'number' ? s : 'pipe';
  const options: StdioOptions = [fdOf(stdio.stdin), fdOf(stdio.stdout), fdOf(stdio.stderr), 'pipe'];
  const child = spawn(helper, args, { stdio: options, env: {} });
  if (typeof stdio.stdout !== 'number') child.stdout?.pipe(stdio.stdout, { end: false });
  if (typeof stdio.stderr !== 'number') child.stderr?.pipe(stdio.stderr, { end: false });
  const input = typeof stdio.stdin === 'object' ? stdio.stdin : undefined;
  if (input !== undefined && child.stdin !== null) {
    // The command may exit without reading everything: EPIPE is not an error of the container.
    child.stdin.on('error', () => undefined);
    input.pipe(child.stdin);
  }
  const status = collect(child.stdio[3] as Readable | null);

  let sent: NodeJS.Signals | undefined;
  const exited = (async (): Promise<StepResult> => {
    try {
      const [code, killedBy] = await helperExit(child, helper);
      const report = await status;
      if (!report.startsWith('ready') && sent === undefined) {
        const message =
          report.replace(/^error: /, '').trim() || `helper exited with ${code ?? killedBy ?? '?'}`;
        throw new RunnerError('SETUP_FAILED', `cannot set up the step sandbox: ${message}`);
      }
      const endedBy = killedBy ?? sent;
      const exitCode = code ?? 128 + (constants.signals[killedBy ?? 'SIGKILL'] ?? 9);
      const oom = report.split('\n').includes('oom-kill') ? { oomKilled: true } : {};
      return endedBy !== undefined && endedBy !== null
        ? { exitCode, signal: endedBy, ...oom }
        : { exitCode, ...oom };
    } finally {
      if (input !== undefined && child.stdin !== null) input.unpipe(child.stdin);
    }
  })();
  return {
    kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (signal !== 'SIGWINCH') sent = signal;
      child.kill(signal);
    },
    exited,
  };
}

/** The helper's argv for `spec` (see kiln-helper.c). */
export function helperArgs(spec: ContainerSpec): string[] {
  const s = spec.snapshot;
  const args = ['run'];
  if (s.kind === 'copy') args.push('--rootfs', s.rootfsDir);
  else {
    for (const lower of s.lowerDirs) args.push('--lower', lower);
    args.push('--upper', s.upperDir);
  }
  args.push('--work', s.workDir, '--cwd', spec.cwd, '--network', spec.network);
  args.push(
    ...mountArgs(spec.mounts ?? []),
    ...rlimitArgs(spec.rlimits ?? {}),
    ...limitArgs(spec.limits ?? {}),
  );
  if (spec.user !== undefined && spec.user !== '') args.push('--user', spec.user);
  if (spec.hostname !== undefined) args.push('--hostname', spec.hostname);
  for (const { host, ip } of spec.extraHosts ?? []) args.push('--add-host', host, ip);
  if (spec.tty === true) args.push('--tty');
  if (spec.readOnlyNetworkFiles === true) args.push('--ro-network-files');
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
