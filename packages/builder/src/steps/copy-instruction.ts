import { posix } from 'node:path';
import type { Copy } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';
import { cacheKey } from '../cache/cache-key.js';
import { scratchDir } from '../copy/add-sources.js';
import { ContextReads } from '../copy/context-reads.js';
import { memoBase, recallCopy, rememberCopy, type CopyMemo, type RecalledCopy } from '../copy/copy-memo.js';
import { expansionVars, type StageState } from '../state/stage-state.js';
import { applyLayerStep } from './apply-layer-step.js';
import { expandInStage, locationOf } from './expand-in-stage.js';
import { planCopyStep, URL_RE, type CopyRequest, type PlannedCopy } from './plan-copy-step.js';
import type { StepContext } from './step-context.js';
import { writeCopyLayer } from './write-copy-layer.js';

/**
 * COPY and ADD: files from the build context, another stage or an image, heredocs, and for ADD
 * also URLs (with `--checksum`) and local tar archives extracted by content. The result is one
 * layer written directly, no sandbox needed. A COPY from the context whose reads of it are
 * unchanged since the last build (one stamp, see copy-memo.ts) reuses that build's digests
 * instead of reading the context again; it is planned only if its layer must be made.
 */
export async function copyInstruction(
  state: StageState,
  ins: Copy,
  ctx: StepContext,
  id: number,
): Promise<StageState> {
  const location = locationOf(ins, ctx.file);
  const word = ins.kind.toUpperCase();
  // The parser accepts these; executing them silently without their effect would give wrong images.
  const unsupported = [ins.keepGitDir && '--keep-git-dir'].filter((x): x is string => typeof x === 'string');
  if (unsupported.length > 0)
    throw new BuilderError('UNSUPPORTED', `${word} ${unsupported.join(', ')} not supported yet`, {
      location,
    });
  const vars = expansionVars(state);
  const at = { ins, file: ctx.file, escape: ctx.escape };
  const sources = ins.sources.map((s) => expandInStage(s, vars, at));
  const destWord = expandInStage(ins.dest, vars, at);
  const dest = posix.resolve(state.config.config.WorkingDir || '/', destWord);
  const checksum = ins.checksum === undefined ? undefined : expandInStage(ins.checksum, vars, at);
  if (
    checksum !== undefined &&
    (!/^sha256:[0-9a-f]{64}$/.test(checksum) || !sources.every((s) => URL_RE.test(s)))
  ) {
    throw new BuilderError(
      'INVALID_INSTRUCTION',
      '--checksum takes sha256:<64 hex> and applies to URL sources only',
      { location },
    );
  }
  const req: CopyRequest = {
    ins,
    word,
    location,
    vars,
    sources,
    destWord,
    dest,
    ...(checksum === undefined ? {} : { checksum }),
    ...(ins.from === undefined ? {} : { from: expandInStage(ins.from, vars, at) }),
    ...(ins.chown === undefined ? {} : { chown: expandInStage(ins.chown, vars, at) }),
    ...(ins.chmod === undefined ? {} : { chmod: expandInStage(ins.chmod, vars, at) }),
  };
  const slot = `${ctx.stageIndex ?? 0}:${ins.range.start.line}`;
  // Only context sources are remembered: a stage's files are read through its layers, URLs
  // are downloaded, heredocs read nothing.
  const memoable =
    ctx.explain !== undefined &&
    req.from === undefined &&
    ins.heredocs.length === 0 &&
    !sources.some((s) => URL_RE.test(s));

  let scratch: Promise<{ path: string; remove: () => Promise<void> }> | undefined;
  const io = { scratch: async () => (await (scratch ??= scratchDir(ctx.store.root))).path };
  try {
    const base = memoable
      ? memoBase([state.key, ins, [...vars], dest, ctx.contextDir, ctx.contextFilter.id])
      : undefined;
    const recalled = base
      ? await recallCopy(ctx.explain?.previousInputs(slot), base, ctx.contextDir, ctx.stamps)
      : undefined;
    let planned: PlannedCopy | undefined;
    let plannedMs = Date.now();
    // Stamped while the layer is written (it only reads the context again), recorded after.
    let remembering: Promise<CopyMemo | undefined> | undefined;
    let digests: Pick<RecalledCopy, 'contents' | 'archives' | 'files'>;
    if (recalled) digests = recalled;
    else {
      const startedMs = plannedMs;
      const reads = base ? new ContextReads() : undefined;
      planned = await planCopyStep(state, req, ctx, { ...io, ...(reads ? { reads } : {}) });
      if (reads && base) {
        remembering = rememberCopy(reads, {
          base,
          contextDir: ctx.contextDir,
          startedMs,
          contents: planned.contents,
          archives: planned.archiveDigests,
          entries: planned.entries.length,
        });
        remembering.catch(() => undefined);
      }
      digests = { contents: planned.contents, archives: planned.archiveDigests, files: planned.files };
    }
    const { contents, archives: archiveDigests, files } = digests;
    const source = planned?.source;
    // As BuildKit writes it: --parents, --chown and --chmod (expanded), no --from; the source
    // stage or image is part of the key below.
    const flags = [
      ...(ins.parents ? ['--parents'] : []),
      ...(req.chown === undefined ? [] : [`--chown=${req.chown}`]),
      ...(req.chmod === undefined ? [] : [`--chmod=${req.chmod}`]),
    ];
    const words = [word, ...flags, ...sources, ...ins.heredocs.map((h) => `<<${h.name}`), destWord];
    const createdBy = `${words.join(' ')} # buildkit`;
    const key = cacheKey(state.key, {
      step: word,
      createdBy,
      contents,
      archives: archiveDigests,
      source: source?.key ?? 'context',
    });
    const done = await applyLayerStep(state, ctx, {
      id,
      key,
      createdBy,
      ...(recalled ? { contextUnchanged: true } : {}),
      explain: {
        slot,
        inputs: {
          parent: state.key,
          instruction: createdBy,
          source: source?.label ?? 'context',
          archives: archiveDigests,
          files,
          ...(recalled ? { memo: recalled.memo } : {}),
        },
      },
      produce: async (write) => {
        // Recalled digests stand for the context as it is; its layer is listed only now.
        if (!planned) plannedMs = Date.now();
        const plan = planned ?? (await planCopyStep(state, req, ctx, io));
        await writeCopyLayer(plan, write, { ctx, slot, plannedMs, location, scratch: io.scratch });
      },
    });
    const memo = await remembering;
    if (memo) ctx.explain?.amend(slot, { memo });
    return done;
  } finally {
    if (scratch) await (await scratch).remove();
  }
}
