import { RunnerError } from './runner-error.js';

/**
 * Namespaces, overlay mounts, lchown and whiteout device nodes need root: real root, or root of
 * the user namespace the kiln CLI enters in rootless mode (see `runInUserNamespace`).
 */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new RunnerError(
      'NOT_ROOT',
      `${what} needs root`,
      'run kiln as root, or run the kiln CLI as your own user: it enters a user namespace (rootless mode)',
    );
  }
}
