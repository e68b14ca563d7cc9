import { shellPatternToRegExp } from './shell-pattern.js';

/** Variables visible to word expansion. */
export type Vars = ReadonlyMap<string, string>;

/** Thrown for malformed words; the parser and builder turn it into a positioned DockerfileError. */
export class ExpansionError extends Error {
  override readonly name = 'ExpansionError';
}

/** How the lexer treats quotes, escapes and unset variables (BuildKit's Lex options). */
export interface LexOptions {
  /** Keep quote characters in the output (heredoc and line scanning). */
  readonly rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  readonly rawEscapes?: boolean;
  /** Leave `$V` / `${V...}` of unset variables as written. */
  readonly skipUnset?: boolean;
}

const SPACE = /^\p{White_Space}$/u;
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/** BuildKit's word list: unquoted blanks split, quoted or escaped text never does. */
class Words {
  private word = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (SPACE.test(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else this.addRaw(ch);
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRaw(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.word.length > 0) this.words.push(this.word);
    this.word = '';
    return this.words;
  }
}

/**
 * One run of BuildKit's shell lexer (shell/lex.go) over a string: quote removal, escapes,
 * `$V`, `${V}`, the POSIX modifiers `- :- + :+ ? :?`, and the pattern operators
 * `# ## % %% / //`. Throws ExpansionError for malformed input.
 */
export class ShellWord {
  private readonly chars: string[];
  private i = 0;

  constructor(
    text: string,
    private readonly vars: Vars,
    private readonly escape: string,
    private readonly options: LexOptions = {},
  ) {
    this.chars = Array.from(text);
  }

  /** The whole text as one word, and as a list of words split on unquoted blanks. */
  process(): { word: string; words: string[] } {
    return this.processStopOn(undefined, this.options.rawEscapes ?? false);
  }

  private peek(): string | undefined {
    return this.chars[this.i];
  }
  private next(): string | undefined {
    return this.chars[this.i++];
  }

  private processStopOn(stop: string | undefined, rawEscapes: boolean): { word: string; words: string[] } {
    let result = '';
    const words = new Words();
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (stop !== undefined && ch === stop) {
        this.next();
        return { word: result, words: words.finish() };
      }
      if (ch === "'" || ch === '"' || ch === '$') {
        const text = ch === "'" ? this.singleQuoted() : ch === '"' ? this.doubleQuoted() : this.dollar();
        result += text;
        if (ch === '$') words.addString(text);
        else words.addRaw(text);
        continue;
      }
      this.next();
      if (ch === this.escape) {
        if (rawEscapes) {
          words.addRaw(ch);
          result += ch;
        }
        const escaped = this.next();
        if (escaped === undefined) break;
        words.addRaw(escaped);
        result += escaped;
        continue;
      }
      words.addChar(ch);
      result += ch;
    }
    if (stop !== undefined) {
      throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
    }
    return { word: result, words: words.finish() };
  }

  private singleQuoted(): string {
    const raw = this.options.rawQuotes ?? false;
    let out = raw ? "'" : '';
    this.next();
    for (;;) {
      const ch = this.next();
      if (ch === undefined) {
        throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
      }
      if (ch === "'") return raw ? `${out}'` : out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    const raw = this.options.rawQuotes ?? false;
    let out = raw ? '"' : '';
    this.next();
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      }
      if (ch === '"') {
        this.next();
        return raw ? `${out}"` : out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.escape) {
        const after = this.peek();
        if (after === undefined) continue;
        // Only these can be escaped inside double quotes; any other escape stays as written.
        if (after === '"' || after === '$' || after === this.escape) {
          if (this.options.rawEscapes) out += ch;
          out += this.next() as string;
          continue;
        }
      }
      out += ch;
    }
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      const value = this.vars.get(name);
      if (value === undefined && this.options.skipUnset) return `$${name}`;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':')
      throw new ExpansionError('syntax error: bad substitution');
    const name = this.name();
    let ch = this.next();
    let modifier = ch ?? '';
    const value = this.vars.get(name);
    const set = value !== undefined;
    switch (ch) {
      case undefined:
        throw new ExpansionError("syntax error: missing '}'");
      case '}':
        if (!set && this.options.skipUnset) return `\${${name}}`;
        return value ?? '';
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%': {
        const nullIsUnset = ch === ':';
        if (nullIsUnset) {
          ch = this.next();
          modifier += ch ?? '';
        }
        const rawEscapes = ch === '#' || ch === '%';
        if (nullIsUnset && rawEscapes) {
          throw new ExpansionError(`unsupported modifier (${modifier}) in substitution`);
        }
        const word = this.stopOnBrace(rawEscapes);
        if (!set && this.options.skipUnset) return `\${${name}${modifier}${word}}`;
        const unset = !set || (nullIsUnset && value === '');
        switch (ch) {
          case '-':
            return unset ? word : (value ?? '');
          case '+':
            return unset ? '' : word;
          case '?':
            if (!set) throw new ExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
            if (unset) throw new ExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
            return value ?? '';
          case '#':
          case '%': {
            const greedy = word.startsWith(ch);
            const pattern = greedy ? word.slice(1) : word;
            return ch === '#'
              ? trimPrefix(pattern, value ?? '', greedy)
              : trimSuffix(pattern, value ?? '', greedy);
          }
          default:
            throw new ExpansionError(`unsupported modifier (${modifier}) in substitution`);
        }
      }
      case '/': {
        const all = this.peek() === '/';
        if (all) this.next();
        const pattern = this.stopOn('/', "syntax error: missing '/' in ${}");
        const replacement = this.stopOn('}', "syntax error: missing '}'");
        if (!set && this.options.skipUnset) return `\${${name}/${pattern}/${replacement}}`;
        const re = compile(pattern, true, false);
        const target = value ?? '';
        if (all) return target.replace(new RegExp(re.source, 'gu'), () => replacement);
        return target.replace(re, () => replacement);
      }
      default:
        throw new ExpansionError(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  private stopOnBrace(rawEscapes: boolean): string {
    try {
      return this.processStopOn('}', rawEscapes).word;
    } catch (err) {
      if (this.peek() === undefined) throw new ExpansionError("syntax error: missing '}'");
      throw err;
    }
  }

  private stopOn(stop: string, missing: string): string {
    try {
      return this.processStopOn(stop, true).word;
    } catch (err) {
      if (this.peek() === undefined) throw new ExpansionError(missing);
      throw err;
    }
  }

  /** A name: Unicode letters, digits and `_`; all digits of a positional; one special character. */
  private name(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && DIGIT.test(ch)) {
        while (this.peek() !== undefined && DIGIT.test(this.peek() as string)) name += this.next() as string;
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.next() as string;
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== '_') break;
      name += this.next() as string;
    }
    return name;
  }
}

function compile(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  try {
    return shellPatternToRegExp(pattern, greedy, anchored);
  } catch (err) {
    throw new ExpansionError(
      `invalid pattern (${pattern}) in substitution: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = compile(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** Regular expressions cannot find the shortest rightmost match: reverse both and trim a prefix. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reversed = trimPrefix(reversePattern(pattern), reverse(value), greedy);
  return reverse(reversed);
}

function reverse(s: string): string {
  return Array.from(s).reverse().join('');
}

/** Reverses a pattern but keeps each `\x` escape in front of its character. */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = [];
  for (let i = 0; i < chars.length;) {
    if (chars[i] === '\\' && i !== chars.length - 1) {
      out.unshift('\\', chars[i + 1] as string);
      i += 2;
    } else {
      out.unshift(chars[i] as string);
      i++;
    }
  }
  return out.join('');
}
