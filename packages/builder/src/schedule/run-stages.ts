import PQueue from 'p-queue';

/**
 * Runs stages on a queue of `jobs` slots. `order` lists each stage after the stages it needs,
 * so by the time a stage awaits a dependency that dependency has been queued before it and
 * holds (or held) a slot: no deadlock even with one slot. Returns each stage's result by index.
 * Settles only once every started stage has settled, also when `signal` aborts.
 */
export async function runStages<T>(
  order: readonly number[],
  deps: (index: number) => readonly number[],
  runOne: (index: number, depResults: ReadonlyMap<number, T>) => Promise<T>,
  options: { readonly jobs: number; readonly signal: AbortSignal },
): Promise<Map<number, T>> {
  const queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
  const promises = new Map<number, Promise<T>>();
  for (const index of order) {
    // Not p-queue's `signal` option: it rejects a running task at once, while its work (a RUN
    // being killed) goes on; the caller must not settle before the work has stopped. Running
    // stages see the signal themselves; queued ones fail as soon as they start.
    const task = queue.add(async () => {
      options.signal.throwIfAborted();
      const results = new Map<number, T>();
      for (const d of deps(index)) {
        const p = promises.get(d);
        if (p) results.set(d, await p);
      }
      return runOne(index, results);
    });
    promises.set(index, task as Promise<T>);
  }
  const settled = await Promise.allSettled(promises.values());
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const out = new Map<number, T>();
  for (const [index, p] of promises) out.set(index, await p);
  return out;
}
