import { runHelper } from './run-helper.js';
import type { XattrMap } from './xattr-records.js';

/** What Node cannot see of a tree: its opaque directories and its entries' extended attributes. */
export interface TreeAttrs {
  /** Root-relative paths of the directories marked opaque for overlayfs, "." for the root itself. */
  readonly opaque: Set<string>;
  /** Extended attributes of the entries below the root, as {@link readXattrs} reports them. */
  readonly xattrs: XattrMap;
}

/**
 * The opaque directories and extended attributes below `dir` in one helper walk (never following
 * symlinks): what `opaqueDirs` and `readXattrs` report, for the price of one process.
 */
export async function readTreeAttrs(dir: string): Promise<TreeAttrs> {
  return parseTreeAttrs(await runHelper(['tree-attrs', '--dir', dir]));
}

/**
 * Parses `kiln-helper tree-attrs` output (see native/xattrs.c): tagged records, `o NUL REL NUL`
 * for an opaque directory and `x NUL REL NUL NAME NUL LENGTH NUL VALUE` for an attribute.
 * Throws on a truncated record or an unknown tag.
 */
export function parseTreeAttrs(data: Buffer): TreeAttrs {
  const opaque = new Set<string>();
  const xattrs: XattrMap = new Map();
  let at = 0;
  const field = (): string => {
    const end = data.indexOf(0, at);
    if (end < 0) throw new Error('truncated tree-attrs record');
    const text = data.toString('utf8', at, end);
    at = end + 1;
    return text;
  };
  while (at < data.length) {
    const tag = field();
    const path = field();
    if (tag === 'o') {
      opaque.add(path);
      continue;
    }
    if (tag !== 'x') throw new Error(`unknown tree-attrs record "${tag}"`);
    const name = field();
    const length = Number(field());
    if (!Number.isSafeInteger(length) || length < 0 || at + length > data.length)
      throw new Error(`bad xattr value length for ${path}`);
    const attrs = xattrs.get(path) ?? {};
    attrs[name] = Buffer.from(data.subarray(at, at + length));
    xattrs.set(path, attrs);
    at += length;
  }
  return { opaque, xattrs };
}
