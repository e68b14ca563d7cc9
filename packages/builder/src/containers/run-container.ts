import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startContainer, type ContainerStdio, type StepResult } from '@kiln/runner-native';
import { containerDir, processStartTime, volumesDir, writeContainerStatus } from './container-record.js';
import type { CreatedContainer } from './create-container.js';

/** A started container, owned by this process. */
export interface RunningContainer {
  /** See `ContainerProcess.kill`: TERM/INT/HUP/QUIT reach the command, KILL ends everything. */
  kill(signal: NodeJS.Signals): void;
  /** Settles once the container has exited and its status is recorded (or, with `--rm`, it is gone). */
  readonly exited: Promise<StepResult>;
}

/**
 * Starts a created container with this process as its owner: status "running" (with this
 * pid) before it starts, "exited" with its exit code afterwards; a `--rm` container is then
 * removed with its anonymous volumes. If this process is killed the container dies with it and
 * its status stays "running" with a dead owner, which `ps` shows as such.
 */
export async function runContainer(
  root: string,
  created: CreatedContainer,
  stdio: ContainerStdio,
): Promise<RunningContainer> {
  const { config, snapshot } = created;
  const startedAt = new Date().toISOString();
  const pidStart = await processStartTime(process.pid);
  await writeContainerStatus(root, config.id, {
    state: 'running',
    pid: process.pid,
    ...(pidStart !== undefined ? { pidStart } : {}),
    startedAt,
  });
  let process_;
  try {
    process_ = startContainer(
      {
        snapshot,
        args: [...config.entrypoint, ...config.cmd],
        env: config.env,
        cwd: config.workingDir,
        user: config.user,
        hostname: config.hostname,
        network: config.network,
        mounts: config.mounts,
        tty: config.tty,
      },
      stdio,
    );
  } catch (error) {
    await finish(root, created, { exitCode: 125 }, startedAt);
    throw error;
  }
  const exited = process_.exited.then(
    async (result) => {
      await finish(root, created, result, startedAt);
      return result;
    },
    async (error: unknown) => {
      await finish(root, created, { exitCode: 125 }, startedAt);
      throw error;
    },
  );
  return { kill: (signal) => process_.kill(signal), exited };
}

async function finish(
  root: string,
  created: CreatedContainer,
  result: StepResult,
  startedAt: string,
): Promise<void> {
  const { config, snapshot } = created;
  if (config.autoRemove) {
    await snapshot.release();
    for (const v of config.anonymousVolumes)
      await rm(join(volumesDir(root), v), { recursive: true, force: true });
    await rm(containerDir(root, config.id), { recursive: true, force: true });
    return;
  }
  await writeContainerStatus(root, config.id, {
    state: 'exited',
    exitCode: result.exitCode,
    startedAt,
    finishedAt: new Date().toISOString(),
  });
}
