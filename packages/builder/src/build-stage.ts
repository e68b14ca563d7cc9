import { DockerfileError, parseDockerfile, type Dockerfile, type Instruction } from '@kiln/parser';
import { imageState, resolveLocalImage, scratchState } from './base/initial-state.js';
import { BuilderError, type ErrorLocation } from './builder-error.js';
import { stageIndexOf, type BuildGraph } from './plan/plan.js';
import { withDefaultPath, type StageState } from './state/stage-state.js';
import { executeInstruction, isVisibleStep } from './steps/execute-instruction.js';
import type { StepContext } from './steps/step-context.js';

/**
 * Builds one stage: resolves its base (scratch, an earlier stage's result, or an image), runs the
 * base's ONBUILD triggers, then the stage's instructions in order, reporting FROM and every
 * filesystem step as a numbered step.
 */
export async function buildStage(
  graph: BuildGraph,
  df: Dockerfile,
  index: number,
  deps: ReadonlyMap<number, StageState>,
  buildCtx: StepContext,
  newId: () => number,
): Promise<StageState> {
  const stage = graph.stages[index];
  if (!stage) throw new Error(`internal: no stage ${index}`);
  const names = new Map(graph.stages.flatMap((s) => (s.name ? [[s.name, s.index] as const] : [])));
  const fromStage = (ref: string): StageState | undefined => {
    const i = stageIndexOf(ref, names, index);
    return i === undefined ? undefined : deps.get(i);
  };
  const ctx: StepContext = { ...buildCtx, fromStage, stageIndex: index };
  const visible = 1 + stage.instructions.filter(isVisibleStep).length;
  const prefix = stage.name ? `${stage.name} ` : '';
  const label = (n: number): string => `[${prefix}${n}/${visible}]`;
  let state = await baseState({ graph, df, index, deps, ctx, newId, label: label(1) });
  // A trigger has no line in this Dockerfile: its errors point at the FROM that ran it.
  const fromLocation: ErrorLocation = { file: df.file, ...stage.from.range.start };
  const triggers = onbuildTriggers(state, stage.name ?? `stage ${index}`, fromLocation);
  // The child image does not inherit the triggers it ran (as in Docker).
  if (triggers.length > 0)
    state = { ...state, config: { ...state.config, config: { ...state.config.config, OnBuild: null } } };
  const steps: Instruction[] = [...triggers, ...stage.instructions];
  let n = 1;
  for (const ins of steps) {
    if (ctx.signal.aborted) throw new BuilderError('CANCELLED', 'build cancelled');
    const trigger = triggers.includes(ins);
    if (!isVisibleStep(ins)) {
      try {
        state = await executeInstruction(state, ins, ctx, 0);
      } catch (err) {
        throw trigger ? triggerFailure(err, ins, fromLocation) : err;
      }
      continue;
    }
    if (!trigger) n++;
    const id = newId();
    const t0 = Date.now();
    const name = trigger
      ? `[${prefix}ONBUILD] ${firstLine(ins.source)}`
      : `${label(n)} ${firstLine(ins.source)}`;
    ctx.reporter.event({ type: 'step-start', id, name });
    try {
      state = await executeInstruction(state, ins, ctx, id);
    } catch (caught) {
      const err = trigger ? triggerFailure(caught, ins, fromLocation) : caught;
      ctx.reporter.event({
        type: 'step-error',
        id,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    }
    ctx.reporter.event({ type: 'step-done', id, seconds: (Date.now() - t0) / 1000 });
  }
  return state;
}

/** The state a stage starts from, reported as its first step (`[1/N] FROM …`). */
async function baseState(at: {
  readonly graph: BuildGraph;
  readonly df: Dockerfile;
  readonly index: number;
  readonly deps: ReadonlyMap<number, StageState>;
  readonly ctx: StepContext;
  readonly newId: () => number;
  readonly label: string;
}): Promise<StageState> {
  const { graph, df, index, deps, ctx, newId } = at;
  const stage = graph.stages[index];
  if (!stage) throw new Error(`internal: no stage ${index}`);
  const id = newId();
  const started = Date.now();
  ctx.reporter.event({ type: 'step-start', id, name: `${at.label} ${firstLine(stage.from.source)}` });
  let state: StageState;
  if (stage.base.kind === 'scratch') state = withDefaultPath(scratchState());
  else if (stage.base.kind === 'stage') {
    const parent = deps.get(stage.base.index);
    if (!parent) throw new Error(`internal: stage ${stage.base.index} has no result`);
    // The parent's ARGs (with their values) stay in scope, as in BuildKit: `FROM parent` sees them
    // in expansion and in RUN's environment. Its key already chains them in. Its declarations do
    // not carry over into this stage's RUN history texts (BuildKit's start empty in each stage).
    state = { ...parent, cmdSet: false, argNames: [] };
  } else {
    const location = { file: df.file, ...stage.from.range.start };
    state = withDefaultPath(
      imageState(
        await resolveLocalImage(ctx.store, stage.base.ref, location, {
          insecure: ctx.insecureRegistries,
          caFiles: ctx.registryCaFiles,
          signal: ctx.signal,
          pull: ctx.pull,
        }),
      ),
    );
  }
  ctx.reporter.event({ type: 'step-done', id, seconds: (Date.now() - started) / 1000 });
  return { ...state, base: { layers: state.layers.length, history: state.config.history.length } };
}

/**
 * The base's ONBUILD triggers as instructions, parsed again as Docker does. Trigger k gets line k
 * (it keeps its cache-explain slot apart from the other triggers'); a trigger that does not
 * parse is an INVALID_INSTRUCTION at `from`, the FROM line that runs the triggers.
 */
function onbuildTriggers(state: StageState, stage: string, from: ErrorLocation): Instruction[] {
  const triggers = state.config.config.OnBuild ?? [];
  if (triggers.length === 0) return [];
  // The parser needs a FROM first; its line is 0 so trigger k is at line k.
  const text = ['FROM scratch', ...triggers].join('\n');
  let parsed: Dockerfile;
  try {
    parsed = parseDockerfile(text, { file: `ONBUILD(${stage})` });
  } catch (err) {
    if (!(err instanceof DockerfileError)) throw err;
    throw new BuilderError(
      'INVALID_INSTRUCTION',
      `an ONBUILD trigger of the base image is invalid: ${err.message}`,
      {
        location: from,
        cause: err,
        ...(err.hint !== undefined ? { hint: err.hint } : {}),
      },
    );
  }
  return parsed.instructions.slice(1).map((ins) => ({
    ...ins,
    range: {
      start: { ...ins.range.start, line: ins.range.start.line - 1 },
      end: { ...ins.range.end, line: ins.range.end.line - 1 },
    },
  }));
}

/**
 * A failed trigger's error, moved to the FROM line that ran it (its own location is a line of
 * the base image's trigger list, not of this Dockerfile) and naming the trigger; code, hint
 * and the step's output are kept. A cancellation is passed on as it is.
 */
function triggerFailure(err: unknown, trigger: Instruction, from: ErrorLocation): unknown {
  if (!(err instanceof BuilderError) || err.code === 'CANCELLED') return err;
  const where = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}: ` : '';
  const message =
    where !== '' && err.message.startsWith(where) ? err.message.slice(where.length) : err.message;
  return new BuilderError(err.code, `ONBUILD trigger "${firstLine(trigger.source)}" failed: ${message}`, {
    location: from,
    cause: err,
    ...(err.hint !== undefined ? { hint: err.hint } : {}),
    ...(err.detail !== undefined ? { detail: err.detail } : {}),
  });
}

function firstLine(source: string): string {
  const lines = source.split('\n');
  return lines.length > 1 ? `${lines[0]} ...` : source;
}
