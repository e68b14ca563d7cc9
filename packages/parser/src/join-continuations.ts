/**
 * Joins an instruction's argument lines as BuildKit does: a line ending in the escape character
 * (trailing blanks allowed) continues on the next line; inside a continuation, empty lines and
 * lines that are comments are dropped.
 */
export function joinContinuations(rawArgs: string, escape: string): string {
  const lines = rawArgs.split('\n');
  const cont = new RegExp(`${escapeRegExp(escape)}[ \\t]*$`);
  let out = '';
  let continuing = false;
  for (const [i, line] of lines.entries()) {
    if (i > 0 && continuing && (/^\s*$/.test(line) || /^\s*#/.test(line))) continue;
    if (cont.test(line) && i < lines.length - 1) {
      out += line.replace(cont, '');
      continuing = true;
    } else {
      out += line;
      continuing = false;
      if (i < lines.length - 1) out += '\n';
    }
  }
  return out.trim();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
