import { runHelper } from './run-helper.js';
import { RunnerError } from './runner-error.js';

/** What lstat tells of one path, in Node's units (`mtimeMs`, `ctimeMs` as `fs.Stats` has them). */
export interface PathStat {
  /** st_mode: file type bits and permission bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  /** st_dev: with `ino`, tells which names are hard links of one file. */
  readonly dev: number;
  /** st_nlink: how many names the inode has. */
  readonly nlink: number;
  /** A symlink's target. */
  readonly linkname?: string;
}

/** Doubles per record before a symlink's target (see native/stat-paths.c). */
const FIELDS = 13;
const RECORD_BYTES = FIELDS * 8;

/**
 * lstat of each of `paths` (relative to `dir`, never following the last component; absolute
 * paths and `..` components are refused) in one helper process: for many paths this is cheaper
 * than Node's lstatSync, which builds a Stats object and four Dates per call. The result has one
 * item per path, in order: its stat, or the errno when lstat (or readlink) failed.
 */
export async function statPaths(dir: string, paths: readonly string[]): Promise<(PathStat | number)[]> {
  if (paths.length === 0) return [];
  const input = Buffer.from(`${paths.join('\0')}\0`);
  return parseStatPaths(await runHelper(['stat-paths', '--dir', dir], input), paths.length);
}

/**
 * Parses `kiln-helper stat-paths` output holding `count` records; throws when it does not hold
 * exactly that many (`HELPER_FAILED`).
 */
export function parseStatPaths(data: Buffer, count: number): (PathStat | number)[] {
  // One aligned copy, so that the records read as doubles without a call per field.
  const bytes = new Uint8Array(data.length);
  bytes.set(data);
  const fields = new Float64Array(bytes.buffer, 0, Math.floor(data.length / 8));
  const text = Buffer.from(bytes.buffer);
  const out: (PathStat | number)[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + RECORD_BYTES > data.length) throw malformed(`${count - i} of ${count} records missing`);
    const f = at / 8;
    const errno = fields[f] as number;
    const linkLength = fields[f + 12] as number;
    at += RECORD_BYTES;
    if (errno !== 0) {
      out.push(errno);
      continue;
    }
    const mode = (fields[f + 1] as number) | 0;
    const link = (mode & S_IFMT) === S_IFLNK;
    if (link && at + linkLength > data.length) throw malformed('truncated link target');
    out.push({
      mode,
      uid: small(fields[f + 2] as number),
      gid: small(fields[f + 3] as number),
      size: small(fields[f + 4] as number),
      ino: small(fields[f + 5] as number),
      // As Node computes them from a timespec, so stamps from either source compare equal.
      mtimeMs: (fields[f + 6] as number) * 1e3 + (fields[f + 7] as number) / 1e6,
      ctimeMs: (fields[f + 8] as number) * 1e3 + (fields[f + 9] as number) / 1e6,
      dev: fields[f + 10] as number,
      nlink: small(fields[f + 11] as number),
      linkname: link ? text.toString('utf8', at, at + linkLength) : undefined,
    });
    at += Math.ceil(linkLength / 8) * 8;
  }
  if (at !== data.length) throw malformed(`${data.length - at} bytes after ${count} records`);
  return out;
}

/**
 * A whole number read from a Float64Array, as a small integer when it is one: V8 then keeps it
 * in the object itself instead of boxing it (20,000 stats carry several numbers each).
 */
function small(n: number): number {
  return n >= 0 && n <= 0x3fffffff ? n | 0 : n;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function malformed(what: string): RunnerError {
  return new RunnerError('HELPER_FAILED', `kiln-helper stat-paths: malformed output: ${what}`);
}
