/** Signal names BuildKit accepts for STOPSIGNAL (moby's Linux SignalMap), without the SIG prefix. */
const SIGNAL_NAMES: ReadonlySet<string> = new Set([
  ...['ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL'],
  ...['PIPE', 'POLL', 'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP'],
  ...['TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX'],
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

const INT64_MAX = 2n ** 63n - 1n;

/**
 * Whether STOPSIGNAL's value is one BuildKit accepts (moby's `signal.ParseSignal`): a non-zero
 * integer (as Go's Atoi reads it: optional sign, int64), or a signal name in any case, with or
 * without `SIG` (`SIGTERM`, `term`, `SIGRTMIN+3`). The value is kept as written in the image. Pure.
 */
export function isStopSignal(value: string): boolean {
  if (/^[+-]?\d+$/.test(value)) {
    const n = BigInt(value);
    // Out of int64 Atoi fails, and the value is then looked up (in vain) as a name.
    return n !== 0n && n <= INT64_MAX && n >= -INT64_MAX - 1n;
  }
  const name = value.toUpperCase();
  return SIGNAL_NAMES.has(name.startsWith('SIG') ? name.slice(3) : name);
}
