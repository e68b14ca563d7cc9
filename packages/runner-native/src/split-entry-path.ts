import { RunnerError } from './runner-error.js';

/**
 * Splits a layer entry name ("./usr/bin/sh", "usr/bin/") into root-relative components, dropping
 * "." and empty parts. Absolute names and ".." components are refused with `UNSAFE_PATH`: a layer
 * must never name anything outside its root.
 */
export function splitEntryPath(name: string): string[] {
  if (name.startsWith('/')) throw new RunnerError('UNSAFE_PATH', `absolute path in layer: "${name}"`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new RunnerError('UNSAFE_PATH', `path escapes the layer root: "${name}"`);
  return parts;
}
