import { RunnerError } from './runner-error.js';

/**
 * Per-step cgroup limits (Docker's `--memory`, `--pids-limit`, `--cpus`). Each one asked for
 * needs its cgroup controller (v1 or v2, see `probeLimits`): when it is not usable the step
 * fails with `SETUP_FAILED` rather than run without the limit.
 */
export interface StepLimits {
  /** Bytes of memory for every process of the step together, without swap on top. */
  readonly memory?: number;
  /** Processes (and threads) the step may have at once; kiln's init in the namespace is not counted. */
  readonly pids?: number;
  /** CPU time per wall-clock time, e.g. 1.5 for one and a half cores (resolution 0.001). */
  readonly cpus?: number;
}

/** The helper's `--limit NAME VALUE` arguments. Throws `BAD_LIMIT` for a value that is not positive. */
export function limitArgs(limits: StepLimits): string[] {
  const args: string[] = [];
  if (limits.memory !== undefined) args.push('--limit', 'memory', String(count('memory', limits.memory)));
  if (limits.pids !== undefined) args.push('--limit', 'pids', String(count('pids', limits.pids)));
  if (limits.cpus !== undefined) {
    if (!Number.isFinite(limits.cpus) || limits.cpus < 0.001)
      throw new RunnerError('BAD_LIMIT', `cpus limit ${limits.cpus} is not a positive number of cores`);
    args.push('--limit', 'cpu', String(Math.round(limits.cpus * 1000)));
  }
  return args;
}

function count(what: string, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new RunnerError('BAD_LIMIT', `${what} limit ${n} is not a positive whole number`);
  return n;
}
