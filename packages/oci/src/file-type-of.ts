import type { FileType } from './fs-change.js';

/** The type tests of an lstat result (fs.Stats or fs.BigIntStats). */
export interface StatTypeTests {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isFIFO(): boolean;
}

/** The layer entry type of an lstat result; undefined for sockets, which layers cannot hold. */
export function fileTypeOf(st: StatTypeTests): FileType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

/** Splits Linux's dev_t as glibc's major()/minor() do (Node gives only the raw number). */
export function deviceNumbers(rdev: bigint | number): { devmajor: number; devminor: number } {
  const d = BigInt(rdev);
  return {
    devmajor: Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)),
    devminor: Number((d & 0xffn) | ((d >> 12n) & ~0xffn)),
  };
}
