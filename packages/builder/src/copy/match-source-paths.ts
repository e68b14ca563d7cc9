import { posix } from 'node:path';
import type { SourceTree } from './source-tree.js';

/** A path a COPY source matched, relative to the tree's root ("" is the root). */
export interface SourceMatch {
  readonly rel: string;
  readonly fromWildcard: boolean;
}

const GLOB_CHARS = /[*?[]/;

/**
 * Resolves a COPY source in a source tree. The source is cleaned as a path inside the root, so
 * `../x` cannot leave it ('escape' is returned for the context, where BuildKit refuses it);
 * wildcards `* ? [...]` match per path component as Go's filepath.Match does. [] when the path
 * does not exist, or when the directory the first wildcard is in does not (`missing/*.txt`: an
 * error in BuildKit too). 'empty' when a wildcard matches nothing in an existing directory: not an
 * error, as BuildKit's dockerfile frontend copies with AllowEmptyWildcard (`COPY requirements.* .`).
 */
export async function matchSourcePaths(
  tree: SourceTree,
  source: string,
): Promise<SourceMatch[] | 'escape' | 'empty'> {
  const cleaned = posix.normalize(source);
  if (cleaned === '..' || cleaned.startsWith('../')) return 'escape';
  const parts = posix.normalize(`/${source}`).split('/').filter(Boolean);
  if (!parts.some((p) => GLOB_CHARS.test(p))) {
    const rel = parts.join('/');
    return rel === '' || (await tree.entry(rel)) ? [{ rel, fromWildcard: false }] : [];
  }
  let current = [''];
  let globbed = false;
  for (const part of parts) {
    if (!globbed && GLOB_CHARS.test(part)) {
      if (current.length === 0) return [];
      globbed = true;
    }
    const next: string[] = [];
    for (const base of current) {
      if (!GLOB_CHARS.test(part)) {
        const rel = posix.join(base, part);
        if (await tree.entry(rel)) next.push(rel);
        continue;
      }
      const re = globToRegExp(part);
      for (const name of await tree.list(base))
        if (re.test(name)) next.push(base === '' ? name : posix.join(base, name));
    }
    current = next;
  }
  if (current.length === 0) return 'empty';
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
