/** Extended attributes of a tree's entries, by root-relative path; each value is raw bytes. */
export type XattrMap = Map<string, Record<string, Buffer>>;

/**
 * Parses the helper's record stream (`REL NUL NAME NUL LENGTH NUL VALUE`, repeated; see
 * native/xattrs.c). Values are bytes, not text: `security.capability` is a binary structure.
 */
export function parseXattrRecords(data: Buffer): XattrMap {
  const out: XattrMap = new Map();
  let at = 0;
  const field = (): string => {
    const end = data.indexOf(0, at);
    if (end < 0) throw new Error('truncated xattr record');
    const text = data.toString('utf8', at, end);
    at = end + 1;
    return text;
  };
  while (at < data.length) {
    const path = field();
    const name = field();
    const length = Number(field());
    if (!Number.isSafeInteger(length) || length < 0 || at + length > data.length)
      throw new Error(`bad xattr value length for ${path}`);
    const attrs = out.get(path) ?? {};
    attrs[name] = Buffer.from(data.subarray(at, at + length));
    out.set(path, attrs);
    at += length;
  }
  return out;
}

/** The inverse of {@link parseXattrRecords}: what `kiln-helper set-xattrs` reads on stdin. */
export function encodeXattrRecords(
  xattrs: ReadonlyMap<string, Readonly<Record<string, Uint8Array>>>,
): Buffer {
  const parts: Buffer[] = [];
  for (const [path, attrs] of xattrs) {
    for (const [name, value] of Object.entries(attrs)) {
      parts.push(Buffer.from(`${path}\0${name}\0${value.length}\0`), Buffer.from(value));
    }
  }
  return Buffer.concat(parts);
}
