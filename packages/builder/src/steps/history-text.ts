// The `created_by` texts of history entries, as BuildKit's Dockerfile frontend writes them: what
// `docker history` shows. BuildKit formats several with Go's fmt verbs, so the same is done here:
// `%q` of a string list for CMD and ENTRYPOINT, `%v` for SHELL and VOLUME, and a Go map (keys in
// sorted order) for EXPOSE.
import type { HealthConfig } from '@kiln/oci';

/** Go's `%q` of a string (strconv.Quote): double quotes, Go's escapes, non-printables as \x/\u. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const named = NAMED_ESCAPES.get(ch);
    if (named !== undefined) out += named;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x80 || PRINTABLE.test(ch)) out += ch;
    else out += cp > 0xffff ? `\\U${hex(cp, 8)}` : `\\u${hex(cp, 4)}`;
  }
  return `${out}"`;
}

/** Go's `%q` of a string list: `["a" "b"]` (CMD, ENTRYPOINT). */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

/** Go's `%v` of a string list: `[a b]` (SHELL, VOLUME). */
export function goList(list: readonly string[]): string {
  return `[${list.join(' ')}]`;
}

/** Go's `%v` of a set of ports (EXPOSE): `map[443/udp:{} 80/tcp:{}]`, keys in byte order. */
export function goPortMap(ports: readonly string[]): string {
  const keys = [...new Set(ports)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[${keys.map((p) => `${p}:{}`).join(' ')}]`;
}

/**
 * Go's `%q` of BuildKit's healthcheck struct, as its history shows a HEALTHCHECK: the test as a
 * quoted list, each duration quoted in Go's notation, and the retries as a quoted rune (Go's
 * `%q` of an int), e.g. `&{["CMD" "true"] "30s" "10s" "0s" "0s" '\x03'}`.
 */
export function goHealthcheck(h: HealthConfig): string {
  const durations = [h.Interval, h.Timeout, h.StartPeriod, h.StartInterval].map((d) =>
    goQuote(goDuration(d ?? 0)),
  );
  return `&{${[goQuoteList(h.Test), ...durations, goQuoteRune(h.Retries ?? 0)].join(' ')}}`;
}

/** Go's time.Duration String(): `0s`, `1.5s`, `1m30s`, `1h0m0s`, `250ms`, `3µs`, `7ns`. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  const n = Math.abs(ns);
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${decimal(n, 1e3)}µs`;
  if (n < 1e9) return `${sign}${decimal(n, 1e6)}ms`;
  const h = Math.floor(n / 3.6e12);
  const m = Math.floor((n % 3.6e12) / 6e10);
  const sec = `${decimal(n % 6e10, 1e9)}s`;
  return sign + (h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec);
}

/** `n / unit` with the fraction's trailing zeros dropped (as Go prints durations). */
function decimal(n: number, unit: number): string {
  const whole = Math.floor(n / unit);
  const frac = String(n % unit)
    .padStart(String(unit).length - 1, '0')
    .replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

/** Go's `%q` of an integer: the rune it encodes, single-quoted (strconv.QuoteRune). */
function goQuoteRune(n: number): string {
  const ch = String.fromCodePoint(n);
  if (ch === "'") return "'\\''";
  if (ch === '"') return `'"'`;
  return `'${goQuote(ch).slice(1, -1)}'`;
}

/**
 * A RUN's text: `|N NAME=value …` for the stage's declared ARGs (in declaration order, each with
 * its value in the step's environment, empty when it has none), then the command's words.
 */
export function runHistoryText(
  command: readonly string[],
  args: readonly (readonly [string, string])[],
): string {
  const pairs = args.map(([name, value]) => `${name}=${value}`);
  return ['RUN', ...(pairs.length > 0 ? [`|${pairs.length}`, ...pairs] : []), ...command].join(' ');
}

const NAMED_ESCAPES = new Map([
  ['\x07', '\\a'],
  ['\b', '\\b'],
  ['\f', '\\f'],
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t'],
  ['\v', '\\v'],
  ['\\', '\\\\'],
  ['"', '\\"'],
]);

/** Go's unicode.IsPrint beyond ASCII: letters, marks, numbers, punctuation and symbols. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
