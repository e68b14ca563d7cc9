import { RunnerError } from './runner-error.js';

/** Namespaces, overlay mounts, lchown and whiteout device nodes all need real root. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new RunnerError(
      'NOT_ROOT',
      `${what} needs root`,
      'run kiln as root (rootless mode is not supported yet)',
    );
  }
}
