/**
 * Splits an argument string on unquoted blanks, keeping quotes and escapes in each word (they
 * are removed later by expandWord, which also substitutes variables).
 * Throws a plain Error with the reason on an unterminated quote.
 */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      word += ch;
      if (ch === escape && quote === '"' && i + 1 < text.length) word += text[++i];
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    word += ch;
    if (ch === escape && i + 1 < text.length) word += text[++i];
    else if (ch === '"' || ch === "'") quote = ch;
  }
  if (quote) throw new Error(`unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (inWord) words.push(word);
  return words;
}
