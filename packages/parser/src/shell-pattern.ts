/**
 * Turns a shell pattern (`*`, `?`, `[...]`, `\x`) into a RegExp as BuildKit does for
 * `${V#p}`, `${V%p}` and `${V/p/r}`. `greedy` picks `.*` over `.*?`; `anchored` adds `^`.
 * Throws a SyntaxError when the pattern gives an invalid expression.
 */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '*') out += greedy ? '.*' : '.*?';
    else if (ch === '?') out += '.';
    else if (ch === '\\' && i + 1 < chars.length) out += quoteMeta(chars[++i] as string);
    else if (ch === '[') {
      const cls = charClass(chars, i);
      if (cls) {
        out += cls.text;
        i = cls.end;
      } else out += '\\[';
    } else out += quoteMeta(ch);
  }
  return new RegExp(out, 'u');
}

/** `[!a-z]` / `[^a-z]` / `[a\]]` from chars[start] ('['); undefined when it never closes. */
function charClass(chars: readonly string[], start: number): { text: string; end: number } | undefined {
  let i = start + 1;
  let text = '[';
  if (chars[i] === '!' || chars[i] === '^') {
    text += '^';
    i++;
  }
  for (let first = true; i < chars.length; i++, first = false) {
    const ch = chars[i] as string;
    if (ch === ']' && !first) return { text: `${text}]`, end: i };
    if (ch === '\\' && i + 1 < chars.length) text += classQuote(chars[++i] as string);
    else if (ch === '-') text += '-';
    else text += quoteMeta(ch);
  }
  return undefined;
}

/** Escapes a character outside a class; `u` mode allows only syntax characters to be escaped. */
function quoteMeta(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

/** Escapes a character inside a class, where `u` mode also allows `\-`. */
function classQuote(ch: string): string {
  return ch === '-' ? '\\-' : quoteMeta(ch);
}
