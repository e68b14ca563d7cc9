/** One range of /etc/subuid or /etc/subgid: `count` ids from `start`. */
export interface SubordinateRange {
  readonly start: number;
  readonly count: number;
}

/**
 * The ranges `/etc/subuid`-format `text` gives the user named `name` or numbered `id` (both
 * forms are valid there), in file order. Lines that are blank, comments or malformed are skipped,
 * as newuidmap skips them.
 */
export function subordinateIds(text: string, name: string, id: number): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [owner, startText, countText, ...rest] = line.trim().split(':');
    if (rest.length > 0 || owner === undefined || startText === undefined || countText === undefined)
      continue;
    if (owner !== name && owner !== String(id)) continue;
    const start = Number(startText);
    const count = Number(countText);
    if (!/^\d+$/.test(startText) || !/^\d+$/.test(countText) || count === 0) continue;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count)) continue;
    ranges.push({ start, count });
  }
  return ranges;
}
