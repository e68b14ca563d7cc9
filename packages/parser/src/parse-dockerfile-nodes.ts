import { DirectiveParser } from './directive-parser.js';
import { DockerfileError, type Diagnostic, type DockerfileErrorCode } from './dockerfile-error.js';
import type { DockerfileNode, Heredoc } from './dockerfile-node.js';
import { findHeredocs, type HeredocStart } from './find-heredocs.js';
import { parseNodeArgs } from './parse-node-args.js';
import { splitCommand } from './split-command.js';

/** The parser layer's view of a file: nodes, directives and what was found wrong. */
export interface DockerfileNodes {
  readonly escape: string;
  readonly directives: ReadonlyMap<string, string>;
  readonly nodes: readonly DockerfileNode[];
  /** Problems that make the file invalid, each with its code. */
  readonly errors: readonly ErrorDiagnostic[];
  /** Problems that do not (empty continuation lines). */
  readonly warnings: readonly Diagnostic[];
}

/** A diagnostic that fails the parse. */
export type ErrorDiagnostic = Diagnostic & { readonly code: DockerfileErrorCode };

export interface NodeParseOptions {
  /** The name used in diagnostics, e.g. "Dockerfile". */
  readonly file: string;
}

/**
 * Parses a Dockerfile into BuildKit's parser-layer nodes (see dumpAst for the matching dump).
 * Pure. Throws one DockerfileError listing every problem of this layer: bad directives, JSON
 * arrays with non-strings, ENV/LABEL without a value, unterminated heredocs, no instructions.
 */
export function parseDockerfileNodes(text: string, options: NodeParseOptions): DockerfileNodes {
  const result = readDockerfileNodes(text, options);
  const first = result.errors[0];
  if (first) throw new DockerfileError(first.code, result.errors);
  return result;
}

const COMMENT = /^\s*#/u;

/** Like parseDockerfileNodes, but returns the errors instead of throwing (parseDockerfile adds its own). */
export function readDockerfileNodes(text: string, options: NodeParseOptions): DockerfileNodes {
  const lines = physicalLines(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const directives = new DirectiveParser();
  const errors: ErrorDiagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const nodes: DockerfileNode[] = [];
  const error = (code: DockerfileErrorCode, line: number, column: number, message: string, hint?: string) =>
    errors.push({ file: options.file, line, column, message, code, ...(hint ? { hint } : {}) });

  let n = 0; // index of the next physical line
  const offer = (line: string, at: number): void => {
    try {
      directives.offer(line);
    } catch (err) {
      error('DOCKERFILE_BAD_DIRECTIVE', at + 1, 1, (err as Error).message);
    }
  };
  while (n < lines.length) {
    const startIndex = n;
    const physical = trimNewline(lines[n] as string);
    const indent = physical.length - physical.trimStart().length;
    const firstLine = physical.trimStart();
    offer(firstLine, n);
    n++;
    const escape = directives.escape;
    let { text: line, continues } = trimContinuation(COMMENT.test(firstLine) ? '' : firstLine, escape);
    if (!continues && line === '') continue;
    let emptyContinuation = false;
    while (continues && n < lines.length) {
      const raw = trimNewline(lines[n] as string);
      offer(raw, n);
      n++;
      if (COMMENT.test(raw)) continue;
      if (raw.trim() === '') {
        emptyContinuation = true;
        continue;
      }
      const next = trimContinuation(raw, escape);
      line += next.text;
      continues = next.continues;
    }
    const startLine = startIndex + 1;
    const column = indent + 1;
    if (emptyContinuation) {
      warnings.push({
        file: options.file,
        line: startLine,
        column,
        code: 'NoEmptyContinuation',
        message: 'Empty continuation lines will become errors in a future release',
      });
    }
    const built = buildNode(line, escape);
    let heredocs: Heredoc[] = [];
    if (built.ok && canContainHeredoc(built.node) && line.includes('<<')) {
      let starts: HeredocStart[] = [];
      try {
        starts = findHeredocs(line);
      } catch (err) {
        error('DOCKERFILE_SYNTAX', startLine, column, (err as Error).message);
      }
      const read = readHeredocs(starts, lines, n);
      n = read.next;
      heredocs = read.heredocs;
      if (read.unterminated) {
        error(
          'DOCKERFILE_UNTERMINATED_HEREDOC',
          startLine,
          column,
          `unterminated heredoc "${read.unterminated}"`,
          `end the heredoc with a line that is exactly "${read.unterminated}"`,
        );
      }
    }
    const endIndex = n - 1;
    const lastLine = trimNewline(lines[endIndex] as string);
    const range = {
      start: { line: startLine, column },
      end: { line: endIndex + 1, column: lastLine.length + 1 },
    };
    const source = [firstLine, ...lines.slice(startIndex + 1, n).map(trimNewline)].join('\n');
    if (!built.ok) {
      error(built.code, startLine, column + built.offset, built.message);
      continue;
    }
    nodes.push(withPlace(built.node, { heredocs, original: line, range, source }));
  }
  if (nodes.length === 0 && errors.length === 0) {
    error(
      'DOCKERFILE_NO_INSTRUCTIONS',
      Math.max(1, lines.length),
      1,
      'file with no instructions',
      'a Dockerfile needs at least a FROM instruction',
    );
  }
  return { escape: directives.escape, directives: directives.directives, nodes, errors, warnings };
}

type Place = Pick<DockerfileNode, 'heredocs' | 'original' | 'range' | 'source'>;
type Unplaced = Omit<DockerfileNode, keyof Place | 'trigger'> & { readonly trigger?: Unplaced };
type Built =
  | { readonly ok: true; readonly node: Unplaced }
  | {
      readonly ok: false;
      readonly code: DockerfileErrorCode;
      readonly offset: number;
      readonly message: string;
    };

function buildNode(line: string, escape: string): Built {
  const cmd = splitCommand(line, escape);
  const parsed = parseNodeArgs(cmd.keyword, cmd.rest, escape);
  const indent = line.length - line.trimStart().length;
  if (!parsed.ok) {
    return { ok: false, code: 'DOCKERFILE_SYNTAX', offset: indent + cmd.restOffset, message: parsed.message };
  }
  let trigger: Unplaced | undefined;
  if (parsed.subLine !== undefined) {
    const sub = buildNode(parsed.subLine, escape);
    if (!sub.ok) return { ...sub, offset: indent + cmd.restOffset + sub.offset };
    trigger = sub.node;
  }
  return {
    ok: true,
    node: {
      keyword: cmd.keyword,
      flags: cmd.flags,
      args: parsed.args,
      json: parsed.json,
      ...(trigger ? { trigger } : {}),
    },
  };
}

/** The trigger of an ONBUILD gets the place of the ONBUILD line (it has no body of its own). */
function withPlace(node: Unplaced, place: Place): DockerfileNode {
  const { trigger, ...rest } = node;
  return {
    ...rest,
    ...place,
    ...(trigger ? { trigger: withPlace(trigger, { ...place, heredocs: [] }) } : {}),
  };
}

function canContainHeredoc(node: Unplaced): boolean {
  const target = node.keyword.toLowerCase() === 'onbuild' && node.trigger ? node.trigger : node;
  return ['run', 'copy', 'add'].includes(target.keyword.toLowerCase()) && !target.json;
}

function readHeredocs(
  starts: readonly HeredocStart[],
  lines: readonly string[],
  from: number,
): { heredocs: Heredoc[]; next: number; unterminated?: string } {
  const heredocs: Heredoc[] = [];
  let n = from;
  for (const start of starts) {
    let content = '';
    let terminated = false;
    while (n < lines.length) {
      const raw = lines[n++] as string;
      let candidate = trimNewline(raw);
      if (start.chomp) candidate = candidate.replace(/^\t+/, '');
      if (candidate === start.name) {
        terminated = true;
        break;
      }
      content += raw;
    }
    if (!terminated) return { heredocs, next: n, unterminated: start.name };
    heredocs.push({ ...start, content });
  }
  return { heredocs, next: n };
}

/** Splits after each newline, keeping it (heredoc bodies need the exact bytes). */
function physicalLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}

function trimNewline(line: string): string {
  return line.replace(/[\r\n]+$/, '');
}

// The escape directive allows only these two characters (DirectiveParser checks it).
const BACKSLASH_CONTINUATION = /(^|[^\\])\\[ \t]*$/;
const BACKTICK_CONTINUATION = /(^|[^`])`[ \t]*$/;

/**
 * BuildKit's continuation test: the escape character at the end (blanks after it allowed),
 * either first on the line or after a character that is not itself the escape character.
 */
function trimContinuation(line: string, escape: string): { text: string; continues: boolean } {
  const m = (escape === '`' ? BACKTICK_CONTINUATION : BACKSLASH_CONTINUATION).exec(line);
  if (!m) return { text: line, continues: false };
  return { text: line.slice(0, m.index) + (m[1] ?? ''), continues: true };
}
