import { ShellWord } from './shell-word.js';

/** A heredoc announced on an instruction line; the body is read by the line reader. */
export interface HeredocStart {
  readonly name: string;
  readonly expand: boolean;
  readonly chomp: boolean;
  readonly fileDescriptor: number;
}

const HEREDOC = /^(\d*)<<(-?)\s*([^<]*)$/;
const NO_VARS: ReadonlyMap<string, string> = new Map();

/**
 * The heredocs a RUN/COPY/ADD line announces, in order (BuildKit's heredocsFromLine). Words of
 * the line are found with quotes and escapes kept; a word `[n]<<[-]NAME` starts a heredoc.
 * Throws ExpansionError when the line cannot be lexed.
 */
export function findHeredocs(line: string): HeredocStart[] {
  let words: string[];
  try {
    words = new ShellWord(line, NO_VARS, '\\', { rawQuotes: true, rawEscapes: true }).process().words;
  } catch {
    // BuildKit ignores lexing errors of the whole line here; the instruction reports them later.
    return [];
  }
  const found: HeredocStart[] = [];
  for (const w of words) {
    const h = parseHeredoc(w);
    if (h) found.push(h);
  }
  return found;
}

/** One `[n]<<[-]NAME` word, or undefined when the word is not a heredoc start. */
export function parseHeredoc(word: string): HeredocStart | undefined {
  const m = HEREDOC.exec(word);
  const rest = m?.[3];
  if (!m || !rest) return undefined;
  const lex = (rawQuotes: boolean): string[] =>
    new ShellWord(rest, NO_VARS, '\\', { rawQuotes, skipUnset: true }).process().words;
  const plain = lex(false);
  if (plain.length !== 1) return undefined;
  const raw = lex(true);
  const quotes = (s: string): number => s.replace(/[^'"]/g, '').length;
  const name = plain[0] as string;
  return {
    name,
    // Any quoted part of the name (`'EOF'`, `eo"f"`) turns expansion of the body off.
    expand: quotes(name) === quotes(raw[0] ?? ''),
    chomp: m[2] === '-',
    fileDescriptor: Number(m[1] || '0'),
  };
}
