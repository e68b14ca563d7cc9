import { RLIMIT_NAMES, type Rlimit, type RlimitName, type Rlimits } from '@kiln/runner-native';
import { BuilderError } from '../builder-error.js';

const NAMES: ReadonlySet<string> = new Set(RLIMIT_NAMES);

/**
 * `--ulimit NAME=SOFT[:HARD]` as docker build takes it (repeatable; a later one for the same name
 * wins), with -1 or `unlimited` for no limit. A limit above the one kiln itself runs under is
 * lowered to it by the helper: raising one needs CAP_SYS_RESOURCE.
 */
export function parseUlimits(specs: readonly string[]): Rlimits {
  const out: Partial<Record<RlimitName, Rlimit>> = {};
  for (const spec of specs) {
    const m = /^([a-z]+)=([^:]+)(?::([^:]+))?$/.exec(spec);
    const name = m?.[1];
    const soft = count(m?.[2]);
    const hard = m?.[3] === undefined ? soft : count(m[3]);
    if (name === undefined || !NAMES.has(name) || soft === undefined || hard === undefined || soft > hard) {
      throw new BuilderError('INVALID_ARGUMENT', `invalid --ulimit "${spec}"`, {
        hint:
          'NAME=SOFT[:HARD] with SOFT <= HARD, e.g. nofile=1024:4096; NAME is one of ' + [...NAMES].join(' '),
      });
    }
    out[name as RlimitName] = { soft, hard };
  }
  return out;
}

function count(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === '-1' || text === 'unlimited') return Number.POSITIVE_INFINITY;
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
}
