import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BuilderError } from '../builder-error.js';
import { containerDir, processStartTime, volumesDir, type ContainerEntry } from './container-record.js';

/**
 * Removes a container: its directory (record, upper and work dirs) and its anonymous volumes
 * (named volumes and bind sources stay). A live container is refused (`CONTAINER_RUNNING`)
 * unless `force`, which SIGKILLs the `kiln run` that owns it (the container dies with it) and
 * waits for that process to be gone.
 */
export async function removeContainer(root: string, entry: ContainerEntry, force: boolean): Promise<void> {
  const { config, status } = entry;
  if (entry.live && status.pid !== undefined) {
    if (!force) {
      throw new BuilderError('CONTAINER_RUNNING', `container ${config.name} is running`, {
        hint: 'stop it first, or use kiln rm -f',
      });
    }
    try {
      process.kill(status.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    for (let i = 0; i < 100 && (await processStartTime(status.pid)) === status.pidStart; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  for (const v of config.anonymousVolumes)
    await rm(join(volumesDir(root), v), { recursive: true, force: true });
  await rm(containerDir(root, config.id), { recursive: true, force: true });
}
