import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runHelper } from './run-helper.js';

/**
 * Whether an overlay with an upper dir can be mounted on the filesystem of `dir` (which must
 * exist): the helper tries one in a private mount namespace that dies with it.
 */
export async function probeOverlay(dir: string): Promise<boolean> {
  const scratch = await mkdtemp(join(dir, `.probe-${process.pid}-`));
  try {
    await runHelper(['probe-overlay', '--dir', scratch]);
    return true;
  } catch {
    return false;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
