import type { LayerFile } from '@kiln/layer-store';
import { statPaths, type ReusableFile, type StagedLayer } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { sameStamp } from '../cache/stat-cache.js';
import type { CopyEntry } from './plan-copy.js';

/** Fewer files than this equal to the last build's are unpacked, not linked (the helper costs ~5 ms). */
const LINK_MIN_FILES = 100;
/** See mayChangeUnseen. */
const FINE_RACY_MS = 20;
const COARSE_RACY_MS = 2000;

/**
 * Whether a file whose ctime is `ctimeMs` could change again without its ctime moving, seen from
 * a read that began at `readMs`. Linux takes ctimes from its coarse clock, which moves one timer
 * tick at a time (10 ms at most: HZ is 100 or more), and file systems that keep nanoseconds show
 * it with sub-millisecond digits: 20 ms covers two ticks. A ctime without them may come from a
 * file system that keeps whole seconds (or hundredths): 2 s.
 */
export function mayChangeUnseen(ctimeMs: number, readMs: number): boolean {
  return ctimeMs >= readMs - (ctimeMs % 1 !== 0 ? FINE_RACY_MS : COARSE_RACY_MS);
}

/** What a COPY's files are, as planned: entries, and the sha256 of each file's bytes by path. */
export interface PlannedFiles {
  readonly entries: readonly CopyEntry[];
  readonly bytes: ReadonlyMap<string, string>;
  /** When planning (statting, digesting) began, ms since the epoch. */
  readonly startedMs: number;
}

/** Hardlinks a COPY's unchanged files from the last build's layer (see {@link unchangedLinker}). */
export interface UnchangedLinker {
  /** WriteLayerOptions.teeHas: links the files, resolves to the paths linked. */
  readonly teeHas: (files: readonly LayerFile[]) => Promise<ReadonlySet<string>>;
  /** The paths linked, once teeHas has been called. */
  readonly linked: Promise<ReadonlySet<string>> | undefined;
  /** After the layer is written: fails the COPY when a context file changed meanwhile. */
  check(location: ErrorLocation): Promise<void>;
  /**
   * Once `check` passed: the sha256 of every context file the COPY wrote (no extended
   * attributes), by path; the unpacked layer holds those bytes (StagedLayer.recordDigests).
   */
  unpacked(): ReadonlyMap<string, string>;
}

/**
 * For a COPY whose layer in the last build shares most files with this one: links the equal
 * files (same path, bytes, attributes; StagedLayer.linkReused) while the layer is written, so
 * that only the others are unpacked. Undefined when fewer than half the files (or than
 * LINK_MIN_FILES) could be linked, or when a context file changed just before planning.
 *
 * Soundness: the snapshot gets the bytes that were digested (linked) or a second read of the
 * file (the tee's own tar), while the layer gets the layer writer's read. `check` stats every
 * context file after the layer is written: unchanged stamps (ctime included) since planning mean
 * all reads saw the same bytes; a changed one fails the build with CONTEXT_CHANGED. A file that
 * changed just before planning could change again without moving its ctime (mayChangeUnseen),
 * hence the refusal.
 */
export function unchangedLinker(staged: StagedLayer, plan: PlannedFiles): UnchangedLinker | undefined {
  const sources: CopyEntry[] = [];
  let files = 0;
  let reusable = 0;
  for (const e of plan.entries) {
    if (e.header.type !== 'file') continue;
    files++;
    if (e.source === undefined) continue;
    if (e.stamp === undefined || mayChangeUnseen(e.stamp.ctimeMs, plan.startedMs)) return undefined;
    sources.push(e);
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
        if (digest !== undefined && staged.reuses(f.path, digest)) candidates.push({ ...f, digest });
      }
      linked = staged.linkReused(candidates);
      return linked;
    },
    get linked() {
      return linked;
    },
    unpacked: () => {
      const out = new Map<string, string>();
      for (const e of sources) {
        const digest = plan.bytes.get(e.header.path);
        if (digest !== undefined && e.header.xattrs === undefined) out.set(e.header.path, digest);
      }
      return out;
    },
    check: async (location) => {
      const now = await statPaths(
        '/',
        sources.map((e) => (e.source as string).slice(1)),
      );
      now.forEach((st, i) => {
        const e = sources[i] as CopyEntry;
        if (typeof st === 'number' || !e.stamp || !sameStamp(e.stamp, st))
          throw new BuilderError('CONTEXT_CHANGED', `${e.source ?? ''} changed while the COPY read it`, {
            location,
            hint: 'build again once the build context stays unchanged',
          });
      });
    },
  };
}
