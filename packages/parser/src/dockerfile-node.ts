import type { SourceRange } from './source-range.js';

/** A heredoc body attached to a RUN/COPY/ADD line (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`). */
export interface Heredoc {
  /** The delimiter with quotes removed. */
  readonly name: string;
  /** The body exactly as written, every line with its newline, without the terminator line. */
  readonly content: string;
  /** False when any part of the delimiter was quoted: the body is then used literally. */
  readonly expand: boolean;
  /** `<<-`: leading TABs of each body line are to be removed (see chompHeredoc). */
  readonly chomp: boolean;
  /** The file descriptor written before `<<` (`3<<EOF`), 0 when there is none. */
  readonly fileDescriptor: number;
}

/**
 * One instruction as BuildKit's parser layer sees it, before any meaning is given to it: the
 * keyword as written, the unquoted leading flags and the argument nodes (rules per keyword in
 * the conformance README §1.4). Nothing is validated or expanded at this layer.
 */
export interface DockerfileNode {
  /** The instruction word as written (`from`, `FROM`, `FOO`). */
  readonly keyword: string;
  /** Leading `--name[=value]` words with quotes and escapes removed, `--` dropped. */
  readonly flags: readonly string[];
  /**
   * Argument nodes: JSON strings, verbatim words or one verbatim string depending on the
   * keyword; ENV/LABEL give (key, value, separator) triples, HEALTHCHECK its type word first.
   */
  readonly args: readonly string[];
  /** Whether the arguments were in JSON (exec) form. */
  readonly json: boolean;
  /** ONBUILD: the trigger instruction, parsed as a line of its own. */
  readonly trigger?: DockerfileNode;
  readonly heredocs: readonly Heredoc[];
  /** The logical line (continuations joined, comments inside it dropped). */
  readonly original: string;
  /** From the keyword to the end of the last physical line consumed (heredoc bodies included). */
  readonly range: SourceRange;
  /** The physical lines of the instruction as written, from the keyword on. */
  readonly source: string;
}

/** Removes the leading TABs of every line, as `<<-` asks. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}
