/**
 * A whole number as V8 keeps it in an object unboxed: numbers read from a Float64Array (fs.Stats
 * fields, the helper's stat records) arrive as heap numbers, and one such value stored into a
 * header field makes every header box that field, 20,000 small allocations for a context of
 * 20,000 files. Values past the small-integer range are returned as they are.
 */
export function smallInt(n: number): number {
  return n >= 0 && n <= 0x3fffffff ? n | 0 : n;
}
