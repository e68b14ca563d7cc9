import { setTimeout as sleep } from 'node:timers/promises';
import { RegistryError } from './registry-error.js';

export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  readonly attempts?: number;
  /** The first back-off delay; doubled each time (default 250 ms). */
  readonly baseDelayMs?: number;
  readonly signal: AbortSignal;
}

const MAX_DELAY_MS = 30_000;

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or runs out of attempts.
 * Retryable means `RegistryError.retryable` (5xx, 429, reset connections); the wait is the
 * server's Retry-After when given, else exponential back-off with jitter, capped at 30 s.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const attempts = opts.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof RegistryError) || !err.retryable || attempt >= attempts) throw err;
      await waitToRetry(err, attempt, opts);
    }
  }
}

/**
 * Waits before attempt `failures + 1` after `err`: its Retry-After when the server sent one, else
 * exponential back-off with jitter (so concurrent uploads do not retry in lockstep). For callers
 * that drive their own retry loop (resumable uploads and downloads). Rejects with CANCELLED.
 */
export async function waitToRetry(
  err: RegistryError,
  failures: number,
  opts: Omit<RetryOptions, 'attempts'>,
): Promise<void> {
  const backoff = (opts.baseDelayMs ?? 250) * 2 ** (failures - 1) * (0.75 + Math.random() / 2);
  const delay = Math.min(MAX_DELAY_MS, err.retryAfterMs ?? backoff);
  try {
    await sleep(delay, undefined, { signal: opts.signal });
  } catch {
    throw new RegistryError('CANCELLED', 'cancelled while waiting to retry', { cause: err });
  }
}
