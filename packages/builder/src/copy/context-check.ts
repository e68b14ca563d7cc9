import { statPaths } from '@kiln/runner-native';
import { BuilderError, type ErrorLocation } from '../builder-error.js';
import { sameStamp } from '../cache/stat-cache.js';
import type { CopyEntry } from './plan-copy.js';

/** Fewer context files than this are hashed again when unpacked: the check's helper costs more. */
const CHECK_MIN_FILES = 100;
/** See mayChangeUnseen. */
const FINE_RACY_MS = 20;
const COARSE_RACY_MS = 2000;

/**
 * Whether a file whose ctime is `ctimeMs` could change again without its ctime moving, seen from
 * a read that began at `readMs`. Linux takes ctimes from its coarse clock, which moves one timer
 * tick at a time (10 ms at most: HZ is 100 or more): 20 ms covers two ticks, for file systems
 * that keep nanoseconds or milliseconds. A ctime in whole hundredths of a second may come from one
 * that keeps whole seconds (or hundredths): 2 s. Not "no sub-millisecond digits": a ctime in ms is
 * a double, and about 1 in 4,000 nanosecond ctimes rounds to a whole millisecond (a context of
 * 20,000 files nearly always holds one); only 1 in 40,000 rounds to a whole hundredth, which then
 * only costs the linker.
 */
export function mayChangeUnseen(ctimeMs: number, readMs: number): boolean {
  return ctimeMs >= readMs - (ctimeMs % 10 !== 0 ? FINE_RACY_MS : COARSE_RACY_MS);
}

/** What a COPY's files are, as planned: entries, and the sha256 of each file's bytes by path. */
export interface PlannedFiles {
  readonly entries: readonly CopyEntry[];
  readonly bytes: ReadonlyMap<string, string>;
  /** When planning (statting, digesting) began, ms since the epoch. */
  readonly startedMs: number;
}

/** Proof that a COPY's context files did not change between planning and writing its layer. */
export interface ContextCheck {
  /** The context files (regular files read from the host), in plan order. */
  readonly sources: readonly CopyEntry[];
  /** After every file was read: fails the COPY (CONTEXT_CHANGED) when one changed since planning. */
  check(location: ErrorLocation): Promise<void>;
  /**
   * Once `check` passed: the sha256 of every context file the COPY wrote (no extended
   * attributes), by path, as planning digested them; every read since saw those bytes.
   */
  unpacked(): ReadonlyMap<string, string>;
}

/**
 * A check of the COPY's context files, or undefined when one has no stamp or changed just
 * before planning (such a file could change again without its ctime moving, mayChangeUnseen), or
 * when there are fewer than CHECK_MIN_FILES.
 * With it, the layer's unpacking may take the files' bytes from planning (a second read, links
 * to the last build's equal files, digests not computed again): `check` stats every context file
 * once the layer's files are read, and unchanged stamps (ctime included) mean every read saw the
 * bytes planning digested.
 */
export function contextCheck(plan: PlannedFiles): ContextCheck | undefined {
  const sources: CopyEntry[] = [];
  for (const e of plan.entries) {
    if (e.header.type !== 'file' || e.source === undefined) continue;
    if (e.stamp === undefined || mayChangeUnseen(e.stamp.ctimeMs, plan.startedMs)) return undefined;
    sources.push(e);
  }
  if (sources.length < CHECK_MIN_FILES) return undefined;
  return {
    sources,
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
