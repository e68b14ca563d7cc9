import { DockerfileParser } from 'dockerfile-ast';
import type { SourceRange } from './source-range.js';

/** One instruction as the line structure shows it, before kiln gives it meaning. */
export interface RawInstruction {
  readonly keyword: string;
  readonly range: SourceRange;
  /** 1-based position where the arguments start (just after the keyword if there are none). */
  readonly argsStart: { readonly line: number; readonly column: number };
  /** The arguments as written, continuation lines included. */
  readonly rawArgs: string;
  readonly source: string;
}

export interface RawDockerfile {
  readonly escape: string;
  readonly directives: ReadonlyMap<string, string>;
  readonly instructions: readonly RawInstruction[];
}

/**
 * The only place that touches dockerfile-ast: it finds instructions, their ranges and the
 * escape directive. Everything it gets wrong (continuations with comments, JSON, words) is
 * re-done from the raw text by our own modules.
 */
export function readRawDockerfile(text: string): RawDockerfile {
  const doc = DockerfileParser.parse(text);
  const lines = text.split('\n');
  const directives = new Map<string, string>();
  for (const d of doc.getDirectives()) {
    const name = d.getName();
    const value = d.getValue();
    if (name) directives.set(name.toLowerCase(), value ?? '');
  }
  const instructions = doc.getInstructions().map((ins): RawInstruction => {
    const r = ins.getRange();
    const kw = ins.getInstructionRange();
    // Flags are not part of dockerfile-ast's argument range for some instructions: take all
    // text after the keyword instead, and locate where the first argument starts ourselves.
    const source = sliceText(lines, r.start.line, r.start.character, r.end.line, r.end.character);
    const afterKeyword = sliceText(lines, kw.end.line, kw.end.character, r.end.line, r.end.character);
    const lead = /^[ \t]*/.exec(afterKeyword)?.[0].length ?? 0;
    const rawArgs = afterKeyword.slice(lead);
    const start = { line: kw.end.line, character: kw.end.character + lead };
    return {
      keyword: ins.getInstruction(),
      range: {
        start: { line: r.start.line + 1, column: r.start.character + 1 },
        end: { line: r.end.line + 1, column: r.end.character + 1 },
      },
      argsStart: { line: start.line + 1, column: start.character + 1 },
      rawArgs,
      source,
    };
  });
  return { escape: doc.getEscapeCharacter(), directives, instructions };
}

function sliceText(lines: readonly string[], l1: number, c1: number, l2: number, c2: number): string {
  if (l1 === l2) return (lines[l1] ?? '').slice(c1, c2);
  const parts = [(lines[l1] ?? '').slice(c1)];
  for (let l = l1 + 1; l < l2; l++) parts.push(lines[l] ?? '');
  parts.push((lines[l2] ?? '').slice(0, c2));
  return parts.join('\n').replace(/\r/g, '');
}
