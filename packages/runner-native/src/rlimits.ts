import { RunnerError } from './runner-error.js';

/** The limits `--ulimit` and the helper's `--rlimit` name (setrlimit's, without RLIMIT_). */
export const RLIMIT_NAMES = [
  'as',
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
] as const;

export type RlimitName = (typeof RLIMIT_NAMES)[number];

/** A limit as `ulimit` takes it; `Infinity` is unlimited. `hard` defaults to `soft`. */
export interface Rlimit {
  readonly soft: number;
  readonly hard?: number;
}

/** Per-step resource limits (Docker's `--ulimit`). */
export type Rlimits = Readonly<Partial<Record<RlimitName, Rlimit>>>;

/**
 * The helper's `--rlimit NAME SOFT HARD` arguments, sorted by name. The helper never raises a
 * limit above the current hard limit (that needs CAP_SYS_RESOURCE): larger values are clamped.
 */
export function rlimitArgs(rlimits: Rlimits): string[] {
  const args: string[] = [];
  for (const name of Object.keys(rlimits).sort() as RlimitName[]) {
    const limit = rlimits[name];
    if (limit === undefined) continue;
    const hard = limit.hard ?? limit.soft;
    if (!(limit.soft <= hard))
      throw new RunnerError('BAD_RLIMIT', `rlimit ${name}: soft ${limit.soft} > hard ${hard}`);
    args.push('--rlimit', name, value(name, limit.soft), value(name, hard));
  }
  return args;
}

function value(name: string, n: number): string {
  if (n === Number.POSITIVE_INFINITY) return 'unlimited';
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RunnerError('BAD_RLIMIT', `rlimit ${name}: ${n} is not a count`);
  return String(n);
}
