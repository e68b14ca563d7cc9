import { readRawDockerfile } from './ast-adapter.js';
import { DockerfileError, type Diagnostic, type DockerfileErrorCode } from './dockerfile-error.js';
import type { Dockerfile, Instruction } from './instructions.js';
import { joinContinuations } from './join-continuations.js';
import { InstructionSyntaxError, KEYWORDS, parseInstruction } from './parse-instruction.js';
import { suggestKeyword } from './suggest-keyword.js';

export interface ParseOptions {
  /** The name used in diagnostics, e.g. "Dockerfile". */
  readonly file: string;
}

/**
 * Parses a Dockerfile into typed, immutable instructions with 1-based ranges. Pure: no I/O, no
 * build args. Throws one DockerfileError listing every diagnostic found.
 */
export function parseDockerfile(text: string, options: ParseOptions): Dockerfile {
  const raw = readRawDockerfile(text);
  const diagnostics: Diagnostic[] = [];
  let code: DockerfileErrorCode | undefined;
  const instructions: Instruction[] = [];
  for (const r of raw.instructions) {
    const keyword = r.keyword.toUpperCase();
    try {
      const ins = parseInstruction({
        keyword,
        args: joinContinuations(r.rawArgs, raw.escape),
        escape: raw.escape,
        base: { range: r.range, source: r.source },
      });
      if (!ins) {
        const guess = suggestKeyword(keyword, KEYWORDS);
        code ??= 'DOCKERFILE_UNKNOWN_INSTRUCTION';
        diagnostics.push({
          file: options.file,
          ...r.range.start,
          message: `unknown instruction "${r.keyword}"${guess ? ` (did you mean "${guess}"?)` : ''}`,
        });
        continue;
      }
      instructions.push(ins);
    } catch (err) {
      if (!(err instanceof InstructionSyntaxError)) throw err;
      code ??= err.code;
      diagnostics.push({ file: options.file, ...r.argsStart, message: err.message });
    }
  }
  const first = instructions.find((i) => i.kind !== 'arg');
  if (diagnostics.length === 0 && first && first.kind !== 'from') {
    code = 'DOCKERFILE_NO_FROM';
    diagnostics.push({
      file: options.file,
      ...first.range.start,
      message:
        'no build stage in current context: the first instruction must be FROM (only ARG may precede it)',
    });
  }
  if (diagnostics.length === 0 && instructions.length === 0) {
    code = 'DOCKERFILE_NO_FROM';
    diagnostics.push({
      file: options.file,
      line: 1,
      column: 1,
      message: 'the Dockerfile has no instructions',
    });
  }
  if (code) throw new DockerfileError(code, diagnostics);
  return { file: options.file, escape: raw.escape, directives: raw.directives, instructions };
}
