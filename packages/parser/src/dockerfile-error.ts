/** One problem found in a Dockerfile, at a 1-based line and column. */
export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly hint?: string;
  /** What kind of problem: an error code, or the BuildKit rule name of a warning. */
  readonly code?: DockerfileErrorCode | DockerfileWarningCode;
}

export type DockerfileErrorCode =
  | 'DOCKERFILE_SYNTAX'
  | 'DOCKERFILE_UNKNOWN_INSTRUCTION'
  | 'DOCKERFILE_MISSING_ARGUMENTS'
  | 'DOCKERFILE_NO_FROM'
  | 'DOCKERFILE_BAD_FLAG'
  | 'DOCKERFILE_BAD_SUBSTITUTION'
  | 'DOCKERFILE_BAD_QUOTES'
  | 'DOCKERFILE_BAD_DIRECTIVE'
  | 'DOCKERFILE_DUPLICATE_FLAG'
  | 'DOCKERFILE_UNTERMINATED_HEREDOC'
  | 'DOCKERFILE_NO_INSTRUCTIONS';

/** Warnings never fail a parse; their codes are BuildKit's lint rule names. */
export type DockerfileWarningCode =
  'MaintainerDeprecated' | 'JSONArgsRecommended' | 'StageNameCasing' | 'FromAsCasing' | 'NoEmptyContinuation';

/**
 * The one error class of @kiln/parser. It carries every diagnostic of a parse (`code` is the
 * first one's); `message` is the
 * compiler-style rendering (`file:line:col: message`) of all of them, and `format(text)` adds a
 * code frame for each.
 */
export class DockerfileError extends Error {
  override readonly name = 'DockerfileError';
  constructor(
    readonly code: DockerfileErrorCode,
    readonly diagnostics: readonly Diagnostic[],
    readonly hint?: string,
  ) {
    super(diagnostics.map(renderDiagnostic).join('\n'));
  }

  /** The diagnostics with a code frame cut from the Dockerfile's text. */
  format(text: string): string {
    return this.diagnostics
      .map((d) => `${renderDiagnostic(d)}\n${codeFrame(text, d.line, d.column)}`)
      .join('\n');
  }
}

function renderDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`;
}

/** Two lines of context above the offending line and a caret under its column. */
export function codeFrame(text: string, line: number, column: number): string {
  const lines = text.split(/\r?\n/);
  const first = Math.max(1, line - 2);
  const width = String(line).length;
  const out: string[] = [];
  for (let n = first; n <= Math.min(line, lines.length); n++) {
    const marker = n === line ? '>' : ' ';
    out.push(`${marker} ${String(n).padStart(width)} | ${lines[n - 1] ?? ''}`);
  }
  out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  return out.join('\n');
}
