import { isDigest, type HistoryEntry } from '@kiln/oci';
import type { Layer } from '@kiln/layer-store';
import type { StepContext } from '../steps/step-context.js';

/** What a cached filesystem step produced: its layer (none when the step changed nothing) and history. */
export interface CachedStep {
  readonly layer?: Layer;
  readonly history: HistoryEntry;
}

/**
 * Looks a step up in the local cache, then in the caches imported with `--cache-from` (whose
 * layer blob is fetched into the store first). A record whose layer blob is gone (pruned, or never
 * finished) is a miss, so a cache hit never yields an image with a missing blob. A hit marks the
 * record as used now.
 */
export async function lookupStep(ctx: StepContext, key: string): Promise<CachedStep | undefined> {
  if (ctx.noCache) return undefined;
  const local = await lookupLocal(ctx, key);
  if (local) return local;
  // An imported record is kept locally once its layer is stored, so the next build needs no import.
  const imported = await ctx.importedCache?.lookup(key, ctx.store, ctx.signal);
  if (imported) await recordStep(ctx, key, imported);
  return imported;
}

async function lookupLocal(ctx: StepContext, key: string): Promise<CachedStep | undefined> {
  const record = await ctx.store.getCacheRecord(key);
  if (!isCachedStep(record)) return undefined;
  if (
    record.layer &&
    (await ctx.store.statBlob(record.layer.descriptor.digest)) !== record.layer.descriptor.size
  ) {
    return undefined;
  }
  // Least-recently-used eviction (`kiln prune --keep-storage/--keep-duration`) reads this.
  await ctx.store.touchCacheRecord(key);
  return record;
}

/** Records a step's result once its layer is in the store (the store writes records atomically). */
export async function recordStep(ctx: StepContext, key: string, step: CachedStep): Promise<void> {
  await ctx.store.putCacheRecord(key, step);
}

/** Narrows untrusted JSON (a record of the local store or of an imported cache) to a step result. */
export function isCachedStep(v: unknown): v is CachedStep {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as {
    layer?: { descriptor?: { mediaType?: unknown; digest?: unknown; size?: unknown }; diffId?: unknown };
    history?: unknown;
  };
  if (typeof r.history !== 'object' || r.history === null) return false;
  if (r.layer === undefined) return true;
  return (
    isDigest(r.layer.diffId) &&
    isDigest(r.layer.descriptor?.digest) &&
    typeof r.layer.descriptor.mediaType === 'string' &&
    typeof r.layer.descriptor?.size === 'number'
  );
}
