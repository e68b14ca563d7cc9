import type { CliIo } from './cli-io.js';
import { UsageError } from './report-failure.js';
import { storeRoot } from './store-root.js';

/** kiln's options that go before or after any command, as parsed. */
export interface GlobalOptions {
  /** `--root` */
  readonly root?: string;
  /** Every `--insecure-registry`. */
  readonly insecureRegistries: readonly string[];
  /** Every `--registry-ca`. */
  readonly registryCaFiles: readonly string[];
}

/**
 * yargs' `coerce` for an option taken at most once, like `--root`: its value, or a UsageError
 * (`FLAG was given twice`, `FLAG needs WHAT`) when the flag came more than once (yargs gives an
 * array) or without a value (yargs gives '' for the flag last or before another option, and for
 * `--flag=`; false for `--no-flag`; an object for `--flag.x`). yargs reports what coerce throws
 * as a failure of its own, which main.ts makes a usage error.
 */
export function oneValue(flag: string, what: string): (value: unknown) => string {
  return (value) => {
    if (Array.isArray(value)) throw new UsageError(givenTooOften(flag, value.length));
    return nonEmpty(value, flag, what);
  };
}

/**
 * yargs' `coerce` for a repeatable option, like `--registry-ca`: every value, in order, or a
 * UsageError (`FLAG needs WHAT`) when one of them is missing (see oneValue).
 */
export function everyValue(flag: string, what: string): (value: unknown) => string[] {
  return (value) => (Array.isArray(value) ? value : [value]).map((v: unknown) => nonEmpty(v, flag, what));
}

/** `FLAG was given twice` (or `N times`): of a flag that may come once, like `--root`. */
export function givenTooOften(flag: string, times: number): string {
  return `${flag} was given ${times === 2 ? 'twice' : `${times} times`}`;
}

function nonEmpty(value: unknown, flag: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`${flag} needs ${what}`);
  return value;
}

/**
 * Applies the global options for a command: the registries go on `io`, where the registry
 * commands read them; the store root is returned (`--root`, else KILN_ROOT, else the default for
 * this user: see storeRoot).
 */
export function applyGlobalOptions(opts: GlobalOptions, io: CliIo): string {
  io.insecureRegistries = opts.insecureRegistries;
  io.registryCaFiles = opts.registryCaFiles;
  return storeRoot(opts.root, process.env, process.getuid?.() ?? 0);
}
