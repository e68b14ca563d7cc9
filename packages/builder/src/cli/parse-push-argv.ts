import type { GlobalOptions } from './global-options.js';

/** A `kiln push` command line in one of its plain forms (see parsePushArgv). */
export interface PushArgv extends GlobalOptions {
  readonly name: string;
  readonly dest?: string;
}

/** The global options that take a value, by flag: where parsePushArgv puts each. */
const VALUE_FLAGS = {
  '--root': 'root',
  '--insecure-registry': 'insecure',
  '--registry-ca': 'ca',
} as const;

/**
 * Reads kiln's arguments (argv after node and the script) when they are `push NAME [DEST]` with
 * nothing but the global options around it: `--root DIR` (once), `--insecure-registry HOST` and
 * `--registry-ca FILE` (each repeatable), as `--flag value` or `--flag=value`, anywhere. Anything
 * else gets undefined: help, `--version`, other or misspelt options, `--`, an option without a
 * value or with one that starts with `-`, an empty word, a missing or extra operand. The full CLI
 * (yargs, main.ts) then parses the command line, with its usage errors and help; for what this
 * accepts, yargs gives the push handler the same values (test: parse-push-argv.test.ts).
 */
export function parsePushArgv(args: readonly string[]): PushArgv | undefined {
  let root: string | undefined;
  const insecure: string[] = [];
  const ca: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('-')) {
      if (arg === '') return undefined;
      words.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    if (!Object.hasOwn(VALUE_FLAGS, flag)) return undefined;
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    const into = VALUE_FLAGS[flag as keyof typeof VALUE_FLAGS];
    if (into === 'root') {
      if (root !== undefined) return undefined;
      root = value;
    } else (into === 'insecure' ? insecure : ca).push(value);
  }
  const [command, name, dest, ...extra] = words;
  if (command !== 'push' || name === undefined || extra.length > 0) return undefined;
  return {
    ...(root === undefined ? {} : { root }),
    insecureRegistries: insecure,
    registryCaFiles: ca,
    name,
    ...(dest === undefined ? {} : { dest }),
  };
}
