import { lstat, readdir } from 'node:fs/promises';
import { posix } from 'node:path';

/** A context path a COPY source matched, relative to the context root ("" is the root). */
export interface ContextMatch {
  readonly rel: string;
  readonly fromWildcard: boolean;
}

const GLOB_CHARS = /[*?[]/;

/**
 * Resolves a COPY source against the context. The source is cleaned as a path inside the
 * context root (so `../x` cannot leave it: it is reported instead); wildcards `* ? [...]` match
 * per path component as Go's filepath.Match does. Returns [] when nothing matches.
 */
export async function matchContextPaths(
  contextDir: string,
  source: string,
): Promise<ContextMatch[] | 'escape'> {
  const normalized = posix.normalize(`/${source}`);
  if (posix.normalize(source).startsWith('../') || posix.normalize(source) === '..') return 'escape';
  const parts = normalized.split('/').filter(Boolean);
  if (!parts.some((p) => GLOB_CHARS.test(p))) {
    const rel = parts.join('/');
    return (await exists(posix.join(contextDir, rel))) ? [{ rel, fromWildcard: false }] : [];
  }
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of current) {
      if (!GLOB_CHARS.test(part)) {
        if (await exists(posix.join(contextDir, base, part))) next.push(posix.join(base, part));
        continue;
      }
      const re = globToRegExp(part);
      const names = await readdir(posix.join(contextDir, base)).catch(() => [] as string[]);
      for (const name of names.sort()) if (re.test(name)) next.push(posix.join(base, name));
    }
    current = next;
  }
  return current.map((rel) => ({ rel, fromWildcard: true }));
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
