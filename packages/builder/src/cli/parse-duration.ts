import { BuilderError } from '../builder-error.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** "24h", "7d", "1h30m", "90s" → milliseconds (Go-style durations, plus d and w). */
export function parseDuration(text: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  const joined = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || joined !== text.trim()) {
    throw new BuilderError('INVALID_ARGUMENT', `invalid duration "${text}"`, { hint: 'e.g. 24h, 7d, 1h30m' });
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] ?? ''] ?? 0), 0);
}
