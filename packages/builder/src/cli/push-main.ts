import { noteCodeCacheUse } from './code-cache-note.js';
import { applyGlobalOptions } from './global-options.js';
import { parsePushArgv, type PushArgv } from './parse-push-argv.js';
import { processCliIo, type ProcessCliIo } from './process-cli-io.js';
import { exitCodeOf } from './report-failure.js';
import { runPush } from './run-push.js';

/**
 * `kiln push` without yargs and the other commands. The launcher (bin/kiln.js) loads this
 * module's bundle, dist/kiln-push.cjs (a fifth of the whole CLI's), when the command word is
 * `push`, and calls startPush; when it declines, the launcher runs the whole CLI, which parses
 * the command line with yargs. Why: a push of a small image is over in a few registry round
 * trips, and loading yargs and defining every command was a fifth of it (BENCHMARKS.md).
 *
 * Returns true having started the push (the exit code is set when it ends, as main.ts does), or
 * false having done nothing: for a command line that is not a plain push (parsePushArgv), and for
 * a user other than root, whom the whole CLI takes into a user namespace first (enter-rootless.ts).
 */
export function startPush(args: readonly string[]): boolean {
  const parsed = (process.getuid?.() ?? 0) === 0 ? parsePushArgv(args) : undefined;
  if (parsed === undefined) {
    // This bundle's code cache is then not one of a push (see noteCodeCacheUse).
    noteCodeCacheUse('declined');
    return false;
  }
  void push(parsed, processCliIo()).then((code) => {
    process.exitCode = code;
  });
  return true;
}

async function push(argv: PushArgv, io: ProcessCliIo): Promise<number> {
  return exitCodeOf(
    () => runPush({ root: applyGlobalOptions(argv, io), name: argv.name, dest: argv.dest }, io),
    io,
  );
}
