import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Replaces docker's config file atomically: a temp file created with mode 0600 (the umask can
 * only take bits away) in the same directory (made 0700 when missing), fsynced, then renamed
 * over the old one, so readers see the old or the new file, never half of one, and the
 * credentials in it are never readable by other users. Keys keep their order.
 */
export async function writeDockerConfig(file: string, doc: Readonly<Record<string, unknown>>): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.config.json.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(`${JSON.stringify(doc, null, '\t')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
