import { expandWord } from './index.js';

const vars = new Map([
  ['A', 'a'],
  ['EMPTY', ''],
  ['SP', 'x y'],
]);

describe('expandWord', () => {
  it.each([
    ['$A', 'a'],
    ['${A}b', 'ab'],
    ['pre$A/$B.', 'prea/.'],
    ["'$A'", '$A'],
    ['"$A $SP"', 'a x y'],
    ['\\$A', '$A'],
    ['${B:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${A:+set}', 'set'],
    ['${B:+set}', ''],
    ['${A+set}', 'set'],
    ['"a\\"b"', 'a"b'],
    ['"a\\b"', 'a\\b'],
    ['$', '$'],
    ['a$-b', 'a$-b'],
  ])('%s → %s', (word, expected) => {
    expect(expandWord(word, vars)).toBe(expected);
  });

  it('uses the escape character given', () => {
    expect(expandWord('`$A', vars, '`')).toBe('$A');
  });

  it('rejects malformed input', () => {
    expect(() => expandWord('"open', vars)).toThrow(/double-quote/);
    expect(() => expandWord('${A', vars)).toThrow(/missing/);
    expect(() => expandWord('${B:?must be set}', vars)).toThrow(/B: must be set/);
  });
});
