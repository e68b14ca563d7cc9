import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ignoreModule from '@balena/dockerignore';

// CommonJS package: its factory is module.exports and also module.exports.default (which its types declare).
const ignore = ignoreModule.default;

/** Which context paths COPY may see, per `.dockerignore`. */
export interface ContextFilter {
  /** Whether a context-relative path is excluded. */
  excludes(path: string): boolean;
  /** Whether any `!` pattern exists: an excluded directory may then still hold included files. */
  readonly hasExceptions: boolean;
  /** Equal for filters that exclude the same paths (a digest of the patterns). */
  readonly id: string;
}

/**
 * Reads the ignore file Docker would use: `<Dockerfile>.dockerignore` beside the Dockerfile
 * when it exists (it takes precedence), else `.dockerignore` at the context root; none means
 * nothing is excluded. Matching follows Docker's rules (`**`, `!` re-includes, last match wins).
 */
export async function loadContextFilter(contextDir: string, dockerfilePath: string): Promise<ContextFilter> {
  const text =
    readIfThere(`${dockerfilePath}.dockerignore`) ?? readIfThere(join(contextDir, '.dockerignore'));
  if (text === undefined) return { excludes: () => false, hasExceptions: false, id: 'none' };
  const patterns = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const matcher = ignore({ ignorecase: false }).add(patterns);
  return {
    excludes: (path) => path !== '' && matcher.ignores(path),
    hasExceptions: patterns.some((p) => p.startsWith('!')),
    id: hash('sha256', JSON.stringify(patterns)),
  };
}

/**
 * A matcher for `COPY --exclude` patterns, with .dockerignore's syntax and rules (`**`, `!`,
 * last match wins); paths are relative to the copied source.
 */
export function patternMatcher(patterns: readonly string[]): (path: string) => boolean {
  const matcher = ignore({ ignorecase: false }).add([...patterns]);
  return (path) => path !== '' && matcher.ignores(path);
}

/** A small file's text, or undefined when it cannot be read (synchronous: the build waits for it). */
function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
