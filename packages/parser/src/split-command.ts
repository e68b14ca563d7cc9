const BLANKS = /[\t\v\f\r ]+/;
const SPACE = /^\p{White_Space}$/u;

/** A logical line cut into keyword, leading flags and the remaining argument text. */
export interface SplitCommand {
  readonly keyword: string;
  readonly flags: string[];
  /** The text after the flags, trimmed. */
  readonly rest: string;
  /** Offset of `rest` in the trimmed line (for diagnostics). */
  readonly restOffset: number;
}

/**
 * BuildKit's splitCommand + extractBuilderFlags: every instruction may start with `--flags`;
 * quotes group and are removed, the escape character makes the next character literal, a bare
 * `--` ends the flags.
 */
export function splitCommand(line: string, escape: string): SplitCommand {
  const trimmed = line.trim();
  const m = BLANKS.exec(trimmed);
  if (!m) return { keyword: trimmed, flags: [], rest: '', restOffset: trimmed.length };
  const keyword = trimmed.slice(0, m.index);
  const argsStart = m.index + m[0].length;
  const { flags, rest } = extractFlags(trimmed.slice(argsStart), escape);
  const restTrimmed = rest.trim();
  const restOffset = trimmed.length - rest.length + (rest.length - rest.trimStart().length);
  return { keyword, flags, rest: restTrimmed, restOffset };
}

function isSpace(ch: string): boolean {
  return SPACE.test(ch);
}

function extractFlags(line: string, escape: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && isSpace(line[pos] as string)) pos++;
    if (pos >= line.length) return { flags, rest: '' };
    if (!line.startsWith('--', pos)) return { flags, rest: line.slice(pos) };
    let word = '';
    let quoted = false;
    let quote: string | undefined;
    for (; pos < line.length; pos++) {
      const ch = line[pos] as string;
      if (quote) {
        if (ch === quote) {
          quote = undefined;
          continue;
        }
      } else {
        if (isSpace(ch)) break;
        if (ch === "'" || ch === '"') {
          quote = ch;
          quoted = true;
          continue;
        }
      }
      if (ch === escape) {
        if (pos + 1 === line.length) continue;
        pos++;
        word += line[pos];
        continue;
      }
      word += ch;
    }
    if (word === '--') return { flags, rest: pos >= line.length ? '' : line.slice(pos) };
    if (quoted || word.length > 0) flags.push(word);
    if (pos >= line.length) return { flags, rest: '' };
  }
}
