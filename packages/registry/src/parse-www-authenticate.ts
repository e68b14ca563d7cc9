/** One challenge of a `WWW-Authenticate` header: the scheme and its parameters. */
export interface AuthChallenge {
  /** Lower-cased: `basic`, `bearer`, ... */
  readonly scheme: string;
  /** Parameter names are lower-cased; a repeated parameter (`scope`) keeps every value in order. */
  readonly params: ReadonlyMap<string, readonly string[]>;
}

/**
 * Parses a `WWW-Authenticate` header value (RFC 7235): several challenges separated by commas,
 * each `scheme` followed by `name=value` or `name="quoted, \"escaped\" value"` parameters.
 * Tolerant: malformed parameters are skipped, never thrown.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Map<string, string[]> }[] = [];
  let i = 0;
  const n = header.length;
  const skip = (re: RegExp): void => {
    while (i < n && re.test(header[i] as string)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z/]/.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  while (i < n) {
    skip(/[\s,]/);
    const word = token();
    if (!word) {
      i++;
      continue;
    }
    skip(/\s/);
    const current = challenges[challenges.length - 1];
    if (header[i] === '=' && current) {
      i++;
      skip(/\s/);
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < n && header[i] !== ',' && !/\s/.test(header[i] as string)) i++;
        value = header.slice(start, i);
      }
      const name = word.toLowerCase();
      current.params.set(name, [...(current.params.get(name) ?? []), value]);
    } else {
      challenges.push({ scheme: word.toLowerCase(), params: new Map() });
    }
  }
  return challenges;
}
