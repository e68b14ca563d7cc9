import { BuilderError } from '../builder-error.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** "512MB", "1.5g", "2GiB", "1000" → bytes (binary units, as `docker builder prune` reads them). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) {
    throw new BuilderError('INVALID_ARGUMENT', `invalid size "${text}"`, { hint: 'e.g. 10GB, 512MiB, 1000' });
  }
  return Math.floor(Number(m[1]) * unit);
}
