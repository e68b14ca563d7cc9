import { runHelper } from './run-helper.js';
import { encodeXattrRecords } from './xattr-records.js';

/**
 * Sets extended attributes below `dir` (keys are root-relative paths) in one helper call, after
 * the entries exist and their owners are set (chown clears `security.capability`). Parents are
 * opened without following symlinks and the entry itself is never followed, so nothing outside
 * `dir` changes; overlayfs's private names are skipped. Fails with HELPER_FAILED otherwise.
 */
export async function setXattrs(
  dir: string,
  xattrs: ReadonlyMap<string, Readonly<Record<string, Uint8Array>>>,
): Promise<void> {
  if (xattrs.size === 0) return;
  await runHelper(['set-xattrs', '--dir', dir], encodeXattrRecords(xattrs));
}
