/** Variables visible to word expansion. */
export type Vars = ReadonlyMap<string, string>;

/** Thrown for malformed words; the parser and builder turn it into a positioned DockerfileError. */
export class ExpansionError extends Error {
  override readonly name = 'ExpansionError';
}

/**
 * Expands one word as BuildKit's shell lexer does: removes quotes, applies escapes (with the
 * Dockerfile's escape character), substitutes `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`,
 * `${V+w}`, `${V:?msg}` and `${V?msg}`. Single quotes keep everything literal.
 */
export function expandWord(word: string, vars: Vars, escape = '\\'): string {
  return new Expander(word, vars, escape).word();
}

class Expander {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly vars: Vars,
    private readonly escape: string,
  ) {}

  word(stopAt?: string): string {
    let out = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i] as string;
      if (stopAt !== undefined && ch === stopAt) break;
      if (ch === this.escape) {
        this.i++;
        if (this.i < this.s.length) out += this.s[this.i++];
        continue;
      }
      if (ch === "'") out += this.singleQuoted();
      else if (ch === '"') out += this.doubleQuoted();
      else if (ch === '$') out += this.dollar();
      else {
        out += ch;
        this.i++;
      }
    }
    return out;
  }

  private singleQuoted(): string {
    const end = this.s.indexOf("'", this.i + 1);
    if (end < 0)
      throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
    const text = this.s.slice(this.i + 1, end);
    this.i = end + 1;
    return text;
  }

  private doubleQuoted(): string {
    this.i++;
    let out = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i] as string;
      if (ch === '"') {
        this.i++;
        return out;
      }
      if (ch === this.escape) {
        const next = this.s[this.i + 1];
        if (next === '"' || next === '$' || next === this.escape) {
          out += next;
          this.i += 2;
          continue;
        }
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      out += ch;
      this.i++;
    }
    throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
  }

  private dollar(): string {
    this.i++; // '$'
    const next = this.s[this.i];
    if (next === '{') return this.braced();
    const name = this.name();
    if (!name) return '$';
    return this.vars.get(name) ?? '';
  }

  private name(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]/.exec(this.s.slice(this.i));
    if (!m) return '';
    this.i += m[0].length;
    return m[0];
  }

  private braced(): string {
    this.i++; // '{'
    const name = this.name();
    if (!name) throw new ExpansionError(`bad substitution in "${this.s}"`);
    if (this.s[this.i] === '}') {
      this.i++;
      return this.vars.get(name) ?? '';
    }
    let op = this.s[this.i] ?? '';
    this.i++;
    if (op === ':') {
      op += this.s[this.i] ?? '';
      this.i++;
    }
    const arg = this.word('}');
    if (this.s[this.i] !== '}') throw new ExpansionError(`missing '}' in "${this.s}"`);
    this.i++;
    const value = this.vars.get(name);
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (op) {
      case ':-':
        return nonEmpty ? value : arg;
      case '-':
        return set ? value : arg;
      case ':+':
        return nonEmpty ? arg : '';
      case '+':
        return set ? arg : '';
      case ':?':
      case '?':
        if (op === ':?' ? nonEmpty : set) return value ?? '';
        throw new ExpansionError(`${name}: ${arg || 'is not allowed to be unset'}`);
      default:
        throw new ExpansionError(`unsupported modifier "${op}" in substitution "${this.s}"`);
    }
  }
}

/** Expands each word of a list (a word that expands to nothing stays an empty string). */
export function expandWords(words: readonly string[], vars: Vars, escape = '\\'): string[] {
  return words.map((w) => expandWord(w, vars, escape));
}
