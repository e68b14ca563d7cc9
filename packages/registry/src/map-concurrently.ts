/**
 * Calls `fn` on every item with at most `limit` calls in flight; resolves with the results in
 * input order. The first failure aborts the `signal` passed to the other calls and rejects.
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, controller.signal);
      } catch (err) {
        firstError ??= { error: err };
        controller.abort(err);
        return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
    if (firstError) throw firstError.error;
    return results;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
