import type { BuildEvent, Reporter } from './reporter.js';

/** One reporter that hands every event to each of `reporters`, in order. */
export function combineReporters(...reporters: readonly Reporter[]): Reporter {
  return {
    event(e: BuildEvent) {
      for (const r of reporters) r.event(e);
    },
  };
}
