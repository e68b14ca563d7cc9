const SPACE = /^\p{White_Space}$/u;

/**
 * Splits argument text into quote-aware words as BuildKit's parser layer does for ARG, ENV and
 * LABEL: quotes group and are kept, the escape character and the character after it are kept
 * (an escape at the very end is dropped), `'` makes the escape character ordinary. Nothing is
 * unquoted or expanded (expandWord does that later); an unterminated quote runs to the end.
 */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(text);
  let word = '';
  let inWord = false;
  let blankOk = false;
  let quote: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i] as string;
    const last = i + 1 === chars.length;
    if (quote === undefined) {
      if (SPACE.test(ch)) {
        if (inWord && (blankOk || word.length > 0)) words.push(word);
        word = '';
        inWord = false;
        blankOk = false;
        continue;
      }
      inWord = true;
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
      }
      if (ch === escape) {
        if (last) continue;
        word += ch;
        ch = chars[++i] as string;
      }
      word += ch;
      continue;
    }
    if (ch === quote) quote = undefined;
    if (ch === escape && quote !== "'") {
      if (last) {
        quote = undefined;
        continue;
      }
      word += ch;
      ch = chars[++i] as string;
    }
    word += ch;
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word);
  return words;
}
