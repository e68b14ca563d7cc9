import { expandWord, expandWords, ExpansionError } from '@kiln/parser';
import type { Instruction } from '@kiln/parser';
import { BuilderError } from '../builder-error.js';

/** Expands a word, turning a malformed-word error into one positioned at the instruction. */
export function expandInStage(
  word: string,
  vars: ReadonlyMap<string, string>,
  at: { readonly ins: Instruction; readonly file: string; readonly escape: string },
): string {
  return positioned(() => expandWord(word, vars, at.escape), at);
}

/**
 * Expands text into words as BuildKit's ProcessWords does (unquoted blanks split, no empty
 * words), turning a malformed-word error into one positioned at the instruction.
 */
export function expandWordsInStage(
  text: string,
  vars: ReadonlyMap<string, string>,
  at: { readonly ins: Instruction; readonly file: string; readonly escape: string },
): string[] {
  return positioned(() => expandWords(text, vars, at.escape), at);
}

function positioned<T>(expand: () => T, at: { readonly ins: Instruction; readonly file: string }): T {
  try {
    return expand();
  } catch (err) {
    if (!(err instanceof ExpansionError)) throw err;
    throw new BuilderError('INVALID_INSTRUCTION', err.message, { location: locationOf(at.ins, at.file) });
  }
}

export function locationOf(ins: Instruction, file: string): { file: string; line: number; column: number } {
  return { file, line: ins.range.start.line, column: ins.range.start.column };
}
