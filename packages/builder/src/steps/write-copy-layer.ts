import type { Digest, FsChange } from '@kiln/oci';
import type { ErrorLocation } from '../builder-error.js';
import { archiveChanges } from '../copy/archive-changes.js';
import { contextCheck } from '../copy/context-check.js';
import { unchangedLinker } from '../copy/link-unchanged.js';
import { copyChanges, type CopyEntry } from '../copy/plan-copy.js';
import type { LayerWriter } from './apply-layer-step.js';
import type { PlannedCopy } from './plan-copy-step.js';
import type { StepContext } from './step-context.js';

/** Where a COPY's layer is written from, besides its plan (see writeCopyLayer). */
export interface CopyLayerSite {
  readonly ctx: StepContext;
  /** The step's explain slot: its layer in the last build lends equal files. */
  readonly slot: string;
  /** When planning began reading the context (ms since the epoch), for the context check. */
  readonly plannedMs: number;
  /** The instruction's place, for a CONTEXT_CHANGED error. */
  readonly location: ErrorLocation;
  /** A scratch directory for the step, made on first use (ADD's archives are read from it). */
  readonly scratch: () => Promise<string>;
}

/**
 * Writes a planned COPY as a layer through `write`, and unpacks it while it is written (the next
 * step needs it as a lower) instead of unpacking its blob afterwards. Files equal to those of the
 * same step's layer in the last build are hardlinked from it (one helper) when the context is
 * proven unchanged while the layer reads it (contextCheck): only the rest is unpacked, from a tar
 * of its own, and nothing unpacked is hashed again (planning digested it). Not with archives: an
 * archive's file may replace a context file of the same path. The staged layer is committed under
 * the layer's diffID, or discarded on failure (or when there were no changes).
 */
export async function writeCopyLayer(
  plan: PlannedCopy,
  write: LayerWriter,
  site: CopyLayerSite,
): Promise<void> {
  const { ctx, slot } = site;
  const { entries, archives } = plan;
  const previous = ctx.explain?.previousLayer(slot);
  const staged = await ctx.snapshotter.stage({
    ...(previous ? { reuse: previous.diffId as Digest } : {}),
    thread: bigLayer(entries),
  });
  try {
    const scratchPath = archives.length > 0 ? await site.scratch() : '';
    const changes = mergeChanges([
      copyChanges(entries),
      ...archives.map((a) =>
        archiveChanges(a, {
          dest: a.dest,
          scratch: scratchPath,
          location: site.location,
          ...(plan.chown ? { owner: { uid: plan.chown.uid, gid: plan.chown.gid } } : {}),
        }),
      ),
    ]);
    const context = archives.length === 0 ? contextCheck({ ...plan, startedMs: site.plannedMs }) : undefined;
    const linker = previous && context ? unchangedLinker(staged, plan, context) : undefined;
    // The check starts once every file is read, while the blob is still being stored.
    let checking: Promise<void> | undefined;
    const startCheck = (): Promise<void> => (checking ??= context?.check(site.location) ?? Promise.resolve());
    const layer = await write(changes, {
      tee: async (tar) => {
        const linked = await linker?.linked;
        await staged.extract(tar, {
          ...(linked ? { thread: bigLayer(entries, linked.size) } : {}),
          ...(context ? { hash: false } : {}),
        });
      },
      ...(linker ? { teeHas: linker.teeHas } : {}),
      ...(context ? { onRead: () => void startCheck().catch(() => undefined) } : {}),
    });
    if (context) {
      await startCheck();
      staged.recordDigests(context.unpacked());
    }
    if (layer) await staged.commit(layer.diffId);
    else await staged.discard();
  } catch (error) {
    await staged.discard();
    throw error;
  }
}

/** Several changesets as one; a later entry for the same path replaces an earlier one (archives over parents). */
async function* mergeChanges(sets: readonly AsyncIterable<FsChange>[]): AsyncIterable<FsChange> {
  const byPath = new Map<string, FsChange>();
  for (const set of sets)
    for await (const c of set) byPath.set(c.kind === 'upsert' ? c.header.path : c.path, c);
  yield* byPath.values();
}

/** Entries or bytes past which a layer is unpacked on a worker thread (it costs ~30 ms to start). */
const THREAD_ENTRIES = 1000;
const THREAD_BYTES = 64 * 1024 * 1024;

/** Whether to unpack on a thread; `linked` files are not in the tar the thread would read. */
function bigLayer(entries: readonly CopyEntry[], linked = 0): boolean {
  if (entries.length - linked >= THREAD_ENTRIES) return true;
  if (linked > 0) return false;
  let bytes = 0;
  for (const e of entries) bytes += e.header.size;
  return bytes >= THREAD_BYTES;
}
