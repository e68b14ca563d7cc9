import { runHelper } from './run-helper.js';
import { parseXattrRecords, type XattrMap } from './xattr-records.js';

/**
 * Every extended attribute below `dir` (not `dir`'s own), by root-relative path, read by the
 * helper in one walk that never follows symlinks (Node has no xattr API). overlayfs's private
 * names (`trusted.overlay.*`, `user.overlay.*`) and `security.selinux` are left out; trusted.*
 * names appear only when the caller may read them (root).
 */
export async function readXattrs(dir: string): Promise<XattrMap> {
  return parseXattrRecords(await runHelper(['xattrs', '--dir', dir]));
}
