import type { BuildEvent, Reporter } from '../progress/reporter.js';

/** The hook bin/run-bundle.cjs puts on `process` (see there). */
const NOTE = Symbol.for('kiln.codeCache.note');

/**
 * Tells the launcher's V8 code cache (bin/run-bundle.cjs) that this run did `what` besides its
 * command: the cache holds bytecode only for functions that ran, and is grown when a run covers
 * something it does not. A no-op without the launcher (dist/ run directly, the library).
 */
export function noteCodeCacheUse(what: string): void {
  const note = (process as unknown as Record<symbol, unknown>)[NOTE];
  if (typeof note === 'function') (note as (what: string) => void)(what);
}

/** A step name whose instruction writes a layer (build-stage.ts: `[n/m] RUN …`). */
const LAYER_STEP = /\]\s+(RUN|COPY|ADD)\b/i;

/**
 * A reporter that notes `layers` (noteCodeCacheUse) once a RUN, COPY or ADD step finishes without
 * coming from the cache: a build that wrote a layer ran the layer writer, the unpacking and the
 * image writing, which a fully cached build does not.
 */
export function layerStepNoter(): Reporter {
  const layerSteps = new Set<number>();
  const cached = new Set<number>();
  let noted = false;
  return {
    event(e: BuildEvent) {
      if (noted) return;
      if (e.type === 'step-start' && LAYER_STEP.test(e.name)) layerSteps.add(e.id);
      else if (e.type === 'step-cached') cached.add(e.id);
      else if (e.type === 'step-done' && layerSteps.has(e.id) && !cached.has(e.id)) {
        noted = true;
        noteCodeCacheUse('layers');
      }
    },
  };
}
