import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { helperPath } from './helper-path.js';
import type { RootlessIdMaps } from './rootless-id-maps.js';
import { RunnerError } from './runner-error.js';
import { helperExit } from './helper-exit.js';

export interface UserNamespaceRun {
  /** Sends `signal` to the helper, which passes it on to the command. */
  kill(signal: NodeJS.Signals): void;
  /**
   * The command's exit code (128+N for signal N). Rejects with `USERNS_FAILED` when the
   * namespace could not be set up (the command never ran), `SPAWN_FAILED` when the helper could
   * not start.
   */
  readonly exited: Promise<number>;
}

/**
 * Runs `command` (argv) as root of a new user namespace with `maps` (see `rootlessIdMaps`),
 * through `kiln-helper userns`, with this process's stdio and `env`; returns at once. A single-id
 * map is written by the namespace itself; subordinate ranges by newuidmap/newgidmap. The command
 * gets SIGTERM when the helper dies. A terminal's signals reach the command directly (it stays in
 * the terminal's process group); `kill` is for signals from elsewhere.
 */
export function runInUserNamespace(
  command: readonly string[],
  maps: RootlessIdMaps,
  env: NodeJS.ProcessEnv,
): UserNamespaceRun {
  const helper = helperPath();
  const args = ['userns'];
  if (!maps.singleId) {
    for (const r of maps.uidMap) args.push('--uid-map', `${r.inside}:${r.outside}:${r.count}`);
    for (const r of maps.gidMap) args.push('--gid-map', `${r.inside}:${r.outside}:${r.count}`);
  }
  args.push('--', ...command);
  const child = spawn(helper, args, { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env });
  const status = collect(child.stdio[3] as Readable | null);
  const exited = (async (): Promise<number> => {
    const [code, signal] = await helperExit(child, helper);
    const report = await status;
    if (report.startsWith('error: ')) {
      throw new RunnerError(
        'USERNS_FAILED',
        `cannot enter a user namespace for rootless mode: ${report.slice('error: '.length).trim()}`,
        'run kiln as root, or check /etc/subuid, /etc/subgid, the uidmap package and user.max_user_namespaces',
      );
    }
    return code ?? 128 + (constants.signals[signal ?? 'SIGKILL'] ?? 9);
  })();
  return {
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
  };
}

/** The status channel (fd 3) as text: empty when the command was exec'd. */
async function collect(stream: Readable | null): Promise<string> {
  if (stream === null) return '';
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}
