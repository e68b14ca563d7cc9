import type { Readable } from 'node:stream';
import type { Layer } from '@kiln/layer-store';
import type { Digest, FsChange, LayerFile } from '@kiln/oci';
import { cacheKey } from '../cache/cache-key.js';
import { lookupStep, recordStep, type CachedStep } from '../cache/step-cache.js';
import type { StageState } from '../state/stage-state.js';
import type { StepInputs } from '../cache/explain-log.js';
import type { BuildEvent } from '../progress/reporter.js';
import type { StepContext } from './step-context.js';

/** Writes a step's changes as a layer (see LayerStep.produce). */
export type LayerWriter = (
  changes: AsyncIterable<FsChange>,
  opts?: {
    readonly tee?: (tar: Readable) => Promise<void>;
    readonly teeHas?: (files: readonly LayerFile[]) => Promise<ReadonlySet<string>>;
    readonly onRead?: () => void;
  },
) => Promise<Layer | undefined>;

/** A step that adds a layer: its progress id, cache key, history text, and how to make its changes. */
export interface LayerStep {
  readonly id: number;
  readonly key: string;
  readonly createdBy: string;
  /**
   * Produces the changes and hands them to `write` while its resources (a snapshot) are alive.
   * `write` resolves to the stored layer (undefined when there were no changes); `tee` also gets
   * the layer's uncompressed tar as it is written, or with `teeHas` a tar of the files it does
   * not have (see WriteLayerOptions).
   */
  readonly produce: (write: LayerWriter) => Promise<void>;
  /** A COPY that recognised its context unchanged without reading it (reported when cached). */
  readonly contextUnchanged?: boolean;
  /** What went into `key`, by field, and where the step is (`<stage>:<line>`), to explain misses. */
  readonly explain?: { readonly slot: string; readonly inputs: StepInputs };
}

/**
 * The common frame of steps that add a layer (RUN, COPY): reuse a cached result for `key`, or
 * compute the changes, write them as a layer (none if there are no changes), record the cache
 * entry, and return the stage with the layer and a history entry appended.
 */
export async function applyLayerStep(
  state: StageState,
  ctx: StepContext,
  given: LayerStep,
): Promise<StageState> {
  // Layers are written with mtimes clamped to SOURCE_DATE_EPOCH: a step's layer made without it,
  // or with another epoch, is another result.
  const step =
    ctx.sourceDateEpoch === undefined
      ? given
      : { ...given, key: cacheKey(given.key, { sourceDateEpoch: ctx.sourceDateEpoch }) };
  const cached = await lookupStep(ctx, step.key);
  const why = step.explain ? ctx.explain?.record(step.explain.slot, step.explain.inputs) : undefined;
  if (!cached && why?.previous) {
    // Computed when a reporter reads it: comparing a big COPY's file lists with the last build's
    // costs tens of milliseconds on the build's critical path, and `--quiet` shows nothing.
    let reasons: readonly string[] | undefined;
    const explain = (): readonly string[] => {
      const found = why.reasons();
      return found.length > 0 ? found : ['the cache entry is gone (pruned or --no-cache)'];
    };
    ctx.reporter.event({
      type: 'step-explain',
      id: step.id,
      get reasons() {
        return (reasons ??= explain());
      },
    });
  }
  const done = (result: CachedStep): StageState => {
    if (step.explain && result.layer)
      ctx.explain?.recordLayer(step.explain.slot, {
        diffId: result.layer.diffId,
        blob: result.layer.descriptor.digest,
      });
    return appendStep(state, step.key, result, ctx);
  };
  if (cached) {
    ctx.reporter.event(cachedEvent(step));
    return done(cached);
  }
  // Identical steps in stages running at the same time are computed once.
  const running = ctx.inflight.get(step.key);
  if (running) {
    const result = await running;
    ctx.reporter.event(cachedEvent(step));
    return done(result);
  }
  const computing = computeStep(ctx, step);
  ctx.inflight.set(step.key, computing);
  try {
    return done(await computing);
  } finally {
    ctx.inflight.delete(step.key);
  }
}

async function computeStep(ctx: StepContext, step: LayerStep): Promise<CachedStep> {
  // The same step's layer in the last build lends its unchanged compressed blocks.
  const previous = step.explain ? ctx.explain?.previousLayer(step.explain.slot) : undefined;
  let result: CachedStep | undefined;
  let recorded: Promise<void> | undefined;
  await step.produce(async (changes, opts) => {
    const nonEmpty = await peek(changes);
    const history = { created: ctx.created, created_by: step.createdBy, comment: 'buildkit.dockerfile.v0' };
    const made: CachedStep = nonEmpty
      ? await ctx.store
          .writeLayer(nonEmpty, {
            sourceDateEpoch: ctx.sourceDateEpoch,
            ...(opts?.tee ? { tee: opts.tee } : {}),
            ...(opts?.teeHas ? { teeHas: opts.teeHas } : {}),
            ...(opts?.onRead ? { onRead: opts.onRead } : {}),
            ...(previous ? { reuse: previous.blob as Digest } : {}),
          })
          .then((layer) => ({ layer: { descriptor: layer.descriptor, diffId: layer.diffId }, history }))
      : { history: { ...history, empty_layer: true } };
    result = made;
    // The layer is stored by now: record the step while `produce` releases what it holds (a RUN's
    // snapshot), instead of after; both are file-system round trips on every step. Awaited below;
    // the catch only keeps a failure from being unhandled when `produce` itself fails first.
    recorded = recordStep(ctx, step.key, made);
    recorded.catch(() => undefined);
    return made.layer;
  });
  if (!result || !recorded) throw new Error('internal: layer step produced no result');
  await recorded;
  return result;
}

function cachedEvent(step: LayerStep): BuildEvent {
  return step.contextUnchanged
    ? { type: 'step-cached', id: step.id, contextUnchanged: true }
    : { type: 'step-cached', id: step.id };
}

function appendStep(state: StageState, key: string, step: CachedStep, ctx: StepContext): StageState {
  ctx.builtSteps?.set(key, step);
  const layers = step.layer ? [...state.layers, step.layer] : state.layers;
  return {
    ...state,
    key,
    layers,
    steps: [...(state.steps ?? []), key],
    config: {
      ...state.config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: [...state.config.history, step.history],
    },
  };
}

/** Undefined when the iterable is empty; otherwise an iterable that yields every item, the first included. */
async function peek<T>(items: AsyncIterable<T>): Promise<AsyncIterable<T> | undefined> {
  const it = items[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return undefined;
  return {
    async *[Symbol.asyncIterator]() {
      yield first.value;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    },
  };
}
