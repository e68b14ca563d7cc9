import { hash } from 'node:crypto';
import { RunnerError, treeStamp, type TreeReads, type TreeStamp } from '@kiln/runner-native';
import type { StepInputs } from '../cache/explain-log.js';
import type { ContextReads } from './context-reads.js';

/**
 * Something read that changed this shortly before the reads began may change again within the
 * same timestamps, which a stamp would not show: such reads are not remembered. Linux stamps
 * files with a clock that advances at least every 10 ms (a jiffy); a file system that keeps
 * whole seconds only (FAT, some network file systems) needs a second and more.
 */
const RACY_MS = 100;
const RACY_COARSE_MS = 2000;
/**
 * A COPY of fewer entries is not remembered: re-reading a few files costs less than the helper
 * process a stamp takes (a spawn is ~1,000 lstat calls' worth, see source-tree.ts).
 */
const MIN_ENTRIES = 500;

/**
 * What a COPY from the build context keeps with its explain-log inputs (under `memo`), so that the
 * next build of the same step can skip reading the context when nothing it read has changed.
 */
export interface CopyMemo {
  /** A digest of everything else the result depends on (see {@link memoBase}). */
  readonly base: string;
  /** What the COPY read of the context, and the stamp of it when the result was computed. */
  readonly reads: TreeReads;
  readonly stamp: string;
  /** The COPY's content digest and its local archives' digests. */
  readonly contents: string;
  readonly archives: readonly unknown[];
}

/** What a recalled memo gives back: the COPY's digests and its per-file digests for explanations. */
export interface RecalledCopy {
  readonly contents: string;
  readonly archives: readonly unknown[];
  readonly files: Readonly<Record<string, string>> | string;
  /** The memo itself, recorded again with this build's inputs. */
  readonly memo: CopyMemo;
}

/** One digest of the parts a COPY's result depends on besides the context's files (JSON values). */
export function memoBase(parts: readonly unknown[]): string {
  return hash('sha256', JSON.stringify(parts));
}

/** Stamps of what the last build's COPYs read, started ahead (see {@link prefetchStamps}). */
export type StampPrefetch = ReadonlyMap<string, Promise<TreeStamp | undefined>>;

/**
 * Starts stamping, for each COPY the last build remembered (`previous`: its steps' inputs), what
 * it read, so that the COPY finds its stamp taken when it gets there: the stamp then shows the
 * context as the build found it at its start, as a context sent at the start of a build would.
 */
export function prefetchStamps(previous: Iterable<StepInputs>, contextDir: string): StampPrefetch {
  const out = new Map<string, Promise<TreeStamp | undefined>>();
  for (const inputs of previous) {
    const memo = parseMemo(inputs.memo);
    if (!memo) continue;
    const key = readsKey(memo.reads);
    if (out.has(key)) continue;
    const stamp = stampOf(contextDir, memo.reads);
    stamp.catch(() => undefined);
    out.set(key, stamp);
  }
  return out;
}

/**
 * The result of the same COPY in the last build (`previous`: its explain-log inputs) when it was
 * computed for `base` and nothing it read below `contextDir` has changed since (equal stamps);
 * undefined otherwise, or when the stamp cannot be taken.
 */
export async function recallCopy(
  previous: StepInputs | undefined,
  base: string,
  contextDir: string,
  prefetched?: StampPrefetch,
): Promise<RecalledCopy | undefined> {
  const memo = parseMemo(previous?.memo);
  const files = previous?.files;
  // The log keeps them beside it and holds a reference (see ExplainLog), passed on as it is.
  if (!memo || memo.base !== base || !files || (typeof files !== 'object' && typeof files !== 'string'))
    return undefined;
  const now = await (prefetched?.get(readsKey(memo.reads)) ?? stampOf(contextDir, memo.reads));
  if (now?.digest !== memo.stamp) return undefined;
  return {
    contents: memo.contents,
    archives: memo.archives,
    files: files as Readonly<Record<string, string>> | string,
    memo,
  };
}

/**
 * A memo of a COPY result computed from `reads`, the reads having started at `startedMs`.
 * Undefined when the reads cannot be stamped (a symlink on the way, no helper) or when something
 * read changed so shortly before that a further change could leave the same stamp: any change
 * after `startedMs` moves a ctime past it, which the stamp's latest time then shows.
 */
export async function rememberCopy(
  reads: ContextReads,
  result: {
    readonly base: string;
    readonly contextDir: string;
    readonly startedMs: number;
    readonly contents: string;
    readonly archives: readonly unknown[];
    /** How many entries the COPY writes. */
    readonly entries: number;
  },
): Promise<CopyMemo | undefined> {
  if (!reads.stampable || result.entries < MIN_ENTRIES) return undefined;
  const what: TreeReads = { stat: reads.stat, walk: reads.walk, prune: reads.prune };
  const stamp = await stampOf(result.contextDir, what);
  if (!stamp || stamp.latestMs >= result.startedMs - (stamp.coarse ? RACY_COARSE_MS : RACY_MS))
    return undefined;
  return {
    base: result.base,
    reads: what,
    stamp: stamp.digest,
    contents: result.contents,
    archives: result.archives,
  };
}

async function stampOf(dir: string, reads: TreeReads): Promise<TreeStamp | undefined> {
  try {
    return await treeStamp(dir, reads);
  } catch (err) {
    // Without the helper, or with a context that cannot be read now, the COPY is computed.
    if (err instanceof RunnerError) return undefined;
    throw err;
  }
}

function readsKey(reads: TreeReads): string {
  return JSON.stringify([reads.stat, reads.walk, reads.prune]);
}

function parseMemo(value: unknown): CopyMemo | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const m = value as Record<string, unknown>;
  const reads = m.reads as Record<string, unknown> | undefined;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (
    typeof m.base !== 'string' ||
    typeof m.stamp !== 'string' ||
    typeof m.contents !== 'string' ||
    !Array.isArray(m.archives) ||
    !reads ||
    !strings(reads.stat) ||
    !strings(reads.walk) ||
    !strings(reads.prune)
  )
    return undefined;
  return {
    base: m.base,
    stamp: m.stamp,
    contents: m.contents,
    archives: m.archives as unknown[],
    reads: { stat: reads.stat, walk: reads.walk, prune: reads.prune },
  };
}
