import { DockerfileError, type Diagnostic } from './dockerfile-error.js';
import type { Dockerfile, Instruction } from './instructions.js';
import { InstructionSyntaxError } from './instruction-syntax-error.js';
import { readDockerfileNodes, type ErrorDiagnostic } from './parse-dockerfile-nodes.js';
import { KEYWORDS, parseInstruction } from './parse-instruction.js';
import { suggestKeyword } from './suggest-keyword.js';

export interface ParseOptions {
  /** The name used in diagnostics, e.g. "Dockerfile". */
  readonly file: string;
}

/**
 * Parses a Dockerfile into typed, immutable instructions with 1-based ranges. Pure: no I/O, no
 * build args. Throws one DockerfileError listing every error found (its `code` is the first
 * one's); warnings are returned on the result, never thrown.
 */
export function parseDockerfile(text: string, options: ParseOptions): Dockerfile {
  const raw = readDockerfileNodes(text, options);
  const errors: ErrorDiagnostic[] = [...raw.errors];
  const warnings: Diagnostic[] = [...raw.warnings];
  const instructions: Instruction[] = [];
  for (const node of raw.nodes) {
    const at = node.range.start;
    try {
      const ins = parseInstruction({
        node,
        escape: raw.escape,
        warn: (code, message) => warnings.push({ file: options.file, ...at, code, message }),
      });
      if (ins) {
        instructions.push(ins);
        continue;
      }
      const guess = suggestKeyword(node.keyword, KEYWORDS);
      errors.push({
        file: options.file,
        ...at,
        code: 'DOCKERFILE_UNKNOWN_INSTRUCTION',
        message: `unknown instruction "${node.keyword}"${guess ? ` (did you mean "${guess}"?)` : ''}`,
      });
    } catch (err) {
      if (!(err instanceof InstructionSyntaxError)) throw err;
      errors.push({
        file: options.file,
        line: at.line,
        column: argsColumn(node.source, node.keyword, at.column),
        code: err.code,
        message: err.message,
        ...(endsInContinuation(node.source, raw.escape) && err.code === 'DOCKERFILE_MISSING_ARGUMENTS'
          ? { hint: 'the file ends inside a line continuation: the arguments after it are missing' }
          : err.hint
            ? { hint: err.hint }
            : {}),
      });
    }
  }
  const first = instructions.find((i) => i.kind !== 'arg');
  if (errors.length === 0 && first && first.kind !== 'from') {
    errors.push({
      file: options.file,
      ...first.range.start,
      code: 'DOCKERFILE_NO_FROM',
      message:
        'no build stage in current context: the first instruction must be FROM (only ARG may precede it)',
      hint: 'start the Dockerfile with FROM <image>',
    });
  }
  const firstError = errors[0];
  if (firstError) throw new DockerfileError(firstError.code, errors);
  const skipped = skippedChecks(raw.directives.get('check'));
  const kept = warnings.filter((w) => !skipped.has('all') && !skipped.has(String(w.code)));
  return { file: options.file, escape: raw.escape, directives: raw.directives, instructions, warnings: kept };
}

/**
 * The rules `# check=skip=A,B;error=true` turns off (`all` for every rule), as BuildKit reads
 * it. `error=true` is the builder's to apply: the warnings kept are still returned, not thrown.
 */
function skippedChecks(check: string | undefined): Set<string> {
  const skip = check
    ?.split(';')
    .map((part) => part.trim())
    .find((part) => part.toLowerCase().startsWith('skip='));
  return new Set((skip?.slice(5).split(',') ?? []).map((rule) => rule.trim()).filter((r) => r !== ''));
}

/** Whether the instruction's last line is an escape-character continuation (only at end of file). */
function endsInContinuation(source: string, escape: string): boolean {
  const last = source.replace(/\n+$/, '').split('\n').pop() ?? '';
  return last.trimEnd().endsWith(escape);
}

/** Where the arguments start on the instruction's first line (after the keyword and blanks). */
function argsColumn(source: string, keyword: string, column: number): number {
  const firstLine = source.split('\n', 1)[0] ?? '';
  const blanks = /^[ \t]*/.exec(firstLine.slice(keyword.length))?.[0].length ?? 0;
  return column + keyword.length + blanks;
}
