import type { LayerFile } from '@kiln/oci';
import type { ReusableFile, StagedLayer } from '@kiln/runner-native';
import type { ContextCheck, PlannedFiles } from './context-check.js';

/** Fewer files than this equal to the last build's are unpacked, not linked (the helper costs ~5 ms). */
const LINK_MIN_FILES = 100;

/** Hardlinks a COPY's unchanged files from the last build's layer (see {@link unchangedLinker}). */
export interface UnchangedLinker {
  /** WriteLayerOptions.teeHas: links the files, resolves to the paths linked. */
  readonly teeHas: (files: readonly LayerFile[]) => Promise<ReadonlySet<string>>;
  /** The paths linked, once teeHas has been called. */
  readonly linked: Promise<ReadonlySet<string>> | undefined;
}

/**
 * For a COPY whose layer in the last build shares most files with this one: links the equal
 * files (same path, bytes, attributes; StagedLayer.linkReused) while the layer is written, so
 * that only the others are unpacked. Undefined when fewer than half the files (or than
 * LINK_MIN_FILES) could be linked. Sound only with `context` (see contextCheck): the snapshot
 * gets the bytes that were digested (linked) or a second read of the file (the tee's own tar),
 * while the layer gets the layer writer's read.
 */
export function unchangedLinker(
  staged: StagedLayer,
  plan: Pick<PlannedFiles, 'entries' | 'bytes'>,
  context: ContextCheck,
): UnchangedLinker | undefined {
  let files = 0;
  for (const e of plan.entries) if (e.header.type === 'file') files++;
  let reusable = 0;
  for (const e of context.sources) {
    const digest = plan.bytes.get(e.header.path);
    if (digest !== undefined && staged.reuses(e.header.path, digest)) reusable++;
  }
  if (reusable < LINK_MIN_FILES || reusable * 2 < files) return undefined;
  let linked: Promise<ReadonlySet<string>> | undefined;
  return {
    teeHas: (layerFiles) => {
      const candidates: ReusableFile[] = [];
      for (const f of layerFiles) {
        const digest = plan.bytes.get(f.path);
        // Field by field, not `{ ...f, digest }`: V8 gave each of those spread copies a hidden class
        // of its own (~300 bytes more per file of a 20,000-file COPY, alive while the files link).
        if (digest !== undefined && staged.reuses(f.path, digest))
          candidates.push({
            path: f.path,
            mode: f.mode,
            uid: f.uid,
            gid: f.gid,
            size: f.size,
            mtime: f.mtime,
            digest,
          });
      }
      linked = staged.linkReused(candidates);
      return linked;
    },
    get linked() {
      return linked;
    },
  };
}
