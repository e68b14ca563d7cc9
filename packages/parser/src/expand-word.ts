import { ShellWord, type LexOptions, type Vars } from './shell-word.js';

export { ExpansionError, type Vars, type LexOptions } from './shell-word.js';

/**
 * Expands one word as BuildKit's ProcessWord does: removes quotes, applies escapes (with the
 * Dockerfile's escape character), substitutes `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`,
 * `${V+w}`, `${V:?msg}`, `${V?msg}`, `${V#p}`, `${V##p}`, `${V%p}`, `${V%%p}`, `${V/p/r}` and
 * `${V//p/r}`. Blanks are kept: the result is one string. Unset variables give "".
 * Throws ExpansionError for malformed input.
 */
export function expandWord(word: string, vars: Vars, escape = '\\', options: LexOptions = {}): string {
  return new ShellWord(word, vars, escape, options).process().word;
}

/**
 * Expands text and splits it into words as BuildKit's ProcessWords does: unquoted blanks,
 * including blanks that come from an unquoted variable's value, separate words; quoted or
 * escaped blanks do not; no empty words are produced.
 * Throws ExpansionError for malformed input.
 */
export function expandWords(text: string, vars: Vars, escape = '\\', options: LexOptions = {}): string[] {
  return new ShellWord(text, vars, escape, options).process().words;
}
