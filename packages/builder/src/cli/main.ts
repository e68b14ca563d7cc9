import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { buildCommand } from './commands/build-command.js';
import { containerCommands } from './commands/container-commands.js';
import { duCommand } from './commands/du-command.js';
import { imagesCommand } from './commands/images-command.js';
import { importCommand } from './commands/import-command.js';
import { inspectCommand } from './commands/inspect-command.js';
import { loadCommand } from './commands/load-command.js';
import { loginCommand } from './commands/login-command.js';
import { pullCommand } from './commands/pull-command.js';
import { pushCommand } from './commands/push-command.js';
import { pruneCommand } from './commands/prune-command.js';
import { saveCommand } from './commands/save-command.js';
import { storeCommand } from './commands/store-command.js';
import { applyGlobalOptions, everyValue, oneValue } from './global-options.js';
import { kilnVersion } from './kiln-version.js';
import { processCliIo } from './process-cli-io.js';
import { exitCodeOf, UsageError } from './report-failure.js';

/**
 * Every command, in the order `kiln --help` lists them. Each module defines its yargs command
 * (usage, options) and imports its implementation inside the handler, so starting kiln loads
 * yargs and these small modules only; what a command needs (the build engine, the store, the
 * registry client, the runner) is loaded when that command runs. Keep it so: the lint rule on
 * `src/cli` refuses value imports of implementation modules here.
 */
const COMMANDS = [
  buildCommand,
  importCommand,
  imagesCommand,
  inspectCommand,
  pullCommand,
  pushCommand,
  loginCommand,
  pruneCommand,
  storeCommand,
  saveCommand,
  loadCommand,
  duCommand,
  containerCommands,
] as const;

/**
 * The entry of the whole CLI: with push-main.ts (a plain `kiln push`), the only places that read
 * argv, write to the terminal and choose exit codes.
 */
async function main(): Promise<number> {
  // Rootless mode: the same command again, as root of a user namespace (see enter-rootless.ts).
  if ((process.getuid?.() ?? 0) !== 0) {
    const { enterRootless } = await import('./enter-rootless.js');
    return enterRootless();
  }
  const io = processCliIo();
  let cli = yargs(hideBin(process.argv))
    .scriptName('kiln')
    .option('root', {
      type: 'string',
      coerce: oneValue('--root', 'a path'),
      describe: 'store root (default: $KILN_ROOT or /var/lib/kiln)',
    })
    .option('insecure-registry', {
      type: 'string',
      coerce: everyValue('--insecure-registry', 'a host[:port]'),
      describe:
        'registry host[:port] reached over plain HTTP, or HTTPS without certificate checks (repeatable)',
    })
    .option('registry-ca', {
      type: 'string',
      coerce: everyValue('--registry-ca', 'a file'),
      describe:
        'PEM CA file trusted for HTTPS to registries, besides the system CAs and /etc/docker/certs.d (repeatable)',
    })
    .middleware((argv) => {
      argv.root = applyGlobalOptions(
        {
          root: argv.root,
          insecureRegistries: argv['insecure-registry'] ?? [],
          registryCaFiles: argv['registry-ca'] ?? [],
        },
        io,
      );
    }) as unknown as Argv<{ root: string }>;
  skipHelpCache(cli);
  for (const command of COMMANDS) cli = command(cli, io);
  return exitCodeOf(
    () =>
      cli
        .demandCommand(1)
        .strict()
        .version(kilnVersion())
        .help()
        .fail((msg: string | null | undefined, err: Error | null | undefined) => {
          // yargs' own failures (validation, parsing, what a `coerce` throws, as for --root) come
          // without an error or as its YError; any other error is one a command's handler threw.
          if (err && err.name !== 'YError') throw err;
          throw new UsageError(msg || err?.message || 'invalid usage');
        })
        .parseAsync(),
    io,
  );
}

/**
 * After starting a command's handler, yargs renders that command's whole help text and keeps it,
 * for a `showHelp()` the program might call later; kiln never does (`--help` and usage errors take
 * another path), and the rendering (string-width over every cell) costs 25-50 ms of every run.
 * This turns that cache off through yargs' internal methods when they are there, and is a no-op
 * when a yargs release changes them.
 */
function skipHelpCache(cli: Argv<{ root: string }>): void {
  type Usage = { cacheHelpMessage?: unknown };
  const internal = cli as unknown as { getInternalMethods?: () => { getUsageInstance?: () => Usage } };
  const usage = internal.getInternalMethods?.().getUsageInstance?.();
  if (usage !== undefined && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

// Not a top-level await: the bundle (scripts/bundle-cli.mjs) is CommonJS, for V8's code cache.
void main().then((code) => {
  process.exitCode = code;
});
