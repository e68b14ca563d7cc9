import { isStopSignal } from './is-stop-signal.js';

describe('isStopSignal', () => {
  // Each case was checked against Docker 20.10's BuildKit.
  it.each([
    'SIGTERM',
    'TERM',
    'sigkill',
    'KILL',
    'SIGRTMIN+3',
    'sigrtmin+3',
    'RTMIN+15',
    'RTMAX-14',
    'RTMAX',
    'POLL',
    'STKFLT',
    'CLD',
    '9',
    '99',
    '+5',
    '-1',
    '4294967297',
  ])('accepts %j', (value) => {
    expect(isStopSignal(value)).toBe(true);
  });

  it.each([
    'NOTASIG',
    'UNUSED',
    'RTMIN+16',
    'RTMAX-15',
    '0',
    '00',
    'SIGsigterm',
    '',
    'SIG',
    '9223372036854775808',
  ])('rejects %j', (value) => {
    expect(isStopSignal(value)).toBe(false);
  });
});
