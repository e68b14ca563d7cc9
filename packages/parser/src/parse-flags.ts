import { InstructionSyntaxError } from './instruction-syntax-error.js';
import { suggestKeyword } from './suggest-keyword.js';

/** How a flag takes its value: `--link[=bool]`, `--from=x` once, `--mount=x` repeatable. */
export type FlagType = 'bool' | 'string' | 'strings';

/** The values of an instruction's flags; absent flags are not in the maps. */
export interface ParsedFlags {
  readonly bool: ReadonlyMap<string, boolean>;
  readonly string: ReadonlyMap<string, string>;
  readonly strings: ReadonlyMap<string, readonly string[]>;
}

/**
 * Checks an instruction's flags against what it accepts, as BuildKit's BFlags does: an unknown
 * flag, a flag given twice (only `strings` flags repeat), a missing value or a non-boolean for
 * a bool flag throw InstructionSyntaxError.
 */
export function parseFlags(
  keyword: string,
  flags: readonly string[],
  spec: Readonly<Record<string, FlagType>>,
): ParsedFlags {
  const bool = new Map<string, boolean>();
  const string = new Map<string, string>();
  const strings = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const flag of flags) {
    const body = flag.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const type = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!type) {
      const known = Object.keys(spec).map((k) => k.toUpperCase());
      const guess = suggestKeyword(name, known)?.toLowerCase();
      throw new InstructionSyntaxError(`unknown flag: --${name} for ${keyword}`, 'DOCKERFILE_BAD_FLAG', {
        hint: guess
          ? `did you mean --${guess}?`
          : known.length > 0
            ? `${keyword} accepts ${known.map((k) => `--${k.toLowerCase()}`).join(', ')}`
            : `${keyword} takes no flags`,
      });
    }
    if (seen.has(name) && type !== 'strings') {
      throw new InstructionSyntaxError(`duplicate flag specified: --${name}`, 'DOCKERFILE_DUPLICATE_FLAG', {
        hint: 'give each flag once',
      });
    }
    seen.add(name);
    if (type === 'bool') {
      const v = value?.toLowerCase();
      if (v === '') throw missingValue(name);
      if (v !== undefined && v !== 'true' && v !== 'false') {
        throw new InstructionSyntaxError(
          `expecting boolean value for flag --${name}, not: ${value ?? ''}`,
          'DOCKERFILE_BAD_FLAG',
        );
      }
      bool.set(name, v !== 'false');
      continue;
    }
    if (value === undefined) throw missingValue(name);
    if (type === 'string') string.set(name, value);
    else strings.set(name, [...(strings.get(name) ?? []), value]);
  }
  return { bool, string, strings };
}

function missingValue(name: string): InstructionSyntaxError {
  return new InstructionSyntaxError(`missing a value on flag: --${name}`, 'DOCKERFILE_BAD_FLAG', {
    hint: `write --${name}=<value>`,
  });
}
