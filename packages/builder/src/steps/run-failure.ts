import type { StepLimits, StepResult } from '@kiln/runner-native';

/**
 * Why a RUN step did not succeed, in words a user can act on: a timeout and the OOM killer are
 * named as such (with the limit that was hit) rather than left as a bare signal or exit code.
 */
export function runFailure(
  result: StepResult,
  settings: { readonly timeout?: number; readonly limits?: StepLimits },
): { readonly how: string; readonly hint?: string } {
  if (result.timedOut === true)
    return {
      how: `timed out after ${duration(settings.timeout ?? 0)} (signal: ${result.signal ?? 'SIGKILL'})`,
      hint: 'raise --step-timeout, or make the step faster',
    };
  if (result.oomKilled === true) {
    const limit = settings.limits?.memory;
    return {
      how: `killed: out of memory${limit === undefined ? '' : ` (limit ${bytes(limit)})`}, exit code: ${result.exitCode}`,
      hint: 'raise --memory',
    };
  }
  return { how: result.signal ? `signal: ${result.signal}` : `exit code: ${result.exitCode}` };
}

function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function bytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return `${n} bytes`;
}
