import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { confinedDir } from './confined-dir.js';
import { RunnerError } from './runner-error.js';
import { setXattrs } from './set-xattrs.js';

/** An entry's extended attributes as its layer gave them, awaiting `applyXattrs`. */
export interface PendingXattrs {
  readonly parts: readonly string[];
  readonly xattrs: Readonly<Record<string, Uint8Array>>;
}

/**
 * Sets the extended attributes of extracted entries under `root` in one helper call, after every
 * entry exists and has its owner (chown clears `security.capability`). Entries that a later entry
 * removed, or whose parent it turned into a symlink, are skipped, as directory times are. Only
 * root may set `security.*` and `trusted.*` names; other callers get the `user.*` ones.
 */
export async function applyXattrs(root: string, pending: ReadonlyMap<string, PendingXattrs>): Promise<void> {
  const privileged = process.getuid?.() === 0;
  const present = new Map<string, Readonly<Record<string, Uint8Array>>>();
  for (const [rel, p] of pending) {
    const dir = await confinedDir(root, p.parts.slice(0, -1), false).catch((error: unknown) => {
      if (error instanceof RunnerError) return undefined;
      throw error;
    });
    if (
      dir === undefined ||
      lstatSync(join(dir, p.parts.at(-1) ?? ''), { throwIfNoEntry: false }) === undefined
    )
      continue;
    const allowed = Object.entries(p.xattrs).filter(([name]) => privileged || name.startsWith('user.'));
    if (allowed.length > 0) present.set(rel, Object.fromEntries(allowed));
  }
  await setXattrs(root, present);
}
