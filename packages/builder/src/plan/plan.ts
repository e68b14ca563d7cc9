import { expandWord, ExpansionError, type Dockerfile, type From, type Instruction } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';
import { predefinedArgs } from './predefined-args.js';
import { requireHostPlatform } from './require-host-platform.js';

/** One stage: where it starts (an image, another stage, or scratch) and what it does. */
export interface StagePlan {
  readonly index: number;
  readonly name?: string;
  readonly from: From;
  readonly base:
    | { readonly kind: 'scratch' }
    | { readonly kind: 'image'; readonly ref: string }
    | { readonly kind: 'stage'; readonly index: number };
  readonly instructions: readonly Instruction[];
  /** `FROM --platform=…`, expanded with the global ARGs. */
  readonly platform?: string;
  /** Earlier stages this one needs: its base stage, every `COPY --from=<stage>` and `RUN --mount=type=bind,from=<stage>`. */
  readonly deps: readonly number[];
}

/** The build as data: stages, the target, and the stages it needs in dependency order. */
export interface BuildGraph {
  readonly stages: readonly StagePlan[];
  readonly target: number;
  readonly order: readonly number[];
  /** ARGs declared before the first FROM, with their values (build-arg, else default). */
  readonly globalArgs: ReadonlyMap<string, string | undefined>;
}

export interface PlanOptions {
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly target?: string;
  /** `--platform` values (each may list several, comma-separated): the host's only. */
  readonly platforms?: readonly string[];
}

/** Pure: splits the Dockerfile into stages, resolves FROM references, prunes to the target. */
export function plan(df: Dockerfile, options: PlanOptions): BuildGraph {
  for (const spec of (options.platforms ?? []).flatMap((p) => p.split(',')))
    requireHostPlatform(spec, '--platform');
  // Declared global ARGs override the predefined ones; a build arg overrides both.
  const globalArgs = new Map<string, string | undefined>(predefinedArgs());
  const stages: StagePlan[] = [];
  const names = new Map<string, number>();
  let current: { from: From; instructions: Instruction[] } | undefined;
  const close = (): void => {
    if (!current) return;
    const index = stages.length;
    const base = resolveBase(current.from, names, globalArgs, df);
    const deps = new Set<number>(base.kind === 'stage' ? [base.index] : []);
    for (const ins of current.instructions) {
      const froms =
        (ins.kind === 'copy' || ins.kind === 'add') && ins.from !== undefined
          ? [ins.from]
          : ins.kind === 'run'
            ? ins.mounts.flatMap((m) => (m.type === 'bind' && m.from !== undefined ? [m.from] : []))
            : [];
      for (const from of froms) {
        const dep = stageIndexOf(from, names, index);
        if (dep !== undefined) deps.add(dep);
      }
    }
    const name = current.from.stageName;
    const platform =
      current.from.platform === undefined
        ? undefined
        : expand(current.from.platform, globalArgs, df, current.from);
    stages.push({
      index,
      name,
      from: current.from,
      base,
      ...(platform === undefined ? {} : { platform }),
      instructions: current.instructions,
      deps: [...deps],
    });
    if (current.from.stageName) names.set(current.from.stageName, index);
  };
  for (const ins of df.instructions) {
    if (ins.kind === 'from') {
      close();
      current = { from: ins, instructions: [] };
    } else if (current) {
      current.instructions.push(ins);
    } else if (ins.kind === 'arg') {
      for (const a of ins.args) {
        const dflt = a.defaultValue === undefined ? undefined : expand(a.defaultValue, globalArgs, df, ins);
        globalArgs.set(a.name, options.buildArgs.get(a.name) ?? dflt);
      }
    }
  }
  close();
  const target = options.target === undefined ? stages.length - 1 : names.get(options.target.toLowerCase());
  if (target === undefined || target < 0) {
    throw new BuilderError('UNKNOWN_STAGE', `target stage "${options.target ?? ''}" could not be found`);
  }
  const order = dependencyOrder(stages, target);
  // Only the stages the target needs: BuildKit never looks at the others' platforms either.
  for (const i of order) {
    const { platform, from } = stages[i] as StagePlan;
    if (platform !== undefined)
      requireHostPlatform(platform, `FROM --platform=${from.platform ?? ''}`, {
        file: df.file,
        ...from.range.start,
      });
  }
  return { stages, target, order, globalArgs };
}

function resolveBase(
  from: From,
  names: ReadonlyMap<string, number>,
  globalArgs: ReadonlyMap<string, string | undefined>,
  df: Dockerfile,
): StagePlan['base'] {
  const ref = expand(from.image, globalArgs, df, from);
  if (ref === '') {
    throw new BuilderError('INVALID_INSTRUCTION', `base name (${from.image}) should not be blank`, {
      location: { file: df.file, ...from.range.start },
    });
  }
  if (ref === 'scratch') return { kind: 'scratch' };
  const stage = names.get(ref.toLowerCase());
  return stage === undefined ? { kind: 'image', ref } : { kind: 'stage', index: stage };
}

function expand(
  word: string,
  vars: ReadonlyMap<string, string | undefined>,
  df: Dockerfile,
  ins: Instruction,
): string {
  const defined = new Map([...vars].filter((e): e is [string, string] => e[1] !== undefined));
  try {
    return expandWord(word, defined, df.escape);
  } catch (err) {
    if (!(err instanceof ExpansionError)) throw err;
    throw new BuilderError('INVALID_INSTRUCTION', err.message, {
      location: { file: df.file, ...ins.range.start },
    });
  }
}

/**
 * The stage a `--from` value names: a stage name (case-insensitive) or the index of an earlier
 * stage; undefined when it names an image instead.
 */
export function stageIndexOf(
  ref: string,
  names: ReadonlyMap<string, number>,
  before: number,
): number | undefined {
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    return i < before ? i : undefined;
  }
  return names.get(ref.toLowerCase());
}

/** The stages the target needs, each after the stages it depends on. */
function dependencyOrder(stages: readonly StagePlan[], target: number): number[] {
  const order: number[] = [];
  const visit = (i: number): void => {
    if (order.includes(i)) return;
    const s = stages[i];
    if (!s) return;
    for (const d of s.deps) visit(d);
    order.push(i);
  };
  visit(target);
  return order;
}
