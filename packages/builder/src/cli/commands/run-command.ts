import { constants } from 'node:os';
import { isatty } from 'node:tty';
import type { Argv } from 'yargs';
import { BuilderError } from '../../builder-error.js';
import type { RunningContainer } from '../../containers/run-container.js';
import type { CliIo } from '../cli-io.js';
import { parseRunArgs, RUN_USAGE } from '../parse-run-args.js';
import { OwnFailure } from '../report-failure.js';

/** kiln's exit code when kiln run fails itself (bad options, no image, no sandbox), as docker's. */
export const RUN_FAILED_EXIT_CODE = 125;

/**
 * `kiln run [OPTIONS] IMAGE [COMMAND [ARG...]]`. yargs stops at `run` (halt-at-non-option) and
 * hands the rest over untouched, so options after IMAGE belong to the container's command.
 * kiln's exit code is the container's; kiln's own failures exit with {@link RUN_FAILED_EXIT_CODE}
 * (a command that cannot be run is the container's 126 or 127, as docker's).
 */
export function runCommand(cli: Argv<{ root: string }>, io: CliIo): Argv<{ root: string }> {
  return cli.command(
    'run',
    'create and run a container from an image (kiln run --help for its options)',
    (y) => y.parserConfiguration({ 'halt-at-non-option': true, 'populate--': true }).strict(false),
    async (argv) => {
      try {
        await runCommandLine(argv, io);
      } catch (err) {
        throw new OwnFailure(err, RUN_FAILED_EXIT_CODE);
      }
    },
  );
}

async function runCommandLine(argv: { root: string; '--'?: unknown }, io: CliIo): Promise<void> {
  const tokens = (argv['--'] as string[] | undefined) ?? [];
  const parsed = parseRunArgs(tokens[0] === 'run' ? tokens.slice(1) : tokens, process.env);
  if (parsed.help) {
    io.stdout(RUN_USAGE);
    return;
  }
  const { options, interactive } = parsed;
  const stdinIsTty = isatty(0);
  if (options.tty && interactive && !stdinIsTty) {
    throw new BuilderError('INVALID_ARGUMENT', 'the input device is not a TTY', {
      hint: 'drop -t to pipe stdin into the container',
    });
  }
  const root = parsed.root ?? argv.root;
  const { createContainer } = await import('../../containers/create-container.js');
  const { runContainer } = await import('../../containers/run-container.js');
  const created = await createContainer(root, options, {
    insecure: io.insecureRegistries ?? [],
    caFiles: io.registryCaFiles,
    signal: io.signal,
  });
  // The helper inherits kiln's own descriptors: a terminal stays a terminal (for -t's size),
  // and stdin (-i) reaches the command without Node in between.
  const raw = options.tty && interactive && stdinIsTty;
  if (raw) process.stdin.setRawMode(true);
  let running: RunningContainer | undefined;
  const detach = forwardSignals(() => running, created.config.stopSignal, parsed.stopTimeout, options.tty);
  try {
    running = await runContainer(root, created, {
      ...(interactive ? { stdin: 0 } : {}),
      stdout: 1,
      stderr: 2,
    });
    const result = await running.exited;
    if (result.exitCode !== 0) {
      detach();
      if (raw) process.stdin.setRawMode(false);
      process.exit(result.exitCode);
    }
  } finally {
    detach();
    if (raw) {
      process.stdin.setRawMode(false);
      process.stdin.destroy();
    }
  }
}

/**
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT go to the container as they are; if it is still running after
 * `graceSeconds`, it gets its stop signal (when different), then SIGKILL after as long again.
 * With a tty, terminal resizes are passed on. Returns the function that stops listening.
 */
function forwardSignals(
  target: () => RunningContainer | undefined,
  stopSignal: string,
  graceSeconds: number,
  tty: boolean,
): () => void {
  const timers: NodeJS.Timeout[] = [];
  const onSignal = (signal: NodeJS.Signals): void => {
    const c = target();
    if (c === undefined) return;
    c.kill(signal);
    if (timers.length > 0) return;
    const stop = signalName(stopSignal);
    const steps = [...new Set<NodeJS.Signals>([stop, 'SIGKILL'])].filter((s) => s !== signal);
    steps.forEach((s, i) => timers.push(setTimeout(() => target()?.kill(s), graceSeconds * 1000 * (i + 1))));
  };
  const onResize = (): void => target()?.kill('SIGWINCH');
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
  for (const s of forwarded) process.on(s, onSignal);
  if (tty) process.on('SIGWINCH', onResize);
  return () => {
    for (const s of forwarded) process.off(s, onSignal);
    process.off('SIGWINCH', onResize);
    for (const t of timers) clearTimeout(t);
  };
}

/** "SIGTERM", "TERM" or "15" → "SIGTERM"; unknown names fall back to SIGTERM. */
function signalName(spec: string): NodeJS.Signals {
  const names = Object.keys(constants.signals) as NodeJS.Signals[];
  const upper = spec.toUpperCase();
  const byName = names.find((n) => n === upper || n === `SIG${upper}`);
  if (byName) return byName;
  const byNumber = names.find((n) => String(constants.signals[n]) === spec);
  return byNumber ?? 'SIGTERM';
}
